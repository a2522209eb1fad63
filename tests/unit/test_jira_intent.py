"""Which mentions and DMs ask for a summary of an issue, ask about one, or want their thread
summarized — in the words people actually use."""

from __future__ import annotations

import pytest

from integrations.jira.intent import issue_keys, read_intent

LINK = "<https://jira.example.com/browse/OPS-7|OPS-7>"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("summarize OPS-1435", "OPS-1435"),
        ("tl;dr PLAT-902?", "PLAT-902"),
        ("TLDR PLAT-902", "PLAT-902"),
        ("summarize OPS-1 please", "OPS-1"),
        ("Zusammenfassung von PLAT-896 bitte", "PLAT-896"),
        ("résumé de OPS-3 stp", "OPS-3"),
        ("<https://jira.example.com/browse/OPS-7>", "OPS-7"),
        (f"{LINK} please", "OPS-7"),
        ("<https://jira.example.com/browse/ops-7>", "OPS-7"),
        ("OPS-12?", "OPS-12"),
        ("what's the status of OPS-12?", "OPS-12"),
    ],
)
def test_a_request_for_an_issues_summary(text: str, key: str) -> None:
    intent = read_intent(text, in_thread=False)
    assert intent is not None
    assert (intent.kind, intent.key) == ("summarize_issue", key)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("what's blocking OPS-1423?", "OPS-1423"),
        ("who owns SEC-212 now?", "SEC-212"),
        (f"is {LINK} still waiting on the DBAs?", "OPS-7"),
    ],
)
def test_another_question_about_an_issue(text: str, key: str) -> None:
    intent = read_intent(text, in_thread=True)
    assert intent is not None
    assert (intent.kind, intent.key) == ("ask_issue", key)
    assert key in intent.text and "<" not in intent.text


@pytest.mark.parametrize(
    "text",
    ["tl;dr", "tldr please", "summarize this thread", "can you summarize the discussion so far?"],
)
def test_a_summary_of_the_thread_only_inside_a_thread(text: str) -> None:
    inside = read_intent(text, in_thread=True)
    assert inside is not None and inside.kind == "summarize_thread"
    assert read_intent(text, in_thread=False) is None


@pytest.mark.parametrize(
    "text",
    [
        "summarize how certificate rotation works",
        "how do I rotate the staging DB password?",
        "is UTF-8 fine for the export?",
        "we moved to SHA-256 signatures",
        "restart pod api-7 please",
    ],
)
def test_ordinary_questions_are_left_alone(text: str) -> None:
    assert read_intent(text, in_thread=True) is None


def test_keys_come_from_links_and_words_once_each_in_order() -> None:
    text = f"compare {LINK} with PLAT-2 and OPS-7, not COVID-19"
    assert issue_keys(text) == ["OPS-7", "PLAT-2"]
