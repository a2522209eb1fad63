"""Which messages get a reaction or the usage text instead of a model call — and which are
questions however much they look like thanks."""

from __future__ import annotations

import pytest

from gateway.no_call import MAX_NO_CALL_CHARS, REACTIONS, NoCall, no_call

NO_CALLS = {
    "thanks!": "thanks",
    "Thank you so much 🙏": "thanks",
    "ty": "thanks",
    "thx!!": "thanks",
    "thaaanks": "thanks",
    "great, thanks": "thanks",
    "ok thanks, bye": "thanks",
    "thanks <@U042BOB>": "thanks",
    "thanks y’all": "thanks",
    "much appreciated 🙌": "thanks",
    "danke": "thanks",
    "merci beaucoup !": "thanks",
    "gracias": "thanks",
    "ok": "ack",
    "okay.": "ack",
    "k": "ack",
    "cool cool": "ack",
    "great": "ack",
    "sounds good": "ack",
    "+1": "ack",
    ":+1:": "ack",
    ":+1::skin-tone-3:": "ack",
    ":white_check_mark: :tada:": "ack",
    "👍": "ack",
    "👍🏽": "ack",
    "🎉🎉": "ack",
    "❤️": "ack",
    "hi": "greeting",
    "hello there!": "greeting",
    "hey 👋": "greeting",
    "Morning": "greeting",
    "good morning team": "greeting",
    "hola": "greeting",
}

QUESTIONS = (
    "ok, and what about prod?",
    "thanks — but why did it fail?",
    "hi, how do I rotate the key?",
    "ok?",
    "thanks, and prod too",
    "ok do it",
    "yes",
    "sure, go ahead",
    "no",
    "not great",
    "thanks for nothing, it still fails",
    "hey can you check the deploy",
    "great, now the pods are pending",
    "👍 but the staging one still fails",
    "restart it",
)


@pytest.mark.parametrize(("text", "kind"), NO_CALLS.items())
def test_thanks_acks_greetings_and_emoji_get_a_reaction_not_a_model(text: str, kind: str) -> None:
    assert no_call(text) == NoCall(kind, REACTIONS[kind])  # type: ignore[arg-type]


@pytest.mark.parametrize("text", QUESTIONS)
def test_anything_more_is_a_question(text: str) -> None:
    assert no_call(text) is None


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\n\t", "\u200b", "\u00a0\u200b\ufeff\u2060", "<@U0BOT>", "...", " \u00ad "],
)
def test_empty_whitespace_and_invisible_text_shows_the_usage(text: str) -> None:
    assert no_call(text) == NoCall("empty", show_usage=True)


def test_a_zero_width_space_inside_a_word_does_not_hide_a_question() -> None:
    assert no_call("ok\u200b, and prod?") is None
    assert no_call("tha\u200bnks") == NoCall("thanks", REACTIONS["thanks"])


def test_a_long_thank_you_note_is_read_by_a_model() -> None:
    long_thanks = "thanks " * (MAX_NO_CALL_CHARS // 7 + 1)
    assert no_call(long_thanks.strip()) is None
