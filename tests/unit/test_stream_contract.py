"""The one consumer of backend streams enforces: deltas, then exactly one Usage, last."""

from __future__ import annotations

import pytest

from gateway.stream import StreamContractError, consume
from gateway.tokens import estimate_prompt_tokens, estimate_tokens
from gateway.types import LLMRequest, Message, Usage

USAGE = Usage(input_tokens=3, output_tokens=2, model="m")


def test_deltas_are_forwarded_in_order_and_usage_returned() -> None:
    seen: list[str] = []
    text, usage = consume(iter(["Hel", "lo", USAGE]), seen.append)
    assert (text, usage, seen) == ("Hello", USAGE, ["Hel", "lo"])


@pytest.mark.parametrize(
    "items",
    [["a", "b"], ["a", USAGE, "b"], ["a", USAGE, USAGE]],
    ids=["no-usage", "delta-after-usage", "two-usages"],
)
def test_broken_contract_is_caught(items: list[str | Usage]) -> None:
    with pytest.raises(StreamContractError):
        consume(iter(items), lambda _: None)


def test_estimator_is_four_characters_a_token_rounded_up() -> None:
    assert [estimate_tokens(t) for t in ("", "a", "abcd", "abcde")] == [0, 1, 1, 2]
    request = LLMRequest(task="t", system="x" * 8, messages=(Message("user", "y" * 5),))
    assert estimate_prompt_tokens(request) == 2 + 2
