"""The Jira edges that need no network: `/summarize` and `/digest` as people type them, the
webhook handler's verdicts (signature, redelivery, the bot's own comment, the new-comment
count), daily schedules' times and their one pending occurrence, a digest item's text."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import io
import json
from dataclasses import dataclass, field
from typing import Any

import fakeredis
import pytest
from pydantic import SecretStr
from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from bot.listeners.commands import digest as digest_command
from bot.listeners.commands.summarize import DigestCommand, IssueCommand, parse
from chatops.payloads import SummarizeJob
from chatops.settings import Settings, load_settings
from gateway import keys
from gateway.windowing import Section
from integrations.jira.text import IssueDocument
from integrations.jira.webhook_app import JiraWebhook
from workers.digest import item_text
from workers.digest_schedule import DigestSchedule, DigestSchedules, schedule_next

SECRET = "webhook-secret"
BOT = "chatops-bot"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("OPS-12", IssueCommand("OPS-12", False)),
        ("ops-12 --post", IssueCommand("OPS-12", True)),
        ("<https://jira.example.com/browse/PLAT-9|PLAT-9> --post", IssueCommand("PLAT-9", True)),
        (
            "project=OPS updated:-1d",
            DigestCommand('project = "OPS" AND updated >= -1d ORDER BY updated DESC', 86_400),
        ),
        (
            "project=OPS,PLAT status=Blocked updated:-12h",
            DigestCommand(
                'project in ("OPS", "PLAT") AND status = "Blocked" AND updated >= -12h'
                " ORDER BY updated DESC",
                43_200,
            ),
        ),
        (
            'jql "assignee = bob AND status != Done"',
            DigestCommand("assignee = bob AND status != Done"),
        ),
        ("jql “project = OPS”", DigestCommand("project = OPS")),
    ],
)
def test_summarize_understands_an_issue_or_a_digest(
    text: str, parsed: IssueCommand | DigestCommand
) -> None:
    assert parse(text) == parsed


@pytest.mark.parametrize("text", ["", "--post", "updated:-1d", "OPS-1 OPS-2", "summarize OPS-1"])
def test_summarize_says_how_when_it_does_not_understand(text: str) -> None:
    assert parse(text) is None


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("list", {"verb": "list"}),
        ('add "project = OPS" 7:30', {"verb": "add", "jql": "project = OPS", "at": "07:30"}),
        ("add “status = Blocked” 23:05", {"verb": "add", "jql": "status = Blocked", "at": "23:05"}),
        ("remove 2", {"verb": "remove", "number": 2}),
        ("add project = OPS 07:30", None),
        ('add "project = OPS" 25:00', None),
        ("remove 0", None),
    ],
)
def test_digest_commands(text: str, parsed: dict[str, Any] | None) -> None:
    assert digest_command.parse(text) == parsed


# -- the webhook handler ------------------------------------------------------------------


@dataclass
class _Jobs:
    """Enqueues as the bot's JobQueue does: once per identity."""

    claimed: set[tuple[str, str]] = field(default_factory=set)
    enqueued: list[SummarizeJob] = field(default_factory=list)

    def enqueue_summary(self, job: SummarizeJob, once: tuple[tuple[str, str], ...] = ()) -> bool:
        if any(identity in self.claimed for identity in once):
            return False
        self.claimed.update(once)
        self.enqueued.append(job)
        return True


@dataclass
class _Edge:
    settings: Settings
    redis: Any
    jobs: _Jobs


@pytest.fixture
def edge() -> _Edge:
    settings = load_settings(
        _env_file=None,
        jira_webhook_secret=SecretStr(SECRET),
        jira_trigger_min_new_comments=2,
    )
    return _Edge(settings, fakeredis.FakeRedis(), _Jobs())


def _deliver(
    edge: _Edge, author: str, identifier: str, secret: str = SECRET
) -> tuple[str, dict[str, Any]]:
    payload = {
        "webhookEvent": "comment_created",
        "issue": {"key": "OPS-7", "fields": {"project": {"key": "OPS"}}},
        "user": {"name": author},
        "comment": {"id": "10", "author": {"name": author}},
    }
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_X_HUB_SIGNATURE": f"sha256={signature}",
        "HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER": identifier,
    }
    answered: list[str] = []
    handler = JiraWebhook(edge, bot_account=lambda: BOT)
    chunks = handler(environ, lambda status, headers: answered.append(status))
    return answered[0], json.loads(b"".join(chunks))


def test_a_forged_delivery_is_401_and_counts_nothing(edge: _Edge) -> None:
    status, _ = _deliver(edge, "carol", "d-1", secret="guessed")
    assert status.startswith("401")
    assert edge.jobs.enqueued == []
    assert edge.redis.get(keys.jira_new_comments("OPS-7")) is None


def test_comments_count_once_per_delivery_until_enough(edge: _Edge) -> None:
    assert _deliver(edge, "carol", "d-1") == ("200 OK", _waiting(1))
    assert _deliver(edge, "carol", "d-1") == ("200 OK", _waiting(1))  # Jira's retry
    status, body = _deliver(edge, "dave", "d-2")
    assert (status, body) == ("200 OK", {"summarize": True, "duplicate": False})
    assert _deliver(edge, "dave", "d-2")[1] == {"summarize": True, "duplicate": True}
    assert [job.key for job in edge.jobs.enqueued] == ["OPS-7"]
    assert edge.jobs.enqueued[0].post and edge.jobs.enqueued[0].source == "webhook"


def test_the_bots_own_comment_is_neither_counted_nor_summarized(edge: _Edge) -> None:
    status, body = _deliver(edge, BOT, "d-3")
    assert (status, body["summarize"]) == ("200 OK", False)
    assert body["reason"] == "caused by the bot's own Jira account"
    assert edge.redis.get(keys.jira_new_comments("OPS-7")) is None


def _waiting(count: int) -> dict[str, Any]:
    return {"summarize": False, "reason": f"{count} of 2 new comments so far"}


# -- daily schedules ------------------------------------------------------------------------


def _schedule(at: str) -> DigestSchedule:
    return DigestSchedule("s1", "T1", "C1", "U1", "project = OPS", at, 1.0)


def test_a_schedule_fires_next_at_its_time_today_or_tomorrow() -> None:
    now = datetime.datetime.now(datetime.UTC)
    later = now + datetime.timedelta(minutes=5)
    earlier = now - datetime.timedelta(minutes=5)
    assert _schedule(f"{later:%H:%M:%S}").next_fire(now) == later.replace(microsecond=0)
    expected = earlier.replace(microsecond=0) + datetime.timedelta(days=1)
    assert _schedule(f"{earlier:%H:%M:%S}").next_fire(now) == expected


def test_one_pending_occurrence_however_often_it_is_scheduled() -> None:
    connection = fakeredis.FakeRedis()
    queue = Queue("bulk", connection=connection, serializer=JSONSerializer)
    now = datetime.datetime.now(datetime.UTC)
    schedule = _schedule(f"{now + datetime.timedelta(hours=1):%H:%M}")
    first = schedule_next(queue, schedule, now, job_timeout_s=60)
    assert schedule_next(queue, schedule, now, job_timeout_s=60) == first
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == [f"digest-s1-{first:%Y%m%d%H%M%S}"]


def test_a_channels_schedules_are_numbered_in_the_order_they_were_set_up() -> None:
    store = DigestSchedules(fakeredis.FakeRedis())
    first = DigestSchedule("b", "T1", "C1", "U1", "project = OPS", "07:30", 1.0)
    second = DigestSchedule("a", "T1", "C1", "U2", "project = PLAT", "08:00", 2.0)
    assert (store.add(first), store.add(second)) == (1, 2)
    assert store.remove("C1", 1) == first
    assert store.list("C1") == [second]
    assert store.remove("C1", 5) is None


# -- a digest item --------------------------------------------------------------------------


def test_a_digest_item_holds_what_changed_in_the_period_newest_kept() -> None:
    since = datetime.datetime(2026, 11, 30, 0, 0, tzinfo=datetime.UTC)
    sections = (
        Section("c1", "[2026-11-29 09:00] Alice Adams: old news"),
        Section("c2", "[2026-11-30 08:00] Bob Byrne: moved to In Review"),
        Section("c3", "[2026-11-30 09:00] Carol Chen: waiting on @Bob Byrne for logs"),
    )
    document = IssueDocument("OPS-7", "OPS-7: Queue lag", sections, "h", 0, 0)
    text = item_text(document, since)
    assert text.splitlines() == [
        "OPS-7: Queue lag",
        "Changed since 2026-11-30 00:00 UTC:",
        "[2026-11-30 08:00] Bob Byrne: moved to In Review",
        "[2026-11-30 09:00] Carol Chen: waiting on @Bob Byrne for logs",
    ]
    quiet = item_text(document, since + datetime.timedelta(days=2))
    assert "Nothing changed since 2026-12-02 00:00 UTC; the latest entries:" in quiet
    assert quiet.endswith("waiting on @Bob Byrne for logs")
