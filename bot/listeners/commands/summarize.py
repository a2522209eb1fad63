"""`/summarize KEY [--post]`, or a digest: `/summarize project=OPS updated:-1d`,
`/summarize jql "…"`. Parse, enqueue on the bulk queue, ack. The worker posts the root message
and streams the summary (or the digest) into its thread."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import redis
from slack_bolt import Ack, App

from bot.channel_gate import refusal
from bot.deps import BotDeps
from chatops import messages
from chatops.payloads import DigestJob, SummarizeJob
from integrations.jira.intent import issue_keys

log = logging.getLogger(__name__)

DAY_S = 86_400
_UNIT_S = {"m": 60, "h": 3600, "d": DAY_S, "w": 7 * DAY_S}
_JQL = re.compile(r"^jql\s+[\"“”']?(.+?)[\"“”']?$", re.IGNORECASE | re.DOTALL)
_FILTER = re.compile(r"^(project|status|assignee|reporter|priority|labels|issuetype|type)=(\S+)$")
_SINCE = re.compile(r"^(updated|created):-([1-9][0-9]*)([mhdw])$")


@dataclass(frozen=True)
class IssueCommand:
    key: str
    post: bool


@dataclass(frozen=True)
class DigestCommand:
    jql: str
    since_s: int = DAY_S


def parse(text: str) -> IssueCommand | DigestCommand | None:
    """`OPS-1 --post` → IssueCommand; `project=OPS updated:-1d` and `jql "…"` → DigestCommand
    (`project = "OPS" AND updated >= -1d ORDER BY updated DESC`); None if not understood."""
    text = text.strip()
    match = _JQL.match(text)
    if match:
        return DigestCommand(match.group(1).strip())
    words = text.split()
    post = "--post" in words
    rest = [word for word in words if word != "--post"]
    if len(rest) == 1 and (keys := issue_keys(rest[0].upper() if "/" not in rest[0] else rest[0])):
        return IssueCommand(keys[0], post)
    if post or not rest:
        return None
    return _digest(rest)


def _digest(words: list[str]) -> DigestCommand | None:
    filters: list[str] = []
    times: list[str] = []
    since_s = DAY_S
    for word in words:
        if found := _FILTER.match(word):
            values = [v for v in found.group(2).split(",") if v]
            filters.append(_clause(found.group(1), values))
        elif found := _SINCE.match(word):
            amount, unit = found.group(2), found.group(3)
            times.append(f"{found.group(1)} >= -{amount}{unit}")
            since_s = int(amount) * _UNIT_S[unit]
        else:
            return None
    if not filters:
        return None  # a time alone is every project's issues: too wide for a digest
    return DigestCommand(" AND ".join(filters + times) + " ORDER BY updated DESC", since_s)


def _clause(field: str, values: list[str]) -> str:
    if len(values) == 1:
        return f'{field} = "{values[0]}"'
    quoted = ", ".join(f'"{value}"' for value in values)
    return f"{field} in ({quoted})"


def register(app: App, deps: BotDeps) -> None:
    @app.command("/summarize")
    def handle_summarize(ack: Ack, command: dict[str, Any]) -> None:
        refused = refusal(deps, command["team_id"], command["channel_id"])
        if refused is not None:
            ack(text=refused)
            return
        parsed = parse(command.get("text") or "")
        if parsed is None:
            ack(text=messages.SUMMARIZE_USAGE)
            return
        trigger = command["trigger_id"]
        try:
            request_id = _enqueue(parsed, trigger, command, deps)
        except redis.RedisError:
            log.exception("enqueue_failed trigger=%s", trigger)
            ack(text=messages.BUSY)
            return
        log.info("enqueued request_id=%s kind=summarize", request_id)
        ack()


def _enqueue(
    parsed: IssueCommand | DigestCommand, trigger: str, command: dict[str, Any], deps: BotDeps
) -> str:
    """Enqueue the summary or the digest once per slash command; its request id."""
    if isinstance(parsed, IssueCommand):
        summary = SummarizeJob(
            request_id=f"sum-{trigger}",
            source="slash",
            key=parsed.key,
            post=parsed.post,
            **_where(command, deps),
        )
        deps.jobs.enqueue_summary(summary, once=(("slash", trigger),))
        return summary.request_id
    digest = DigestJob(
        request_id=f"digest-{trigger}",
        source="slash",
        jql=parsed.jql,
        since_s=parsed.since_s,
        **_where(command, deps),
    )
    deps.jobs.enqueue_digest(digest, once=(("slash", trigger),))
    return digest.request_id


def _where(command: dict[str, Any], deps: BotDeps) -> dict[str, Any]:
    return {
        "team_id": command["team_id"],
        "enterprise_id": command.get("enterprise_id") or "",
        "channel": command["channel_id"],
        "user": command["user_id"],
        "received_at": deps.clock(),
        "response_url": command.get("response_url"),
    }
