"""An issue as a model reads it: a short header, then time-ordered sections. Pure.

    [2026-11-10 13:15] Alice Adams: Decision (IC): raise the pool to 40 …
    [2026-11-10 13:20] Bob Byrne changed status: To Do → In Progress
    [2026-11-10 13:31–14:02] 3 bot comments (PagerDuty ×2, Jenkins ×1) and 2 "+1" comments folded

Times are UTC. Comments by automation, CI, paging and deploy bots (`NoiseRules.authors`) and
comments that only say "+1" / "same here" are folded, each run of them into one line. The
bot's own summary comment (it carries `marker`) is left out: the summary is not its own source.
The header is kept apart from the sections because it changes with every status edit, while
windows (`gateway.windowing`) must stay the same when nothing in them changed.

What people wrote is other people's text on its way to a model, a cache and Slack: its secrets
are replaced by placeholders (`gateway.redaction`), as at the Slack edge.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from chatops.settings import Settings, split_names
from gateway.redaction import redact
from gateway.windowing import Section
from integrations.jira.adf import adf_to_text
from integrations.jira.marker import find_marker
from integrations.jira.types import Change, Issue, IssueComment, JiraBody, Person
from integrations.jira.wiki import wiki_to_text

_PLUS_ONE = re.compile(
    r"^\W*(?:\+1|:\+1:|\(y\)|👍|same here|same|me too|same (?:issue|problem) here|"
    r"seeing (?:this|the same) too|\+1,? same(?: here)?)\W*$",
    re.IGNORECASE,
)
_NAME_NOISE = re.compile(r"[\W_]+")


def body_to_text(body: JiraBody | None, names: Mapping[str, str] | None = None) -> str:
    """Wiki markup (REST v2) or an ADF document (REST v3) as compact plain text."""
    if not body:
        return ""
    return adf_to_text(body, names) if isinstance(body, dict) else wiki_to_text(body, names)


def _normal(name: str) -> str:
    return _NAME_NOISE.sub("", name).lower()


@dataclass(frozen=True)
class NoiseRules:
    """Which comments are folded. `authors` match an author's display name or account name,
    ignoring case, spaces and punctuation ("argocd" matches "Argo CD")."""

    authors: tuple[str, ...] = (
        "Automation for Jira",
        "jenkins",
        "PagerDuty",
        "github-actions",
        "argocd",
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> NoiseRules:
        return cls(split_names(settings.jira_noise_authors))

    def is_bot(self, person: Person) -> bool:
        names = [_normal(name) for name in (person.display_name, *person.ids)]
        return any(_normal(p) in name for p in self.authors if _normal(p) for name in names)

    @staticmethod
    def is_plus_one(text: str) -> bool:
        return bool(_PLUS_ONE.match(text.strip()))


@dataclass(frozen=True)
class IssueDocument:
    key: str
    header: str
    sections: tuple[Section, ...]
    # Hash of the header and every section: what a summary made from this document is of.
    source_hash: str
    folded_bot_comments: int
    folded_plus_ones: int

    @property
    def text(self) -> str:
        """The whole document in one piece, as a naive single call would send it."""
        return "\n\n".join([self.header, *(section.text for section in self.sections)])


def issue_document(issue: Issue, noise: NoiseRules | None = None) -> IssueDocument:
    rules = noise or NoiseRules()
    names = _names(issue)
    events: list[tuple[datetime, int, Section | IssueComment]] = []
    if issue.description:
        author = issue.reporter.display_name if issue.reporter else "Reporter"
        text = redact(body_to_text(issue.description, names)).text
        events.append(
            (
                issue.created,
                0,
                Section("description", _said(issue.created, author, text, "(description)")),
            )
        )
    for n, change in enumerate(issue.changelog):
        line = _change_line(change)
        if line:
            events.append((change.created, 1 + n, Section(f"change-{change.id}", line)))
    for n, comment in enumerate(issue.comments):
        events.append((comment.created, 1 + len(issue.changelog) + n, comment))
    events.sort(key=lambda event: (event[0], event[1]))
    sections, bots, plus_ones = _fold((item for _, _, item in events), rules, names)
    header = _header(issue)
    digest = hashlib.sha256(header.encode())
    for section in sections:
        digest.update(b"\0" + section.text.encode())
    return IssueDocument(
        issue.key, header, tuple(sections), digest.hexdigest()[:32], bots, plus_ones
    )


def _fold(
    items: Iterable[Section | IssueComment], rules: NoiseRules, names: Mapping[str, str]
) -> tuple[list[Section], int, int]:
    sections: list[Section] = []
    run: list[tuple[IssueComment, bool]] = []  # (comment, is it a bot's)
    bots = plus_ones = 0
    for item in items:
        if isinstance(item, Section):
            sections.extend(_folded(run))
            run = []
            sections.append(item)
            continue
        text = body_to_text(item.body, names)
        if find_marker(text) is not None:
            continue
        text = redact(text).text
        if rules.is_bot(item.author) or rules.is_plus_one(text):
            is_bot = rules.is_bot(item.author)
            bots, plus_ones = bots + is_bot, plus_ones + (not is_bot)
            run.append((item, is_bot))
            continue
        sections.extend(_folded(run))
        run = []
        sections.append(
            Section(f"comment-{item.id}", _said(item.created, item.author.display_name, text))
        )
    sections.extend(_folded(run))
    return sections, bots, plus_ones


def _folded(run: Sequence[tuple[IssueComment, bool]]) -> list[Section]:
    """One line for a run of noise: `[… 3 bot comments (PagerDuty ×2, Jenkins ×1) and 2 "+1"
    comments folded]`."""
    if not run:
        return []
    by_bot = Counter(comment.author.display_name for comment, is_bot in run if is_bot)
    plus_ones = sum(1 for _, is_bot in run if not is_bot)
    parts = []
    if by_bot:
        who = ", ".join(
            name if count == 1 else f"{name} ×{count}" for name, count in by_bot.most_common()
        )
        total = sum(by_bot.values())
        parts.append(f"{total} bot comment{'s' * (total > 1)} ({who})")
    if plus_ones:
        parts.append(f'{plus_ones} "+1" comment{"s" * (plus_ones > 1)}')
    first, last = run[0][0].created, run[-1][0].created
    span = _when(first)
    if last != first:
        span += f"–{last:%H:%M}" if last.date() == first.date() else f"–{last:%m-%d %H:%M}"
    return [Section(f"folded-{run[0][0].id}", f"[{span}] {' and '.join(parts)} folded")]


def _said(at: datetime, who: str, text: str, note: str = "") -> str:
    label = f"{_stamp(at)} {who}{' ' + note if note else ''}:"
    return f"{label}\n{text}" if "\n" in text else f"{label} {text}"


def _stamp(at: datetime) -> str:
    return f"[{_when(at)}]"


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M}"


def _change_line(change: Change) -> str:
    """`[…] Bob Byrne changed status: To Do → In Progress; changed assignee: … → Bob Byrne`.
    A description edit is named, not quoted: its text is the document's first section."""
    parts = []
    for item in change.items:
        if item.field.lower() in ("description", "comment"):
            parts.append(f"edited the {item.field.lower()}")
        else:
            parts.append(f"changed {item.field}: {item.old or '(none)'} → {item.new or '(none)'}")
    if not parts:
        return ""
    who = change.author.display_name if change.author else "Jira"
    return f"{_stamp(change.created)} {who} {'; '.join(parts)}"


def _header(issue: Issue) -> str:
    people = [
        f"Assignee: {issue.assignee.display_name if issue.assignee else 'unassigned'}",
        f"Reporter: {issue.reporter.display_name if issue.reporter else 'unknown'}",
    ]
    if issue.labels:
        people.append(f"Labels: {', '.join(issue.labels)}")
    return "\n".join(
        [
            f"{issue.key}: {redact(issue.summary).text}",
            f"{issue.issue_type} · {issue.status} · priority {issue.priority}",
            " · ".join(people),
            # Not `updated`: the bot's own comment moves it, and the summary must not go stale
            # (and be paid for again) because of itself.
            f"Created {issue.created:%Y-%m-%d %H:%M} (times UTC)",
        ]
    )


def _names(issue: Issue) -> dict[str, str]:
    """Every identifier of every person on the issue → display name, for mentions."""
    people = [issue.assignee, issue.reporter]
    people += [comment.author for comment in issue.comments]
    people += [change.author for change in issue.changelog]
    return {i: p.display_name for p in people if p is not None for i in p.ids}


__all__ = ["IssueDocument", "NoiseRules", "body_to_text", "issue_document"]
