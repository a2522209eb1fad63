"""Answers `/llm-cost`: the Block Kit report as a message in the channel, and the chart
uploaded into its thread. Idempotent like an answer: a retry updates the report it posted."""

from __future__ import annotations

import datetime
import logging
import tempfile
import uuid
from pathlib import Path

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from chatops import messages
from chatops.cost_report import load_report
from chatops.cost_text import headline
from chatops.payloads import CostReportJob
from gateway.report import CostReport, ReportFilter
from workers import slack_refusals
from workers.cost_blocks import report_blocks
from workers.reply_state import ReplyState
from workers.runtime import Runtime

log = logging.getLogger(__name__)


def fallback_text(report: CostReport) -> str:
    """What notifications and screen readers get instead of the blocks."""
    numbers = " · ".join(f"{label}: {value}" for label, value in headline(report))
    return f"LLM cost — {report.title}: {numbers}"


class CostReportRun:
    def __init__(self, runtime: Runtime, job: CostReportJob) -> None:
        self.rt = runtime
        self.job = job
        self.state = ReplyState(runtime.queue_redis, job.request_id)

    def run(self) -> None:
        if self.state.done:
            return
        try:
            self._report()
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

    def _tell_privately(self, text: str) -> None:
        if self.job.response_url:
            WebhookClient(self.job.response_url).send(text=text, response_type="ephemeral")

    def _report(self) -> None:
        job = self.job
        scope = ReportFilter(user=job.only_user, channel=job.only_channel)
        now = datetime.datetime.now(datetime.UTC)
        catalog = self.rt.engine.catalog
        _, report = load_report(self.rt.settings, job.period, scope, now=now, catalog=catalog)
        blocks, text = report_blocks(report), fallback_text(report)
        if self.state.root_ts:
            self.rt.slack.chat_update(
                channel=job.channel, ts=self.state.root_ts, blocks=blocks, text=text
            )
        else:
            response = self.rt.slack.chat_postMessage(channel=job.channel, blocks=blocks, text=text)
            self.state.set_root(str(response["ts"]))
        # matplotlib is imported on first use: answers never pay for it.
        from chatops.cost_chart import render_chart

        with tempfile.TemporaryDirectory() as folder:
            chart = Path(folder) / f"llm-cost-{job.period}.png"
            render_chart(report, chart)
            self.rt.slack.files_upload_v2(
                channel=job.channel,
                thread_ts=self.state.root_ts,
                file=str(chart),
                filename=chart.name,
                title=f"LLM cost — {report.title}",
            )
        self.state.mark_done()
        log.info("cost_report request_id=%s records=%d", job.request_id, report.requests)


__all__ = ["CostReportRun", "fallback_text"]
