"""The /llm-cost report for a period, from the ledger: shared by `chatops cost` and the Slack
job that answers `/llm-cost`."""

from __future__ import annotations

import datetime

import redis

from chatops.settings import Settings, split_names
from gateway.errors import ConfigError
from gateway.instance_hours import Ec2Hours, InstanceHours
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
    fix when the ledger's Redis cannot be read.
    """
    start, end, title = period_bounds(period, now)
    catalog = catalog or PriceCatalog.load(settings.pricing_file)
    records, hours = _read_ledger(settings, catalog, start, end)
    report = build_report(
        records,
        catalog,
        period_start=start,
        period_end=end,
        tiers=settings.tiers,
        ec2_hours=hours,
        title=title,
        filter=scope,
    )
    return records, report


def configured_instances(settings: Settings) -> tuple[str, ...] | None:
    """The instances whose hours are charged: `EC2_INSTANCE_IDS`; empty when the fleet is
    named by tag alone (every instance the ledger has changes for); None when neither is set."""
    ids = split_names(settings.ec2_instance_ids)
    if not ids and not settings.ec2_instance_tag.strip():
        return None
    return ids


def _read_ledger(
    settings: Settings, catalog: PriceCatalog, start: datetime.datetime, end: datetime.datetime
) -> tuple[list[LedgerRecord], Ec2Hours]:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        ledger = Ledger(client, settings.ledger_retention_days)
        records = ledger.records(start.timestamp(), end.timestamp())
        hours = InstanceHours(client, settings.ledger_retention_days).period(
            catalog,
            settings.ec2_instance_type,
            configured_instances(settings),
            start.timestamp(),
            end.timestamp(),
        )
    except redis.RedisError as exc:
        raise ConfigError(f"REDIS_URL: cannot read the cost ledger ({exc})") from exc
    finally:
        client.close()
    return records, hours


__all__ = ["configured_instances", "load_report"]
