"""Thread history to a token budget: the root and the newest turns kept whole, older turns
dropped with a note for the model, roles still alternating, code never cut."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest

from gateway.history import left_out_note, trim_history
from gateway.tokens import estimate_tokens
from gateway.types import Message, Role

FENCE = "```"
NOTE = re.compile(r"^\[(\d+) earlier messages? of this thread left out\]\n\n")


def thread(turns: int, chars: int = 400) -> list[Message]:
    """A thread as `as_messages` builds it: user first, alternating, a user question last."""
    roles: tuple[Role, Role] = ("user", "assistant")
    return [
        Message(roles[n % 2], f"turn {n}: " + f"{'word ' * (chars // 5)}"[: chars - 9])
        for n in range(turns if turns % 2 else turns + 1)
    ]


def letters(n: int) -> str:
    """A number written in letters: unique, and nothing compaction would take for a variable."""
    return "".join(chr(ord("k") + int(digit)) for digit in str(n))


def tokens(messages: tuple[Message, ...] | list[Message]) -> int:
    return sum(estimate_tokens(message.text) for message in messages)


def assert_alternates(messages: tuple[Message, ...]) -> None:
    roles = [message.role for message in messages]
    assert roles[0] == "user" and roles[-1] == "user"
    assert all(a != b for a, b in pairwise(roles))


def test_a_thread_within_the_budget_comes_back_as_it_was() -> None:
    turns = thread(5)
    trimmed = trim_history(turns, tokens(turns))
    assert trimmed.messages == tuple(turns)
    assert (trimmed.dropped, trimmed.tokens_before) == (0, trimmed.tokens_after)


def test_older_middle_turns_are_dropped_whole_and_the_model_is_told() -> None:
    turns = thread(21)  # 21 turns of 100 tokens
    trimmed = trim_history(turns, 750)
    kept = trimmed.messages
    assert trimmed.tokens_after <= 750 < trimmed.tokens_before == tokens(turns)
    assert kept[0] == turns[0]
    assert kept[-1] == turns[-1]
    note = NOTE.match(kept[1].text)
    assert note is not None
    assert int(note.group(1)) == trimmed.dropped == len(turns) - len(kept)
    # The newest turns, whole and in order, follow the root.
    assert kept[1].text.removeprefix(note.group(0)) == turns[-(len(kept) - 1)].text
    assert list(kept[2:]) == turns[-(len(kept) - 2) :]
    assert_alternates(kept)
    assert trimmed.tokens_after == tokens(kept)


def test_when_a_user_turn_follows_the_root_they_merge_so_roles_alternate() -> None:
    turns = thread(9)
    note = estimate_tokens(left_out_note(len(turns))) + 2
    budget = tokens([turns[0], turns[-1]]) + note + tokens(turns[-3:-1])  # a user turn first
    trimmed = trim_history(turns, budget)
    assert_alternates(trimmed.messages)
    assert trimmed.tokens_after <= budget
    first = trimmed.messages[0].text
    assert first.startswith(turns[0].text + "\n\n" + left_out_note(trimmed.dropped))


def test_only_the_root_and_the_question_fit() -> None:
    turns = thread(7)
    trimmed = trim_history(turns, tokens([turns[0], turns[-1]]) + 20)
    (only,) = trimmed.messages
    assert only.text == f"{turns[0].text}\n\n{left_out_note(5)}\n\n{turns[-1].text}"
    assert trimmed.dropped == 5


def test_a_long_pasted_log_in_the_root_is_compacted_not_sliced() -> None:
    log = "\n".join(
        f"2026-03-02 10:{n // 60:02d}:{n % 60:02d} INFO worker {letters(n)} idle"
        for n in range(600)
    )
    code = "def retry(call):\n    for attempt in range(3):\n        call()\n"
    root = Message("user", f"why is this slow?\n```\n{log}\n```\nmy code:\n```python\n{code}```")
    turns = [root, Message("assistant", "It looks idle."), Message("user", "and now?")]
    trimmed = trim_history(turns, 1_200)
    assert trimmed.tokens_after <= 1_200
    text = trimmed.messages[0].text
    assert text.startswith("why is this slow?\n```\n2026-03-02 10:00:00 INFO worker k idle")
    assert f"```python\n{code}```" in text
    assert text.count(FENCE) % 2 == 0
    assert "left out …]" in text
    assert trimmed.messages[-1] == turns[-1]


def test_a_turn_too_big_for_any_budget_still_keeps_the_question() -> None:
    question = Message("user", "what does this mean? " + "x" * 40_000)
    trimmed = trim_history([question], 500)
    (only,) = trimmed.messages
    assert only.text.startswith("what does this mean? xxx")
    assert trimmed.tokens_after <= 500


def test_turns_that_do_not_alternate_still_fit_and_alternate() -> None:
    turns = [Message("user", f"part {n} " + "y" * 300) for n in range(6)]
    turns.append(Message("assistant", "z" * 300))
    turns.append(Message("user", "so?"))
    trimmed = trim_history(turns, 300)
    assert trimmed.tokens_after <= 300
    assert_alternates(trimmed.messages)


@pytest.mark.parametrize("budget", [0, 10])
def test_an_empty_thread_is_empty(budget: int) -> None:
    trimmed = trim_history([], budget)
    assert (trimmed.messages, trimmed.dropped, trimmed.tokens_after) == ((), 0, 0)
