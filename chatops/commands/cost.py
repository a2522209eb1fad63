"""`chatops cost`: the /llm-cost report from the ledger, in the terminal, as CSV and as a chart."""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chatops.output_paths import require_writable
from chatops.settings import Settings, load_settings
from gateway.report import PERIODS, ReportFilter

DESCRIPTION = """\
What the bot spent on models, from the cost ledger in REDIS_URL (the same report as
/llm-cost in Slack): spend by model, user and channel; what the naive way would have cost
and how much each lever saved; and Bedrock against the EC2 instance, with the break-even
volume. With --sandbox, or with neither REDIS_URL nor Slack configured, the ledger is the
one the local sandbox (`make run`, `chatops up`) left in .chatops/sandbox/ of the current
folder. Output files are checked before the report is built."""

EXAMPLES = """\
Examples:
  chatops cost                                the last 7 days
  chatops cost --sandbox --period today       what `make run` just did
  chatops cost --period today --channel C0123ABC
  chatops cost --period 30d --csv out/ledger.csv --png out/cost.png"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="spend, savings by lever and Bedrock vs EC2, from the ledger in REDIS_URL",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "--period", choices=tuple(PERIODS), default="7d", help="the period to report on"
    )
    parser.add_argument("--user", metavar="U…", help="only this Slack user id's requests")
    parser.add_argument("--channel", metavar="C…", help="only this channel id's requests")
    parser.add_argument(
        "--csv", type=Path, metavar="FILE", help="write the report's ledger rows as CSV"
    )
    parser.add_argument("--png", type=Path, metavar="FILE", help="write the chart as a PNG")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="report on the ledger the local sandbox left in .chatops/sandbox/ (its last run)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for option, path in (("--csv", args.csv), ("--png", args.png)):
        if path is not None:
            require_writable(path, option)
    # The report's modules (and matplotlib for --png) load only when a report is made.
    from chatops.cost_report import load_report
    from chatops.cost_text import report_text, write_csv

    scope = ReportFilter(user=args.user, channel=args.channel)
    now = datetime.datetime.now(datetime.UTC)
    settings = load_settings()
    with _ledger_settings(settings, args.sandbox) as settings:
        records, report = load_report(settings, args.period, scope, now=now)
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


@contextmanager
def _ledger_settings(settings: Settings, sandbox: bool) -> Iterator[Settings]:
    """The settings whose ledger to read: as configured, or the sandbox's (asked for, or
    meant: no REDIS_URL and no Slack, and the sandbox left a ledger here)."""
    from chatops.sandbox_data import SandboxData, sandbox_redis, uses_sandbox_ledger

    data = SandboxData.here()
    if not sandbox and not (uses_sandbox_ledger(settings) and data.has_ledger()):
        yield settings
        return
    with sandbox_redis(data, keep=False) as url:
        print(f"The sandbox's ledger, from its last run ({data.shown}).", file=sys.stderr)
        yield data.settings(url)
