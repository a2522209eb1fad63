"""Jira bodies as a model reads them: wiki markup and ADF to compact text, bot noise folded,
who said what when, and the hashes that tell a changed issue from an unchanged one."""

from __future__ import annotations

import datetime
from dataclasses import replace

from integrations.jira.adf import adf_to_text, text_to_adf
from integrations.jira.comments import find_summary, summary_body
from integrations.jira.marker import find_marker
from integrations.jira.text import NoiseRules, body_to_text, issue_document
from integrations.jira.types import Change, FieldChange, Issue, IssueComment, Person
from integrations.jira.wiki import wiki_to_text
from tests.clock import at, today
from tests.hostile_inputs import SECRETS

DANA = Person("Dana Lee", "acc-dana", frozenset({"dana"}))
SAM = Person("Sam Ortiz", "acc-sam", frozenset({"sam"}))
BOT = Person("ChatOps Bot", "acc-chatops", frozenset({"chatops"}))
JENKINS = Person("Jenkins", "acc-jenkins", frozenset({"jenkins"}))
PAGERDUTY = Person("PagerDuty", "557058:f00d")
ARGO = Person("Argo CD", "acc-argo")

CODE = 'def pool():\n    return {"size": 25}  # *not* bold, _not_ italic\n'


def minute(n: int) -> datetime.datetime:
    return at(today(), 9) + datetime.timedelta(minutes=n)


def comment(n: int, author: Person, body: str | dict[str, object]) -> IssueComment:
    return IssueComment(str(100 + n), author, body, minute(n), minute(n))


def issue(*comments: IssueComment, description: str = "Pool exhaustion on ledger-api.") -> Issue:
    return Issue(
        key="OPS-7",
        project="OPS",
        url="https://jira.example.com/browse/OPS-7",
        summary="Ledger DB pool exhaustion",
        status="In Progress",
        issue_type="Incident",
        priority="High",
        assignee=DANA,
        reporter=SAM,
        labels=("incident",),
        description=description,
        created=minute(0),
        updated=minute(len(comments)),
        comments=comments,
    )


# -- wiki markup ---------------------------------------------------------------------------


def test_wiki_code_blocks_are_kept_verbatim() -> None:
    text = wiki_to_text(
        "Current config:\n{code:python}\n" + CODE + "{code}\nand {noformat}a  b{noformat}"
    )
    assert "```python\n" + CODE.rstrip() + "\n```" in text
    assert "```\na  b\n```" in text


def test_wiki_tables_become_rows_and_links_keep_their_text() -> None:
    text = wiki_to_text(
        "||status||count||\n|200|60786|\n|502|333|\n"
        "See [the runbook|https://wiki.example.com/r] and [https://grafana.example.com/d/x]."
    )
    assert text.splitlines()[:3] == ["status | count", "200 | 60786", "502 | 333"]
    assert "See the runbook and https://grafana.example.com/d/x." in text
    assert "wiki.example.com/r" not in text


def test_wiki_mentions_become_display_names_and_marks_are_dropped() -> None:
    text = wiki_to_text(
        "h2. Decision\n*Pool* to _25_ by [~dana] and [~accountid:acc-sam]; see {{DB_POOL_SIZE}}",
        {"dana": "Dana Lee", "acc-sam": "Sam Ortiz"},
    )
    assert text == "Decision\nPool to 25 by @Dana Lee and @Sam Ortiz; see `DB_POOL_SIZE`"


def test_wiki_lists_quotes_and_blank_runs_are_compact() -> None:
    text = wiki_to_text("* one\n** nested\n# first\n\n\n\n{quote}said before{quote}\n----\nend")
    assert text == "- one\n  - nested\n- first\n\n> said before\n\nend"


def test_snake_case_identifiers_are_not_read_as_italics() -> None:
    assert wiki_to_text("target_status_code and elb_status_code") == (
        "target_status_code and elb_status_code"
    )


# -- ADF -------------------------------------------------------------------------------------


ADF = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": "Plan"}]},
        {
            "type": "paragraph",
            "content": [
                {"type": "mention", "attrs": {"id": "acc-dana", "text": "@dana"}},
                {"type": "text", "text": " see "},
                {
                    "type": "text",
                    "text": "the runbook",
                    "marks": [{"type": "link", "attrs": {"href": "https://wiki.example.com/r"}}],
                },
                {"type": "text", "text": " and "},
                {"type": "text", "text": "DB_POOL_SIZE", "marks": [{"type": "code"}]},
            ],
        },
        {
            "type": "codeBlock",
            "attrs": {"language": "python"},
            "content": [{"type": "text", "text": CODE}],
        },
        {
            "type": "table",
            "content": [
                {
                    "type": "tableRow",
                    "content": [
                        {"type": kind, "content": [{"type": "paragraph", "content": [text]}]}
                        for kind, text in (
                            ("tableHeader", {"type": "text", "text": "pod"}),
                            ("tableHeader", {"type": "text", "text": "conns"}),
                        )
                    ],
                },
                {
                    "type": "tableRow",
                    "content": [
                        {"type": "tableCell", "content": [{"type": "paragraph", "content": [t]}]}
                        for t in ({"type": "text", "text": "api-1"}, {"type": "text", "text": "40"})
                    ],
                },
            ],
        },
        {
            "type": "bulletList",
            "content": [
                {
                    "type": "listItem",
                    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "a"}]}],
                }
            ],
        },
    ],
}


def test_adf_keeps_code_tables_links_and_mentions() -> None:
    text = adf_to_text(ADF, {"acc-dana": "Dana Lee"})
    assert text.splitlines()[0] == "Plan"
    assert "@Dana Lee see the runbook and `DB_POOL_SIZE`" in text
    assert "```python\n" + CODE.rstrip() + "\n```" in text
    assert "pod | conns\napi-1 | 40" in text
    assert "- a" in text
    assert "wiki.example.com" not in text


def test_adf_mention_of_an_unknown_account_keeps_its_own_text() -> None:
    assert adf_to_text(ADF).splitlines()[2].startswith("@dana see")


def test_body_to_text_reads_either_form() -> None:
    assert body_to_text("*bold* move") == "bold move"
    assert body_to_text(text_to_adf("- *Status*: open")) == "- Status: open"
    assert body_to_text(None) == ""


# -- noise, who said what when, hashes ----------------------------------------------------------


def test_comments_say_who_and_when_in_utc() -> None:
    doc = issue_document(issue(comment(5, DANA, "Pool size *40*.")))
    stamp = f"{minute(5):%Y-%m-%d %H:%M}"
    assert doc.sections[0].text.startswith(f"[{minute(0):%Y-%m-%d %H:%M}] Sam Ortiz (description):")
    assert doc.sections[1].text == f"[{stamp}] Dana Lee: Pool size 40."


def test_bot_and_plus_one_runs_fold_to_one_line_each() -> None:
    doc = issue_document(
        issue(
            comment(1, DANA, "Pool size 40."),
            comment(2, PAGERDUTY, "*[TRIGGERED]* Incident #4 — ledger-api: pool waits"),
            comment(3, JENKINS, "Build #12 SUCCESS\n{noformat}\n" + "ok\n" * 50 + "{noformat}"),
            comment(4, SAM, "+1"),
            comment(5, PAGERDUTY, "*[RESOLVED]* Incident #4"),
            comment(6, ARGO, "Application ledger-api synced"),
            comment(7, SAM, "Same here."),
            comment(8, SAM, "(y)"),
            comment(9, DANA, "Reverting to 25."),
        )
    )
    texts = [s.text for s in doc.sections]
    folded = f"[{minute(2):%Y-%m-%d %H:%M}–{minute(8):%H:%M}] 4 bot comments (PagerDuty ×2, "
    assert texts[2].startswith(folded)
    assert texts[2].endswith('Jenkins, Argo CD) and 3 "+1" comments folded')
    assert texts[1].endswith("Pool size 40.") and texts[3].endswith("Reverting to 25.")
    assert len(texts) == 4
    assert (doc.folded_bot_comments, doc.folded_plus_ones) == (4, 3)


def test_a_plus_one_with_content_is_kept() -> None:
    doc = issue_document(issue(comment(1, SAM, "+1, our synthetic check failed 8 times")))
    assert doc.sections[-1].text.endswith("+1, our synthetic check failed 8 times")


def test_noise_authors_are_configurable() -> None:
    rules = NoiseRules(("Dana Lee",))
    assert rules.is_bot(DANA) and not rules.is_bot(JENKINS)
    assert NoiseRules().is_bot(Person("Argo CD")) and NoiseRules().is_bot(JENKINS)


def test_changelog_entries_join_the_timeline() -> None:
    doc = issue_document(
        replace(
            issue(comment(1, DANA, "Taking it."), comment(9, DANA, "Done.")),
            changelog=(
                Change("7", DANA, minute(4), (FieldChange("status", "To Do", "In Progress"),)),
                Change("8", SAM, minute(6), (FieldChange("description", "x" * 500, "y" * 500),)),
            ),
        )
    )
    texts = [s.text for s in doc.sections]
    assert texts[2] == f"[{minute(4):%Y-%m-%d %H:%M}] Dana Lee changed status: To Do → In Progress"
    assert texts[3] == f"[{minute(6):%Y-%m-%d %H:%M}] Sam Ortiz edited the description"
    assert "x" * 50 not in doc.text


def test_the_bots_own_summary_comment_is_not_part_of_the_document() -> None:
    comments = (comment(1, DANA, "Pool size 40."),)
    before = issue_document(issue(*comments))
    body = summary_body("*Status*: mitigated", before.source_hash)
    after = issue_document(issue(*comments, comment(2, BOT, body)))
    assert after.source_hash == before.source_hash
    assert find_marker(body_to_text(body)) == before.source_hash
    found = find_summary((*comments, comment(2, BOT, body)), BOT)
    assert found is not None and found.source_hash == before.source_hash


def test_someone_quoting_the_marker_is_not_the_bots_comment() -> None:
    quoted = comment(1, DANA, summary_body("copied", "0123456789abcdef"))
    assert find_summary((quoted,), BOT) is None


def test_source_hash_changes_with_content_and_status_but_not_otherwise() -> None:
    base = issue(comment(1, DANA, "Pool size 40."))
    assert issue_document(base).source_hash == issue_document(base).source_hash
    more = issue(comment(1, DANA, "Pool size 40."), comment(2, SAM, "Reverted to 25."))
    moved = replace(base, status="Done")
    hashes = {issue_document(i).source_hash for i in (base, more, moved)}
    assert len(hashes) == 3


def test_earlier_sections_keep_their_digest_when_comments_are_added() -> None:
    first = issue_document(issue(comment(1, DANA, "a"), comment(2, SAM, "b")))
    later = issue_document(issue(comment(1, DANA, "a"), comment(2, SAM, "b"), comment(3, SAM, "c")))
    assert [s.digest for s in later.sections[:3]] == [s.digest for s in first.sections]


def test_secrets_pasted_in_an_issue_never_reach_the_document() -> None:
    pasted = issue(
        comment(1, DANA, f"rotated? old aws_secret_access_key = {SECRETS['AWS secret key']}"),
        comment(
            2,
            SAM,
            {
                "type": "doc",
                "version": 1,
                "content": [
                    {
                        "type": "codeBlock",
                        "content": [
                            {"type": "text", "text": f"SLACK_BOT_TOKEN={SECRETS['Slack token']}"}
                        ],
                    }
                ],
            },
        ),
        description=f"DB=postgres://app:{SECRETS['password in a connection string']}@db/x",
    )
    pasted = replace(pasted, summary=f"Leaked {SECRETS['GitHub token']} in CI logs")
    document = issue_document(pasted)

    for secret in (
        SECRETS["AWS secret key"],
        SECRETS["Slack token"],
        SECRETS["GitHub token"],
        SECRETS["password in a connection string"],
    ):
        assert secret not in document.text
    assert document.text.count("[redacted ") == 4
    assert "rotated? old aws_secret_access_key = [redacted" in document.text  # the rest as written
