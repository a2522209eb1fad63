"""`chatops trace from-slack-export EXPORT.zip -o TRACE.jsonl`: workload traces for
`chatops replay`, made from a team's own Slack history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chatops.output_paths import require_readable, require_writable
from chatops.slack_export import ExportOptions, convert, parse_since
from chatops.trace import load_trace
from gateway.errors import ConfigError

DESCRIPTION = """\
Workload traces: a team's Slack traffic as JSON Lines, for `chatops replay` to play through
the bot and price (the format is in bench/README.md)."""

FROM_EXPORT = """\
Turn a standard Slack workspace export (Workspace settings → Import/Export Data → Export: a
zip with users.json, channels.json and one folder of daily JSON files per conversation) into
a trace. Top-level messages that mention the bot become mentions, top-level questions become
/asks (as if asked of the bot), thread replies follow their thread, and messages in DMs with
the bot keep their DM threads. Ids and text stay as Slack gave them. Bot messages, joins,
edits, deletions and files are handled and counted; the counts are printed to stderr. The
zip can also be given unzipped, as its folder."""

FROM_EXPORT_EXAMPLES = """\
Examples:
  chatops trace from-slack-export export.zip -o ours.jsonl
  chatops trace from-slack-export export.zip --channels ops,platform --since 2026-11-01 \\
    -o ops.jsonl
  chatops trace from-slack-export export.zip --bot chatops --no-questions -o mentions.jsonl
  chatops replay ours.jsonl                   then: what the bot would have cost"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "trace",
        help="make workload traces for chatops replay (from a Slack export)",
        description=DESCRIPTION,
        epilog="Examples:\n  chatops trace from-slack-export export.zip -o ours.jsonl",
    )
    actions = parser.add_subparsers(required=True, metavar="ACTION", title="actions")
    convert_parser = actions.add_parser(
        "from-slack-export",
        help="a Slack workspace export → a trace",
        description=FROM_EXPORT,
        epilog=FROM_EXPORT_EXAMPLES,
    )
    convert_parser.add_argument(
        "export", type=Path, help="the export: its zip, or the folder it unzips to"
    )
    convert_parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="TRACE", help="the trace to write"
    )
    convert_parser.add_argument(
        "--channels", help="only these channels (names or ids, comma-separated; default: all)"
    )
    convert_parser.add_argument(
        "--since", help="only messages from this date or time on (UTC), e.g. 2026-11-01"
    )
    convert_parser.add_argument(
        "--bot",
        help="the bot's user id or name in the export (default: the bot user mentioned most)",
    )
    convert_parser.add_argument(
        "--no-dms", action="store_true", help="leave out the DMs with the bot"
    )
    convert_parser.add_argument(
        "--no-questions",
        action="store_true",
        help="only mentions and DMs: no /ask for top-level questions that do not mention the bot",
    )
    convert_parser.set_defaults(run=run_from_export)


def run_from_export(args: argparse.Namespace) -> int:
    require_readable(args.export, "export")
    require_writable(args.output, "-o")
    try:
        options = ExportOptions(
            channels=_names(args.channels),
            since=parse_since(args.since) if args.since else None,
            bot=args.bot,
            dms=not args.no_dms,
            questions=not args.no_questions,
        )
        conversion = convert(args.export, args.output.stem, options)
    except ValueError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc
    conversion.write(args.output)
    trace = load_trace(args.output)  # what was written is a trace the replay accepts
    print(conversion.summary.text(), file=sys.stderr)
    counts = ", ".join(f"{n} {kind}" for kind, n in trace.counts().items() if n)
    print(f"wrote {len(trace.events)} events ({counts}) to {args.output}", file=sys.stderr)
    return 0


def _names(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    names = frozenset(part.strip().lstrip("#") for part in text.split(",") if part.strip())
    return names or None
