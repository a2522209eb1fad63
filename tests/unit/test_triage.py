"""A new issue's triage item and line: what the model reads of the issue, and what the
channel sees for an answer, a failed one and a model that repeats the key."""

from __future__ import annotations

from gateway.dispatch import ItemResult
from gateway.tokens import estimate_tokens
from gateway.windowing import Section
from integrations.jira.text import IssueDocument
from workers.triage import ITEM_TOKENS, item_text, line

TARGET = {
    "key": "OPS-7",
    "url": "https://jira.example.com/browse/OPS-7",
    "title": "Ledger DB pool exhaustion",
    "issue_type": "Incident",
    "priority": "High",
    "enterprise_id": "",
}


def document(*texts: str) -> IssueDocument:
    sections = tuple(Section(f"s{n}", text) for n, text in enumerate(texts))
    return IssueDocument("OPS-7", "OPS-7: Ledger DB pool exhaustion", sections, "h", 0, 0)


def test_the_item_is_the_header_and_the_first_entries_within_its_budget() -> None:
    text = item_text(document("description: pool at 25", "comment one", "comment two"))
    assert text.splitlines() == [
        "OPS-7: Ledger DB pool exhaustion",
        "description: pool at 25",
        "comment one",
        "comment two",
    ]


def test_a_description_longer_than_the_budget_is_cut_not_dropped() -> None:
    text = item_text(document("x" * 20_000, "a later comment"))
    assert text.startswith("OPS-7: Ledger DB pool exhaustion\nxxxx") and text.endswith(" …")
    assert "a later comment" not in text
    assert estimate_tokens(text) <= ITEM_TOKENS + 2


def test_the_line_names_the_issue_and_gives_the_answer_without_the_repeated_key() -> None:
    shown = line(TARGET, ItemResult("*OPS-7*: outage-grade, needs the pool metrics."))
    assert shown == (
        "*New <https://jira.example.com/browse/OPS-7|OPS-7>* · Incident · High · "
        "Ledger DB pool exhaustion\noutage-grade, needs the pool metrics."
    )


def test_an_item_the_model_could_not_answer_says_why() -> None:
    shown = line(TARGET, ItemResult(error="the model is unavailable"))
    assert shown.endswith("I couldn't triage it: the model is unavailable")
