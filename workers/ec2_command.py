"""`/llm-ec2 [status|start|stop] [instance-id]` and `chatops ec2 …`: run one, say what it did.

Both ask the instance controller (`workers.ec2_controller`), under its lock, and show the same
lines: each instance's state, its uptime today, requests served today, calls in flight, when
it stops if no request comes, and any problem with when it is tried again. The Slack job
answers privately, through the command's response_url.
"""

from __future__ import annotations

import datetime
import logging
import math
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import redis
from rq.job import Job
from slack_sdk.webhook import WebhookClient

from chatops import messages
from chatops.cost_text import hours
from chatops.installations import NotInstalledError
from chatops.payloads import Ec2CommandJob
from chatops.settings import Settings
from gateway.ec2_fleet import FleetStatus, InstanceRecord
from gateway.ec2_policy import RUNNING, stops_if_idle_at
from gateway.errors import ConfigError
from gateway.instance_hours import Interval
from workers import runtime
from workers.ec2_controller import CommandOutcome, ControllerBusyError, Ec2Controller

log = logging.getLogger(__name__)


def run_command(
    settings: Settings,
    client: redis.Redis,
    verb: str,
    instance_id: str | None = None,
    *,
    clock: Callable[[], float] | None = None,
) -> tuple[list[str], bool]:
    """The lines to show, and whether everything asked for was done."""
    try:
        controller = Ec2Controller.from_settings(settings, client, clock=clock or time.time)
    except ConfigError as exc:
        return [str(exc)], False
    if controller is None:
        return [messages.EC2_NOT_CONFIGURED], verb == "status"
    try:
        if verb == "status":
            return status_lines(controller, controller.observe()), True
        outcome = controller.command("start" if verb == "start" else "stop", instance_id)
        return [*outcome_lines(outcome), "", *status_lines(controller, outcome.status)], not (
            outcome.failed or not outcome.done
        )
    except ControllerBusyError:
        return [messages.EC2_BUSY], False
    finally:
        controller.close()


def outcome_lines(outcome: CommandOutcome) -> list[str]:
    lines = [
        (messages.EC2_STARTED if action.kind == "start" else messages.EC2_STOPPED).format(
            instance_id=action.instance_id
        )
        for action in outcome.done
    ]
    lines += [
        messages.EC2_NOT_DONE.format(verb=outcome.verb, instance_id=iid or "-", problem=problem)
        for iid, problem in outcome.failed
    ]
    if not lines:
        nothing = outcome.verb == "start"
        lines.append(messages.EC2_NOTHING_TO_START if nothing else messages.EC2_NOTHING_TO_STOP)
    return lines


def status_lines(controller: Ec2Controller, status: FleetStatus) -> list[str]:
    """Each instance with its uptime and requests today, and what will happen next."""
    now = controller.now()
    policy = controller.policy
    seen = _clock_time(status.observed_at) if status.observed_at else messages.EC2_NEVER_SEEN
    lines = [
        messages.EC2_HEADING.format(
            schedule=policy.schedule,
            idle_min=policy.idle_stop_s / 60,
            max_instances=policy.max_instances,
            seen=seen,
        )
    ]
    if status.problem:
        return [*lines, messages.EC2_FLEET_PROBLEM.format(problem=status.problem)]
    if not status.instances:
        return [*lines, messages.EC2_NO_INSTANCES.format(tag=controller.ec2.spec.tag)]
    ids = [i.instance_id for i in status.instances]
    midnight = _midnight(now)
    running = controller.hours.intervals(ids, midnight, now)
    served = controller.store.served(datetime.datetime.fromtimestamp(now, datetime.UTC).date())
    in_flight = controller.store.in_flight(ids, now)
    last_sent = controller.store.last_sent()
    for record in status.instances:
        iid = record.instance_id
        lines.append(
            messages.EC2_INSTANCE_LINE.format(
                instance_id=iid,
                state=_state(record),
                uptime=_hours(running, iid),
                served=served.get(iid, 0),
                in_flight=in_flight.get(iid, 0),
            )
        )
        view = record.view(in_flight.get(iid, 0), last_sent.get(iid))
        lines += [f"    {note}" for note in _notes(record, stops_if_idle_at(policy, view, now))]
    return lines


def _state(record: InstanceRecord) -> str:
    if record.state != RUNNING:
        return record.state
    answering = messages.EC2_ANSWERING if record.healthy else messages.EC2_NOT_ANSWERING
    return f"{record.state}, {answering}"


def _notes(record: InstanceRecord, stops_at: float | None) -> list[str]:
    notes = []
    if stops_at is not None:
        notes.append(messages.EC2_STOPS_AT.format(at=_clock_time(stops_at)))
    if record.held_until == math.inf:
        notes.append(messages.EC2_HELD_UNTIL_STARTED)
    elif record.held_until:
        notes.append(messages.EC2_HELD.format(until=_clock_time(record.held_until)))
    if record.problem:
        retry = (
            messages.EC2_RETRY_AT.format(at=_clock_time(record.retry_at))
            if record.retry_at
            else messages.EC2_RETRY_NOW
        )
        at = _clock_time(record.problem_at) if record.problem_at else "-"
        notes.append(messages.EC2_PROBLEM.format(problem=record.problem, at=at, retry=retry))
    if record.last_action and record.last_action_at:
        at = _clock_time(record.last_action_at)
        notes.append(messages.EC2_LAST_ACTION.format(action=record.last_action, at=at))
    return notes


def _hours(intervals: tuple[Interval, ...], instance_id: str) -> str:
    """As the cost report shows time: `3.5 h`, `12 min`, `45 s`."""
    microseconds = sum(i.microseconds for i in intervals if i.instance_id == instance_id)
    return hours(Decimal(microseconds) / 3_600_000_000)


def _midnight(at: float) -> float:
    day = datetime.datetime.fromtimestamp(at, datetime.UTC).date()
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC).timestamp()


def _clock_time(at: float) -> str:
    """`14:35 UTC`, with the date when it is not today."""
    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    today = datetime.datetime.now(datetime.UTC).date()
    return f"{moment:%H:%M} UTC" if moment.date() == today else f"{moment:%Y-%m-%d %H:%M} UTC"


# -- the Slack job ---------------------------------------------------------------------------


def ec2_command(payload: dict[str, Any]) -> None:
    """Run one `/llm-ec2` and answer privately (`workers.ec2_command.ec2_command`)."""
    job = Ec2CommandJob.model_validate(payload)
    rt = runtime.current()
    lines, _ = run_command(rt.settings, rt.queue_redis, job.verb, job.instance_id)
    _tell(job, "\n".join(lines))
    log.info("ec2_command request_id=%s verb=%s", job.request_id, job.verb)


def ec2_command_failed(job: Job, connection: Any, exc_type: Any, exc: Any, tb: Any) -> None:
    """`Callback(on_failure=…)` of `/llm-ec2` jobs: once no retry is left, say so."""
    if job.retries_left:
        return
    error_id = uuid.uuid4().hex[:8]
    log.error("ec2_command_failed job_id=%s error_id=%s", job.id, error_id, exc_info=exc)
    text = messages.JOB_FAILED.format(reason=messages.UNEXPECTED, error_id=error_id)
    _tell(Ec2CommandJob.model_validate(job.args[0]), text)


def _tell(job: Ec2CommandJob, text: str) -> None:
    if job.response_url:
        WebhookClient(job.response_url).send(text=text, response_type="ephemeral")
        return
    try:
        slack = runtime.current().for_team(job.team_id, job.enterprise_id).slack
    except NotInstalledError as exc:
        log.warning("ec2_command_not_told request_id=%s: %s", job.request_id, exc)
        return
    slack.chat_postEphemeral(channel=job.channel, user=job.user, text=text)


__all__ = ["ec2_command", "ec2_command_failed", "outcome_lines", "run_command", "status_lines"]
