"""Tells a person privately, once, that secrets were removed from their message.

The edge (`bot`) replaced them with placeholders before queueing; a slash command's ack
already said so. An event has no ack to speak in, and a listener makes no Slack call before
its ack, so an answer job for a mention or a DM says it here — ephemerally, in the thread
being answered, before the answer starts.
"""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError

from chatops import messages
from chatops.payloads import AnswerJob
from gateway import keys
from workers import slack_refusals
from workers.runtime import Runtime

log = logging.getLogger(__name__)

# `[redacted AWS secret key]`, as `gateway.redaction.Finding.placeholder` writes it.
_PLACEHOLDER = re.compile(r"\[redacted ([A-Za-z][\w ]{0,39})\]")
NOTED_TTL_S = 24 * 3600


def removed_labels(job: AnswerJob) -> list[str]:
    """What was removed, one label per secret, read back from the placeholders."""
    labels = _PLACEHOLDER.findall(job.text)[: job.redactions]
    return labels + ["secret"] * (job.redactions - len(labels))


def tell_secrets_removed(runtime: Runtime, job: AnswerJob) -> None:
    if not job.redactions or job.response_url:
        return
    if not runtime.queue_redis.set(keys.secrets_noted(job.request_id), 1, nx=True, ex=NOTED_TTL_S):
        return
    try:
        runtime.slack.chat_postEphemeral(
            channel=job.channel,
            user=job.user,
            text=messages.secrets_removed(removed_labels(job)),
            thread_ts=job.thread_ts,
        )
    except SlackApiError as exc:
        log.warning(
            "secrets_note_failed request_id=%s error=%s",
            job.request_id,
            slack_refusals.error_code(exc),
        )


__all__ = ["removed_labels", "tell_secrets_removed"]
