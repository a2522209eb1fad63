"""Where the engine puts Bedrock's cache points: only where a reuse is likely, and never below
the model's minimum cacheable prefix."""

from __future__ import annotations

from gateway.prompt_cache import min_cache_prefix, with_cache_points
from gateway.tokens import estimate_tokens
from gateway.types import LLMRequest, Message

SONNET = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-micro-v1:0"
LOG = "ERROR deadlock detected on ledger_entries\n" * 200  # ~2,200 tokens


def _request(*texts: str) -> LLMRequest:
    roles = ["user", "assistant"]
    messages = tuple(Message(roles[i % 2], text) for i, text in enumerate(texts))  # type: ignore[arg-type]
    return LLMRequest(task="thread", system="You are ChatOps Bot.", messages=messages)


def _points(
    request: LLMRequest, model: str, *, premium: bool, follows_up: bool = True
) -> tuple[int, ...]:
    shaped = with_cache_points(
        request, model, estimate_tokens, write_costs_more=premium, follows_up=follows_up
    )
    return shaped.cache_points


def test_a_first_question_is_not_written_where_a_write_costs_more() -> None:
    assert _points(_request(LOG), SONNET, premium=True) == ()


def test_a_thread_writes_its_prefix_and_reads_the_previous_one() -> None:
    assert _points(_request(LOG, "answer", "and then?"), SONNET, premium=True) == (2,)
    five = _request(LOG, "answer", "and then?", "answer two", "and after that?")
    assert _points(five, SONNET, premium=True) == (2, 4)


def test_where_a_write_is_free_a_long_first_message_is_marked() -> None:
    assert _points(_request(LOG), NOVA, premium=False) == (1,)


def test_nothing_below_the_minimum_and_nothing_on_a_model_that_does_not_cache() -> None:
    assert min_cache_prefix(SONNET) == 1024
    assert _points(_request("short", "answer", "and then?"), SONNET, premium=True) == ()
    assert _points(_request(LOG, "answer", "and then?"), "meta.llama3-1-8b", premium=False) == ()


def test_document_steps_are_not_conversations() -> None:
    assert _points(_request(LOG, "answer", "next"), SONNET, premium=True, follows_up=False) == ()
