"""`chatops cost`: the /llm-cost report from the ledger, in the terminal, as CSV and as a chart."""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from chatops.output_paths import require_writable
from chatops.settings import load_settings
from gateway.report import PERIODS, ReportFilter

DESCRIPTION = """\
What the bot spent on models, from the cost ledger in REDIS_URL (the same report as
/llm-cost in Slack): spend by model, user and channel; what the naive way would have cost
and how much each lever saved; and Bedrock against the EC2 instance, with the break-even
volume. Output files are checked before the report is built."""

EXAMPLES = """\
Examples:
  chatops cost                                the last 7 days
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for option, path in (("--csv", args.csv), ("--png", args.png)):
        if path is not None:
            require_writable(path, option)
    # The report's modules (and matplotlib for --png) load only when a report is made.
    from chatops.cost_report import load_report
    from chatops.cost_text import report_text, write_csv

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
