"""`chatops cost`: the /llm-cost report from the ledger, in the terminal, as CSV and as a chart."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import redis

from chatops.cost_text import report_text, write_csv
from chatops.settings import Settings, load_settings
from gateway.ec2_schedule import Ec2Schedule
from gateway.errors import ConfigError
from gateway.ledger import Ledger, LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.report import PERIODS, CostReport, ReportFilter, build_report, period_bounds


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cost", help="spend, savings by lever and Bedrock vs EC2, from the ledger in REDIS_URL"
    )
    parser.add_argument("--period", choices=tuple(PERIODS), default="7d")
    parser.add_argument("--user", metavar="U…", help="only this Slack user id's requests")
    parser.add_argument("--channel", metavar="C…", help="only this channel id's requests")
    parser.add_argument(
        "--csv", type=Path, metavar="FILE", help="write the report's ledger rows as CSV"
    )
    parser.add_argument("--png", type=Path, metavar="FILE", help="write the chart as a PNG")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    scope = ReportFilter(user=args.user, channel=args.channel)
    records, report = load_report(
        load_settings(), args.period, scope, now=datetime.datetime.now(datetime.UTC)
    )
    print(report_text(report), end="")
    if args.csv:
        rows = [rec for rec in records if scope.matches(rec)]
        write_csv(rows, args.csv)
        print(f"wrote {len(rows)} ledger rows to {args.csv}", file=sys.stderr)
    if args.png:
        # matplotlib takes ~0.4 s to import: only `cost --png` pays it, not every command.
        from chatops.cost_chart import render_chart

        render_chart(report, args.png)
        print(f"wrote the chart to {args.png}", file=sys.stderr)
    return 0


def load_report(
    settings: Settings, period: str, scope: ReportFilter, *, now: datetime.datetime
) -> tuple[list[LedgerRecord], CostReport]:
    """The period's ledger rows (all of them: the EC2 spread needs everyone's) and the report.

    The Slack /llm-cost job can call this too; it raises `ConfigError` naming the setting to
    fix when the schedule is invalid or the ledger's Redis cannot be read.
    """
    try:
        schedule = Ec2Schedule.parse(settings.ec2_schedule)
    except ValueError as exc:
        raise ConfigError(f"EC2_SCHEDULE: {exc}") from exc
    start, end, title = period_bounds(period, now)
    catalog = PriceCatalog.load(settings.pricing_file)
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
