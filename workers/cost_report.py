"""Answers `/llm-cost`: the Block Kit report and its chart, uploaded into the report's thread.
Idempotent like an answer: a retry updates the report it posted.

Spend names people and channels, so it goes to the person alone — in their DM with the bot,
with a private note where they asked — unless they asked to `share` it in the channel. Who
may see it is checked again here (the listener cannot look up a Slack user group before its
ack): COST_REPORT_USERS, COST_REPORT_ADMINS, or COST_REPORT_USERGROUP's members. Only an
admin sees another person's spend; everyone else, and every shared report, gets no
per-person breakdown and one line for all DMs.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from chatops import messages
from chatops.cost_report import load_report
from chatops.cost_text import headline
from chatops.payloads import CostReportJob
from chatops.settings import split_names
from gateway import keys
from gateway.report import CostReport, ReportFilter, SpendRow
from workers import slack_refusals
from workers.cost_blocks import report_blocks
from workers.reply_state import ReplyState
from workers.runtime import Runtime

log = logging.getLogger(__name__)

# How long a user group's members are trusted without asking Slack again.
USERGROUP_TTL_S = 300


def fallback_text(report: CostReport) -> str:
    """What notifications and screen readers get instead of the blocks."""
    numbers = " · ".join(f"{label}: {value}" for label, value in headline(report))
    return f"LLM cost — {report.title}: {numbers}"


def without_people(report: CostReport) -> CostReport:
    """The report with no spend by user, and every DM's channel row as one."""
    breakdowns = {k: rows for k, rows in report.breakdowns.items() if k != "user"}
    if "channel" in breakdowns:
        breakdowns["channel"] = _dms_as_one(breakdowns["channel"])
    return dataclasses.replace(report, breakdowns=breakdowns)


def _dms_as_one(rows: tuple[SpendRow, ...]) -> tuple[SpendRow, ...]:
    dms = [row for row in rows if row.key.startswith("D")]
    if not dms:
        return rows
    sums: dict[str, int] = defaultdict(int)
    for row in dms:
        for field in dataclasses.fields(SpendRow):
            if field.name != "key":
                sums[field.name] += getattr(row, field.name)
    merged = SpendRow(key=messages.COST_DIRECT_MESSAGES, **sums)
    rest = [row for row in rows if not row.key.startswith("D")]
    return tuple(sorted([*rest, merged], key=lambda r: (-r.spend_micro_usd, -r.requests, r.key)))


class CostReportRun:
    def __init__(self, runtime: Runtime, job: CostReportJob) -> None:
        self.rt = runtime
        self.job = job
        self.state = ReplyState(runtime.queue_redis, job.request_id)

    def run(self) -> None:
        if self.state.done:
            return
        try:
            refused = self._refusal()
            if refused is None:
                self._report()
            else:
                log.info("cost_report_refused request_id=%s", self.job.request_id)
                self._tell_privately(refused)
                self.state.mark_done()
        except SlackApiError as exc:
            if not slack_refusals.is_permanent(exc):
                raise
            self._tell_privately(slack_refusals.explain(exc))
            self.state.mark_done()

    def give_up(self, exc: BaseException | None) -> None:
        """No retry is left: say so privately, once."""
        self.state.refresh()
        if self.state.done:
            return
        error_id = uuid.uuid4().hex[:8]
        log.error(
            "cost_report_failed request_id=%s error_id=%s",
            self.job.request_id,
            error_id,
            exc_info=exc,
        )
        self._tell_privately(
            messages.JOB_FAILED.format(reason=messages.UNEXPECTED, error_id=error_id)
        )
        self.state.mark_done()

    # -- who may see what ----------------------------------------------------------------------

    def _is_admin(self) -> bool:
        return self.job.user in split_names(self.rt.settings.cost_report_admins)

    def _refusal(self) -> str | None:
        user = self.job.user
        listed = self._is_admin() or user in split_names(self.rt.settings.cost_report_users)
        if not listed and user not in self._usergroup_members():
            return messages.COST_NOT_ALLOWED
        if self.job.only_user not in (None, user) and not self._is_admin():
            return messages.COST_OTHERS_NOT_ALLOWED
        return None

    def _usergroup_members(self) -> frozenset[str]:
        group = self.rt.settings.cost_report_usergroup.strip()
        if not group:
            return frozenset()
        key = keys.usergroup_members(group)
        cached = self.rt.cache_redis.get(key)
        if cached is not None:
            return frozenset(json.loads(cached))
        members = self.rt.slack.usergroups_users_list(usergroup=group).get("users") or []
        self.rt.cache_redis.set(key, json.dumps(sorted(members)), ex=USERGROUP_TTL_S)
        return frozenset(members)

    # -- the report ----------------------------------------------------------------------------

    def _tell_privately(self, text: str) -> None:
        if self.job.response_url:
            WebhookClient(self.job.response_url).send(text=text, response_type="ephemeral")

    def _destination(self) -> str:
        """The channel for everyone when shared; else the person's DM with the bot."""
        if self.job.share:
            return self.job.channel
        opened = self.rt.slack.conversations_open(users=self.job.user)
        return str(opened["channel"]["id"])

    def _report(self) -> None:
        job = self.job
        scope = ReportFilter(user=job.only_user, channel=job.only_channel)
        now = datetime.datetime.now(datetime.UTC)
        catalog = self.rt.engine.catalog
        _, report = load_report(self.rt.settings, job.period, scope, now=now, catalog=catalog)
        if job.share or not self._is_admin():
            report = without_people(report)
        blocks, text = report_blocks(report), fallback_text(report)
        channel = self._destination()
        if self.state.root_ts:
            self.rt.slack.chat_update(
                channel=channel, ts=self.state.root_ts, blocks=blocks, text=text
            )
        else:
            response = self.rt.slack.chat_postMessage(channel=channel, blocks=blocks, text=text)
            self.state.set_root(str(response["ts"]))
        # matplotlib is imported on first use: answers never pay for it.
        from chatops.cost_chart import render_chart

        with tempfile.TemporaryDirectory() as folder:
            chart = Path(folder) / f"llm-cost-{job.period}.png"
            render_chart(report, chart)
            self.rt.slack.files_upload_v2(
                channel=channel,
                thread_ts=self.state.root_ts,
                file=str(chart),
                filename=chart.name,
                title=f"LLM cost — {report.title}",
            )
        if channel != job.channel:
            self._tell_privately(messages.COST_SENT_PRIVATELY.format(period=job.period))
        self.state.mark_done()
        log.info(
            "cost_report request_id=%s records=%d shared=%s",
            job.request_id,
            report.requests,
            job.share,
        )


__all__ = ["CostReportRun", "fallback_text", "without_people"]
