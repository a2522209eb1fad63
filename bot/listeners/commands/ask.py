"""`/ask <question>`: clean, validate, redact, dedupe, enqueue, ack. The worker posts the root
message (`<@user> asked: …`) and streams the answer into its thread.

Secrets go at once: the job, the root message, the cache, the logs and the model see only
the redacted text; the person is told privately, in the ack, what was removed."""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import Ack, App

from bot.channel_gate import refusal
from bot.deps import BotDeps
from bot.text import clean_input, redact_for
from chatops import messages
from chatops.payloads import AnswerJob

log = logging.getLogger(__name__)


def register(app: App, deps: BotDeps) -> None:
    @app.command("/ask")
    def handle_ask(ack: Ack, command: dict[str, Any]) -> None:
        refused = refusal(deps, command["team_id"], command["channel_id"])
        if refused is not None:
            ack(text=refused)
            return
        question = clean_input(command.get("text") or "")
        if not question:
            ack(text=messages.ASK_USAGE)
            return
        limit = deps.settings.max_question_chars
        if len(question) > limit:
            ack(text=messages.QUESTION_TOO_LONG.format(length=len(question), limit=limit))
            return
        redacted = redact_for(deps.settings, command["team_id"], question)
        trigger = command["trigger_id"]
        job = AnswerJob(
            request_id=f"ask-{trigger}",
            kind="ask",
            team_id=command["team_id"],
            enterprise_id=command.get("enterprise_id") or "",
            channel=command["channel_id"],
            user=command["user_id"],
            text=redacted.text,
            received_at=deps.clock(),
            response_url=command.get("response_url"),
            redactions=len(redacted.findings),
        )
        try:
            deps.jobs.enqueue_answer(job, once=(("slash", trigger),))
        except redis.RedisError:
            log.exception("enqueue_failed request_id=%s", job.request_id)
            ack(text=messages.BUSY)
            return
        log.info("enqueued request_id=%s kind=ask redactions=%d", job.request_id, job.redactions)
        if redacted.findings:
            ack(text=messages.secrets_removed([f.label for f in redacted.findings]))
        else:
            ack()
