"""The emulated answer's length depends only on what the person asked (issue: a lever that
shrinks the prompt must not also shrink the emulated answer and overstate its saving)."""

from __future__ import annotations

from gateway.compact import compact
from gateway.tokens import estimate_tokens
from sandbox.llm import emulated_deltas

MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
LOG = "\n".join(
    f"2026-11-30 06:19:{n % 60:02d}.133 UTC [{10690 + n}] ERROR:  deadlock detected"
    for n in range(300)
)
QUESTION = f"<@U123> why does orders-service keep failing on deploy?\n```\n{LOG}\n```"


def _answer(question: str, prompt: str, max_tokens: int = 700) -> str:
    return "".join(emulated_deltas(MODEL, prompt, question, max_tokens))


def test_the_same_question_gets_the_same_length_compacted_or_not() -> None:
    compacted = compact(QUESTION).text
    assert estimate_tokens(compacted) < estimate_tokens(QUESTION) / 5
    whole = _answer(QUESTION, "system\n" + QUESTION)
    short = _answer(compacted, "system\n" + compacted)
    assert estimate_tokens(whole) == estimate_tokens(short)


def test_a_longer_thread_does_not_lengthen_the_answer() -> None:
    alone = _answer("and what about prod?", "system\nand what about prod?")
    in_thread = _answer("and what about prod?", "system\n" + "earlier turn " * 2000)
    assert alone == in_thread


def test_lengths_spread_over_a_few_hundred_tokens_and_respect_max_tokens() -> None:
    services = ["orders", "payments", "search", "billing", "ledger", "gateway", "auth", "mail"]
    verbs = ["rotate", "restart", "scale", "debug", "deploy"]
    lengths = {
        estimate_tokens(_answer(f"How do I {verb} the {service} service?", "p"))
        for verb in verbs
        for service in services
    }
    assert min(lengths) >= 100 and max(lengths) <= 500 and len(lengths) > 10
    assert estimate_tokens(_answer("How do I rotate the key?", "p", max_tokens=50)) <= 50
