"""Every Redis key the project uses, built here and nowhere else. All start with `chatops:`."""

from __future__ import annotations

PREFIX = "chatops"


def key(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


def ledger_records(day: str) -> str:
    """Sorted set of one UTC day's ledger rows (JSON), scored by unix time."""
    return key("ledger", "records", day)


def ledger_aggregate(day: str, dimension: str) -> str:
    """Hash of one UTC day's totals for one dimension; fields are `metric:value`."""
    return key("ledger", "agg", day, dimension)


def ledger_totals() -> str:
    """Hash of totals since the ledger began; fields are `metric:backend|model`."""
    return key("ledger", "totals")


def metrics() -> str:
    """Hash of counters the Slack edge and workers bump for /metrics (`name|label`)."""
    return key("metrics")


def budget_spent(day: str, scope: str, name: str) -> str:
    """Integer micro-USD reserved or spent in one budget period by one user/channel/workspace."""
    return key("budget", day, scope, name)


def dedupe(kind: str, identity: str) -> str:
    """Marks a Slack event (by event id, or by channel and ts) or webhook as already taken."""
    return key("dedupe", kind, identity)


def reply_state(request_id: str) -> str:
    """Hash of the Slack messages one request's reply has posted, so a retry reuses them."""
    return key("reply", request_id)


def thread_context(channel: str, thread_ts: str) -> str:
    """A briefly cached `conversations.replies` result (cache Redis)."""
    return key("thread", channel, thread_ts)


def window_summary(digest: str) -> str:
    """One window's (or one reduce group's) summary, by the hash of its text, step, model and
    prompt version (cache Redis; `gateway.windowing`)."""
    return key("window", digest)


def jira_new_comments(issue_key: str) -> str:
    """Comments added to a Jira issue since its last summary, counted from webhooks."""
    return key("jira", "new-comments", issue_key)


__all__ = [
    "PREFIX",
    "budget_spent",
    "dedupe",
    "jira_new_comments",
    "key",
    "ledger_aggregate",
    "ledger_records",
    "ledger_totals",
    "metrics",
    "reply_state",
    "thread_context",
    "window_summary",
]
