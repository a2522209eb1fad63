"""The /ask root message quotes the (already redacted) question as ASK_ROOT_QUOTE says, and a
long one is cut where Slack still shows the rest of the channel as it was: never inside a
code block, inline code or a link."""

from __future__ import annotations

import re

import pytest

from chatops.messages import (
    ROOT_FULL_QUOTE_CHARS,
    ROOT_QUOTE_CHARS,
    root_message,
    secrets_removed,
)


def quoted(question: str, mode: str = "short") -> str:
    return root_message("U1", question, mode).removeprefix("<@U1> asked: ")


def balanced(text: str) -> bool:
    fences = text.count("```")
    inline = re.sub(r"```.*?```", "", text, flags=re.DOTALL).count("`")
    opened = text.rfind("<") > text.rfind(">")
    return fences % 2 == 0 and inline % 2 == 0 and not opened


def test_a_short_question_is_quoted_whole_in_every_mode_but_none() -> None:
    assert root_message("U1", "Where is the VPN config?") == "<@U1> asked: Where is the VPN config?"
    assert quoted("Where is the VPN config?", "full") == "Where is the VPN config?"
    assert root_message("U1", "Where is the VPN config?", "none") == "<@U1> asked a question."


@pytest.mark.parametrize(
    ("mode", "limit"), [("short", ROOT_QUOTE_CHARS), ("full", ROOT_FULL_QUOTE_CHARS)]
)
def test_a_long_question_is_cut_at_a_word_within_the_mode_limit(mode: str, limit: int) -> None:
    question = " ".join(f"word{i}" for i in range(2000))
    text = quoted(question, mode)
    assert text.endswith("…") and len(text) <= limit + 1
    assert len(text) > limit * 0.9
    assert question.startswith(text.removesuffix("…"))
    assert re.fullmatch(r"(word\d+ )*word\d+…", text)


def test_never_inside_a_code_block_that_starts_after_some_prose() -> None:
    question = "Why does this fail?\n" + "x" * 300 + "\n```\n" + "log line\n" * 200 + "```"
    text = quoted(question)
    assert balanced(text)
    assert "```" not in text and text.endswith("…")


def test_a_question_that_is_one_long_code_block_keeps_it_closed() -> None:
    question = "```\n" + "Traceback line\n" * 200 + "```"
    text = quoted(question)
    assert text.startswith("```\nTraceback line") and text.endswith("…\n```")
    assert balanced(text)


def test_never_inside_inline_code_or_a_link() -> None:
    long_code = "`" + "kubectl get pods -n payments " * 30 + "`"
    assert balanced(quoted("Why does " + "this " * 60 + long_code + " hang?"))
    link = "<https://grafana.example.com/d/" + "a" * 600 + "|the dashboard>"
    text = quoted("See " + "now " * 50 + link)
    assert balanced(text) and "<https" not in text


def test_inline_code_after_a_closed_block_is_not_mistaken() -> None:
    question = "`a` then ```\nblock\n``` then " + "`" + "b " * 400 + "`"
    assert balanced(quoted(question))


@pytest.mark.parametrize(
    ("labels", "what", "them"),
    [
        (["AWS access key"], "an AWS access key", "it"),
        (["JWT"], "a JWT", "it"),
        (["password", "password"], "2 passwords", "them"),
        (
            ["AWS access key", "AWS secret key", "Slack token"],
            "an AWS access key, an AWS secret key and a Slack token",
            "them",
        ),
    ],
)
def test_the_redaction_note_names_what_was_removed(labels: list[str], what: str, them: str) -> None:
    note = secrets_removed(labels)
    assert f"I removed {what} from your message" in note
    assert f"Rotate {them} now" in note
