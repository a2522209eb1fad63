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


def open_call(call_id: str) -> str:
    """Hash of one model call that has not been accounted for yet (`gateway.call_journal`)."""
    return key("call", call_id)


def open_calls() -> str:
    """Sorted set of open call ids, scored by when their lease lapses."""
    return key("calls")


def dedupe(kind: str, identity: str) -> str:
    """Marks a Slack event (by event id, or by channel and ts) or webhook as already taken."""
    return key("dedupe", kind, identity)


def reply_state(request_id: str) -> str:
    """Hash of the Slack messages one request's reply has posted, so a retry reuses them."""
    return key("reply", request_id)


def reply_owner(request_id: str) -> str:
    """The worker writing one request's reply, with a lease (`workers.reply_state`)."""
    return key("reply", request_id, "owner")


def channel_postable(channel: str) -> str:
    """Set once the bot has posted in a channel: later /asks post their root concurrently with
    the model call instead of first (cache Redis)."""
    return key("postable", channel)


def secrets_noted(request_id: str) -> str:
    """Set once a person has been told privately which secrets were removed from their
    message, so a retried job does not tell them twice."""
    return key("secrets_noted", request_id)


def files_noted(request_id: str) -> str:
    """Set once a person has been told privately which attached files an answer went
    without (or what secrets were removed from them): a retried job does not tell them twice."""
    return key("files_noted", request_id)


def usergroup_members(group: str) -> str:
    """JSON list of a Slack user group's members (COST_REPORT_USERGROUP), briefly (cache
    Redis)."""
    return key("usergroup", group)


def channel_kind(channel: str) -> str:
    """Whether a channel is public or private, as Slack said (cache Redis)."""
    return key("chankind", channel)


def escalation(channel: str, thread_ts: str) -> str:
    """The tier a thread's next answer must at least use: its last answer was cut at max
    tokens or marked not helpful (queue Redis)."""
    return key("escalate", channel, thread_ts)


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


def digest_schedules(channel: str) -> str:
    """A channel's daily Jira digests: HASH schedule id -> schedule JSON (queue Redis;
    `workers.digest_schedule`)."""
    return key("digest", "schedules", channel)


def response_cache(digest: str) -> str:
    """One cached answer (JSON) under its `CacheKey` digest (cache Redis)."""
    return key("cache", "answer", digest)


def flight_lock(digest: str) -> str:
    """Single-flight lock: held by the one request making the model call for this digest."""
    return key("cache", "flight", digest, "lock")


def flight_stream(digest: str, token: str) -> str:
    """The leader's deltas (a Redis stream) that identical requests follow as it writes."""
    return key("cache", "flight", digest, token)


def semantic_vectors(partition: str) -> str:
    """The semantic cache's question vectors for one scope and prompt (packed float16 slots)."""
    return key("cache", "semantic", partition, "vectors")


def semantic_entries(partition: str) -> str:
    """Hash of slot -> {question, answer digest} beside `semantic_vectors`, and the ring's
    counter."""
    return key("cache", "semantic", partition, "entries")


def token_calibration() -> str:
    """Hash of model family -> running ratio of reported to estimated input tokens (and
    `family:n`, the samples seen), in the cache Redis."""
    return key("calibration", "tokens")


def ec2_instance_states(instance_id: str) -> str:
    """Sorted set of one EC2 instance's observed state changes (`sequence|state`, scored by
    when seen): the ledger's record of the hours it really ran (`gateway.instance_hours`)."""
    return key("ledger", "ec2", "states", instance_id)


def ec2_instances_seen() -> str:
    """Set of the EC2 instance ids whose state changes the ledger holds."""
    return key("ledger", "ec2", "instances")


def ec2_served(day: str) -> str:
    """Hash of instance id -> model calls one UTC day's requests made to it."""
    return key("ec2", "served", day)


def ec2_fleet() -> str:
    """The instance controller's last view of the fleet and its memory, as JSON
    (`gateway.ec2_fleet`)."""
    return key("ec2", "fleet")


def ec2_in_flight(instance_id: str) -> str:
    """Sorted set of the calls streaming from one instance, scored by when their lease lapses."""
    return key("ec2", "in-flight", instance_id)


def ec2_last_sent() -> str:
    """Hash of instance id -> unix time a request was last sent to it."""
    return key("ec2", "last-sent")


def ec2_demand() -> str:
    """Unix time of the first EC2-routed request that found no instance ready, until the
    controller acts on it."""
    return key("ec2", "demand")


def ec2_wake() -> str:
    """List the controllers block on: pushed when a request wants an instance started."""
    return key("ec2", "wake")


def ec2_controller_lock() -> str:
    """The one instance controller acting at a time, with a lease."""
    return key("ec2", "controller")


def api_token(digest: str) -> str:
    """One API token's record (JSON), under the SHA-256 of the token: the token itself is
    never stored (`api.tokens`)."""
    return key("api", "token", digest)


def api_tokens() -> str:
    """Hash of API token id -> the digest of its token, for `chatops api-token list|revoke`."""
    return key("api", "tokens")


def batch_pending(group: str) -> str:
    """List of one batch group's items (JSON) waiting for a flush, oldest first
    (`workers.batch_collector`; `group` is `BatchGroup.digest`)."""
    return key("batch", group, "pending")


def batch_scheduled(group: str) -> str:
    """Set while a flush of the group is scheduled, with a TTL: the first item schedules one."""
    return key("batch", group, "scheduled")


def batch_groups() -> str:
    """Hash of group digest -> the group (JSON), for the maintenance sweep."""
    return key("batch", "groups")


def batch_flight(flight_id: str) -> str:
    """List of the items one flush took: back to pending if the flush dies."""
    return key("batch", "flight", flight_id)


def batch_flights() -> str:
    """Sorted set of running flushes' ids, scored by when their lease lapses (ms)."""
    return key("batch", "flights")


def batch_answer(item_id: str) -> str:
    """One batch item's result (JSON), kept once known so a retried flush never asks again."""
    return key("batch", "answer", item_id)


def batch_delivered(item_id: str) -> str:
    """Set once a batch item's result reached its sink."""
    return key("batch", "delivered", item_id)


def batch_attempts() -> str:
    """Hash of item id -> flushes of it that failed or died."""
    return key("batch", "attempts")


def channel_policies(team_id: str) -> str:
    """HASH channel id -> its policy (JSON), one per workspace (queue Redis;
    `gateway.channel_policy`)."""
    return key("policy", team_id)


def channel_policy_log(team_id: str) -> str:
    """LIST of a workspace's policy changes and refused attempts (JSON), newest first."""
    return key("policy", team_id, "log")


def channels_seen(team_id: str) -> str:
    """SET of the channels a workspace has asked the bot from (the admin page lists them)."""
    return key("policy", team_id, "seen")


def policy_admin(team_id: str, user: str) -> str:
    """Whether a person may change channel policies, as Slack said, briefly (queue Redis)."""
    return key("policy", team_id, "admin", user)


def bot_thread(channel: str, thread_ts: str) -> str:
    """Set once the bot has answered in a thread: a channel that opted in has its later
    replies there answered without a mention (queue Redis)."""
    return key("bot-thread", channel, thread_ts)


def slack_installation(enterprise_id: str, team_id: str) -> str:
    """HASH of one Slack installation (`-` for an absent id): `bot`, `latest` and `user:{id}`
    as JSON (queue Redis; `chatops.installations`)."""
    return key("install", enterprise_id or "-", team_id or "-")


def slack_installations() -> str:
    """SET of installations as `{enterprise}:{team}` (`-` for an absent id)."""
    return key("installs")


def slack_team_enterprises() -> str:
    """HASH team id -> enterprise id, for the workspaces of an org-wide installation."""
    return key("install", "teams")


def oauth_state(state: str) -> str:
    """One OAuth `state` handed out by /slack/install, until it is used or expires."""
    return key("oauth-state", state)


def token_rotation_lock(enterprise_id: str, team_id: str) -> str:
    """Held while one process refreshes an installation's rotating token."""
    return key("install", enterprise_id or "-", team_id or "-", "rotating")


__all__ = [
    "PREFIX",
    "api_token",
    "api_tokens",
    "batch_answer",
    "batch_attempts",
    "batch_delivered",
    "batch_flight",
    "batch_flights",
    "batch_groups",
    "batch_pending",
    "batch_scheduled",
    "bot_thread",
    "budget_spent",
    "channel_kind",
    "channel_policies",
    "channel_policy_log",
    "channel_postable",
    "channels_seen",
    "dedupe",
    "digest_schedules",
    "ec2_controller_lock",
    "ec2_demand",
    "ec2_fleet",
    "ec2_in_flight",
    "ec2_instance_states",
    "ec2_instances_seen",
    "ec2_last_sent",
    "ec2_served",
    "ec2_wake",
    "escalation",
    "files_noted",
    "flight_lock",
    "flight_stream",
    "jira_new_comments",
    "key",
    "ledger_aggregate",
    "ledger_records",
    "ledger_totals",
    "metrics",
    "oauth_state",
    "open_call",
    "open_calls",
    "policy_admin",
    "reply_owner",
    "reply_state",
    "response_cache",
    "secrets_noted",
    "semantic_entries",
    "semantic_vectors",
    "slack_installation",
    "slack_installations",
    "slack_team_enterprises",
    "thread_context",
    "token_calibration",
    "token_rotation_lock",
    "usergroup_members",
    "window_summary",
]
