"""Daily Jira digests a person sets up for a channel: `/digest add "JQL" 07:30` (UTC),
`/digest list`, `/digest remove N`.

Scheduling is RQ's own: each schedule keeps exactly one pending occurrence, a job put on the
bulk queue's scheduled registry with `Queue.enqueue_at` under an id made of the schedule and
its time (`digest-{id}-{YYYYmmddHHMMSS}`). Whatever the number of workers, one scheduler holds
the bulk queue's scheduler lock and moves a due job to the queue once; the occurrence then
claims its (schedule, time) mark before anything else, so even a job enqueued twice posts
once. It first schedules the next day's occurrence, then posts its digest — a failed digest
does not end the schedule. A removed schedule's pending occurrence finds it gone and stops.

    chatops:digest:schedules:{channel}   HASH  schedule id -> schedule JSON (queue Redis)
"""

from __future__ import annotations

import datetime
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer
from slack_sdk.webhook import WebhookClient

from chatops import messages
from chatops.payloads import BULK_QUEUE, SCHEDULED_DIGEST_FUNCTION, DigestCommandJob, DigestJob
from gateway import keys
from gateway.errors import UserFacingError
from integrations.jira.errors import JiraUnavailableError
from workers.batch_collector import BatchCollector
from workers.digest import DigestRun
from workers.runtime import Runtime
from workers.summary_reply import jira_client, said

log = logging.getLogger(__name__)

DAY = datetime.timedelta(days=1)
# An occurrence's claim outlives any redelivery of it.
FIRED_TTL_S = 3 * 86_400
FAILURE_TTL_S = 3600


@dataclass(frozen=True)
class DigestSchedule:
    id: str
    team_id: str
    channel: str
    user: str
    jql: str
    # UTC time of day, `HH:MM` (or `HH:MM:SS`).
    at: str
    created_at: float

    @property
    def time_of_day(self) -> datetime.time:
        return datetime.time.fromisoformat(self.at)

    def next_fire(self, after: datetime.datetime) -> datetime.datetime:
        """The first time of day `at` strictly after `after` (UTC)."""
        after = after.astimezone(datetime.UTC)
        fire = datetime.datetime.combine(after.date(), self.time_of_day, datetime.UTC)
        return fire if fire > after else fire + DAY


class DigestSchedules:
    """A channel's schedules in the queue Redis, numbered by when they were set up."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def add(self, schedule: DigestSchedule) -> int:
        self._redis.hset(
            keys.digest_schedules(schedule.channel), schedule.id, json.dumps(asdict(schedule))
        )
        return [s.id for s in self.list(schedule.channel)].index(schedule.id) + 1

    def list(self, channel: str) -> list[DigestSchedule]:
        raw = self._redis.hgetall(keys.digest_schedules(channel))
        found = [DigestSchedule(**json.loads(value)) for value in raw.values()]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    def get(self, channel: str, schedule_id: str) -> DigestSchedule | None:
        raw = self._redis.hget(keys.digest_schedules(channel), schedule_id)
        return DigestSchedule(**json.loads(raw)) if raw else None

    def remove(self, channel: str, number: int) -> DigestSchedule | None:
        found = self.list(channel)
        if not 1 <= number <= len(found):
            return None
        self._redis.hdel(keys.digest_schedules(channel), found[number - 1].id)
        return found[number - 1]


def schedule_next(
    queue: Queue, schedule: DigestSchedule, after: datetime.datetime, job_timeout_s: int
) -> datetime.datetime:
    """Put the occurrence after `after` on RQ's scheduled registry; when it fires."""
    fire = schedule.next_fire(after)
    queue.enqueue_at(
        fire,
        SCHEDULED_DIGEST_FUNCTION,
        {"schedule": asdict(schedule), "at": fire.timestamp()},
        job_id=f"digest-{schedule.id}-{fire:%Y%m%d%H%M%S}",
        job_timeout=job_timeout_s,
        failure_ttl=FAILURE_TTL_S,
        retry=Retry(max=2, interval=[10, 60]),
        description=f"daily digest {schedule.id} at {fire:%Y-%m-%d %H:%M:%S} UTC",
    )
    log.info("digest_scheduled id=%s at=%s", schedule.id, fire.isoformat())
    return fire


def bulk_queue(client: redis.Redis) -> Queue:
    return Queue(BULK_QUEUE, connection=client, serializer=JSONSerializer)


def fire(
    rt: Runtime,
    collector: BatchCollector,
    payload: dict[str, Any],
    clock: Callable[[], float] = time.time,
) -> bool:
    """Run one occurrence: False when its schedule is gone or it already fired."""
    schedule = DigestSchedule(**payload["schedule"])
    at = float(payload["at"])
    if DigestSchedules(rt.queue_redis).get(schedule.channel, schedule.id) is None:
        log.info("digest_removed id=%s: not posted, not rescheduled", schedule.id)
        return False
    stamp = f"{schedule.id}:{int(at)}"
    if not rt.queue_redis.set(keys.dedupe("digest-fired", stamp), 1, nx=True, ex=FIRED_TTL_S):
        log.info("digest_already_fired id=%s at=%d", schedule.id, at)
        return False
    after = datetime.datetime.fromtimestamp(max(at, clock()), datetime.UTC)
    schedule_next(bulk_queue(rt.queue_redis), schedule, after, rt.settings.job_timeout_s)
    job = DigestJob(
        request_id=f"sched-{schedule.id}-{int(at)}",
        source="schedule",
        jql=schedule.jql,
        team_id=schedule.team_id,
        channel=schedule.channel,
        user=schedule.user,
        schedule_id=schedule.id,
        received_at=clock(),
    )
    DigestRun(rt, job, collector).run()
    return True


def run_command(rt: Runtime, job: DigestCommandJob, clock: Callable[[], float] = time.time) -> str:
    """`/digest add|list|remove` for the job's channel; what to tell the person."""
    store = DigestSchedules(rt.queue_redis)
    if job.verb == "list":
        found = store.list(job.channel)
        lines = [
            messages.DIGEST_LIST_LINE.format(number=n, jql=s.jql, at=s.at, user=s.user)
            for n, s in enumerate(found, start=1)
        ]
        return "\n".join(lines) or messages.DIGEST_LIST_EMPTY
    if job.verb == "remove":
        removed = store.remove(job.channel, job.number)
        if removed is None:
            return messages.DIGEST_NOT_FOUND.format(number=job.number)
        return messages.DIGEST_REMOVED.format(number=job.number, jql=removed.jql)
    try:
        jira_client(rt.settings).search(job.jql, limit=1)  # a query Jira refuses is said now
    except (UserFacingError, JiraUnavailableError) as exc:
        return said(exc)
    schedule = DigestSchedule(
        uuid.uuid4().hex[:12], job.team_id, job.channel, job.user, job.jql, job.at, clock()
    )
    number = store.add(schedule)
    now = datetime.datetime.fromtimestamp(clock(), datetime.UTC)
    first = schedule_next(bulk_queue(rt.queue_redis), schedule, now, rt.settings.job_timeout_s)
    return messages.DIGEST_ADDED.format(
        number=number, jql=job.jql, at=job.at, first=f"{first:%Y-%m-%d}"
    )


def tell(rt: Runtime, job: DigestCommandJob, text: str) -> None:
    """Privately, to the person who typed the command."""
    if job.response_url:
        WebhookClient(job.response_url).send(text=text, response_type="ephemeral")
    else:
        rt.slack.chat_postEphemeral(channel=job.channel, user=job.user, text=text)


__all__ = [
    "DigestSchedule",
    "DigestSchedules",
    "bulk_queue",
    "fire",
    "run_command",
    "schedule_next",
    "tell",
]
