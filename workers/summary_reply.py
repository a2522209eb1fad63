"""What summaries, thread summaries and digests share with answers: one worker writes a
request's reply (`ReplyLease`), a retried job redelivers instead of paying again
(`ReplyState`), and the clients a summary needs, built once per process.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from chatops import messages
from chatops.settings import Settings
from gateway.errors import ChatOpsError, UserFacingError
from gateway.windowing import WindowCache
from integrations.jira import JiraClient
from workers.answer import ReplyBusyError
from workers.reply_state import REPLY_LEASE_S, Lease, ReplyLease, ReplyState
from workers.runtime import Runtime
from workers.summarizer import Summarizer, plan_for

# Templates whose wording the cached window summaries depend on.
SUMMARY_TASKS = ("summarize_map", "summarize_reduce", "summarize")


@cache
def jira_client(settings: Settings) -> JiraClient:
    """This process's Jira client (built on first use: only the bulk pool needs one)."""
    return JiraClient.from_settings(settings)


def summarizer_for(rt: Runtime) -> Summarizer:
    settings = rt.settings
    plan = plan_for(
        rt.prompts,
        window_tokens=settings.window_tokens,
        overlap=settings.window_overlap,
        concurrency=settings.window_concurrency,
        fan_in=settings.window_reduce_fan_in,
        max_input_tokens=_compaction_budget(rt),
    )
    cache_ = WindowCache(rt.cache_redis, ttl_s=settings.window_cache_ttl_s, version=_version(rt))
    return Summarizer(
        rt.engine, rt.prompts, plan, cache_, windowing="windowing" in settings.lever_set
    )


def _compaction_budget(rt: Runtime) -> int | None:
    """The longest message the engine's compaction passes whole (None: it is off)."""
    if "compaction" not in rt.engine.levers:
        return None
    return rt.engine.shape_policy.question_tokens


def _version(rt: Runtime) -> str:
    """The models that write window summaries and the templates' text: changing either
    starts a fresh cache."""
    tiers = rt.settings.tiers
    prompts = [rt.prompts[task] for task in SUMMARY_TASKS]
    models = sorted({str(tiers[p.tier][0]) for p in prompts})
    wording = hashlib.sha256("\0".join(p.system() for p in prompts).encode()).hexdigest()[:12]
    return f"{'|'.join(models)}|{wording}"


def scope_of(team: str, channel: str, user: str) -> str:
    """Who may share what this request produces: a DM is its person's, a channel its own."""
    if channel.startswith("D"):
        return f"person:{team}:{user}"
    return f"channel:{team}:{channel}" if channel else ""


@contextmanager
def owned(rt: Runtime, request_id: str, state: ReplyState) -> Iterator[bool]:
    """True inside when this worker writes the reply and it is not done yet; raises
    `ReplyBusyError` (RQ retries later) while another live worker writes it."""
    lease = ReplyLease(
        rt.queue_redis,
        request_id,
        owner=uuid.uuid4().hex,
        is_done=lambda: _done(state),
        wait_s=min(3 * REPLY_LEASE_S, rt.settings.job_timeout_s / 3),
    )
    with lease as outcome:
        if outcome is Lease.BUSY:
            raise ReplyBusyError(f"{request_id} is leased by another worker")
        if outcome is Lease.DONE:
            yield False
            return
        state.refresh()
        yield not state.done


def said(exc: ChatOpsError) -> str:
    """A refusal (`:no_entry:`), or a notice for what may pass (Jira unavailable)."""
    if isinstance(exc, UserFacingError):
        return messages.REFUSED.format(reason=exc.public_message)
    return messages.NOTICE.format(text=exc.public_message)


def _done(state: ReplyState) -> bool:
    state.refresh()
    return state.done


__all__ = ["SUMMARY_TASKS", "jira_client", "owned", "said", "scope_of", "summarizer_for"]
