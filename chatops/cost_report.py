"""The /llm-cost report for a period, from the ledger: shared by `chatops cost` and the Slack
job that answers `/llm-cost`."""

from __future__ import annotations

import datetime

import redis

from chatops.settings import Settings
from gateway.ec2_schedule import Ec2Schedule
from gateway.errors import ConfigError
from gateway.ledger import Ledger, LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.report import CostReport, ReportFilter, build_report, period_bounds


def load_report(
    settings: Settings,
    period: str,
    scope: ReportFilter,
    *,
    now: datetime.datetime,
    catalog: PriceCatalog | None = None,
) -> tuple[list[LedgerRecord], CostReport]:
    """The period's ledger rows (all of them: the EC2 spread needs everyone's) and the report.

    A worker passes the catalog it already loaded. Raises `ConfigError` naming the setting to
    fix when the schedule is invalid or the ledger's Redis cannot be read.
    """
    try:
        schedule = Ec2Schedule.parse(settings.ec2_schedule)
    except ValueError as exc:
        raise ConfigError(f"EC2_SCHEDULE: {exc}") from exc
    start, end, title = period_bounds(period, now)
    catalog = catalog or PriceCatalog.load(settings.pricing_file)
    records = _read_ledger(settings, start, end)
    report = build_report(
        records,
        catalog,
        period_start=start,
        period_end=end,
        tiers=settings.tiers,
        ec2_instance_type=settings.ec2_instance_type,
        ec2_schedule=schedule,
        title=title,
        filter=scope,
    )
    return records, report


def _read_ledger(
    settings: Settings, start: datetime.datetime, end: datetime.datetime
) -> list[LedgerRecord]:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        ledger = Ledger(client, settings.ledger_retention_days)
        return ledger.records(start.timestamp(), end.timestamp())
    except redis.RedisError as exc:
        raise ConfigError(f"REDIS_URL: cannot read the cost ledger ({exc})") from exc
    finally:
        client.close()


__all__ = ["load_report"]
