"""`chatops replay TRACE`: a workload trace through the whole local system; cost and latency."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatops.messages import usd
from chatops.output_paths import require_readable, require_writable
from chatops.settings import load_settings, parse_levers_spec
from chatops.trace import Trace, load_trace
from gateway.errors import ConfigError
from gateway.pricing import PriceCatalog

if TYPE_CHECKING:
    from chatops.replay_ec2 import Ec2Replay

DESCRIPTION = """\
Play a workload trace — a team's Slack traffic — through the whole bot running on this
machine (the bot over signed HTTP, a private Redis, worker processes, emulated models), twice:
with the cost levers, then the naive way (LEVERS=none). It reports what the traffic cost each
way, savings by lever, the model mix, latency, what happened to every event (answered,
cached, no call, refused, failed, skipped), and Bedrock against an EC2 instance for this
traffic. A progress line on stderr shows events done, elapsed time and an estimate of what is
left (only on a terminal; --quiet turns it off).

Traces are JSON Lines (bench/README.md); `chatops trace from-slack-export` makes one from
your own Slack export."""

EXAMPLES = """\
Examples:
  chatops replay bench/traces/smoke.jsonl
  chatops replay bench/traces/team-week.jsonl --json > out/team-week.json
  chatops replay ours.jsonl --events-out out/events.jsonl   one audit line per event
  chatops replay ours.jsonl --levers right_sizing --workers 4"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a workload trace through the local stack; cost vs naive, latency",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument("trace", type=Path, help="a trace (JSONL), e.g. bench/traces/smoke.jsonl")
    parser.add_argument(
        "--levers", default="all", type=parse_levers_spec, help="all, none, or a comma list"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="trace seconds per real second (0: as fast as the bot answers)",
    )
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--events-out",
        type=Path,
        metavar="FILE",
        help="write one JSON line per trace event: its line, what the bot did, tier and "
        "reason, model, tokens, cost, cache, latency (joined from the ledger)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    parser.add_argument(
        "--ec2-idle-stop-min",
        type=float,
        metavar="MIN",
        help="serve the small tier on an EC2 instance started on demand and stopped after MIN"
        " trace minutes idle, and report its hours against always on (needs --speed, e.g. 1200)",
    )
    parser.add_argument(
        "--ec2-boot-s",
        type=float,
        default=None,
        metavar="S",
        help="trace seconds from the instance's start to its model answering (default: 240)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from chatops.replay import replay

    # Everything that can be wrong is found before two stacks start and run for minutes.
    settings = load_settings()
    catalog = PriceCatalog.load(settings.pricing_file)
    if args.events_out is not None:
        require_writable(args.events_out, "--events-out")
    ec2 = _ec2_replay(args)
    trace = read_trace(args.trace)
    result = replay(
        trace,
        args.levers,
        args.speed,
        args.workers,
        catalog=catalog,
        settings=settings,
        quiet=args.quiet,
        events_out=args.events_out,
        ec2=ec2,
    )
    print(json.dumps(result, indent=2) if args.json else report_text(result))
    return 0


def _ec2_replay(args: argparse.Namespace) -> Ec2Replay | None:
    from chatops.replay_ec2 import DEFAULT_BOOT_S, Ec2Replay

    if args.ec2_idle_stop_min is None:
        return None
    if args.speed <= 0:
        raise ConfigError(
            "--ec2-idle-stop-min: the idle limit and the boot are trace time; give --speed"
            " (trace seconds per real second, e.g. 1200)"
        )
    return Ec2Replay(args.ec2_idle_stop_min, args.speed, args.ec2_boot_s or DEFAULT_BOOT_S)


def read_trace(path: Path) -> Trace:
    """The trace, or one line saying which file, line and field is wrong."""
    require_readable(path, "trace")
    try:
        return load_trace(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc


def report_text(result: dict[str, Any]) -> str:
    latency = result["latency_ms"]
    baseline_kind = (
        "replayed with LEVERS=none" if result["baseline_replayed"] else "from the ledger"
    )
    lines = [
        f"{result['events']} events: handled {result['handled']}, skipped {result['skipped']}"
        f" (not handled by the bot yet), {result['failed']} failed, {result['refused']} refused",
        f"cost ${result['cost_usd']:.4f} against a naive ${result['baseline_cost_usd']:.4f}"
        f" ({baseline_kind}): {result['savings_pct']}% saved",
        "savings by lever: "
        + ", ".join(f"{k} ${v:.4f}" for k, v in result["savings_by_lever"].items()),
        f"response-cache hit rate {result['cache_hit_rate']:.1%}; model mix {result['model_mix']}",
    ]
    if "outcomes" in result:
        lines.append(
            "every event: " + ", ".join(f"{n} {what}" for what, n in result["outcomes"].items())
        )
    for name, stats in latency.items():
        if stats.get("n"):
            lines.append(f"{name}: p50 {stats['p50_ms']} ms, p99 {stats['p99_ms']} ms")
    if "break_even" in result:
        lines += break_even_text(result["break_even"])
    if "ec2" in result:
        lines += ec2_text(result["ec2"])
    return "\n".join(lines)


def ec2_text(ec2: dict[str, Any]) -> list[str]:
    """The instance started on demand and stopped when idle, against one always on."""
    meanwhile = ", ".join(f"{n} while {why}" for why, n in ec2["bedrock_meanwhile"].items())
    return [
        f"EC2 {ec2['instance_type']} for the {ec2['tier']} tier, stopped after"
        f" {ec2['idle_stop_min']:g} min idle: up {ec2['instance_hours']:g} h in"
        f" {ec2['starts']} start(s), {_usd(ec2['instance_cost_usd'])}; always on"
        f" {ec2['always_on_hours']:g} h, {_usd(ec2['always_on_cost_usd'])}",
        f"  served on it: {ec2['served_on_instance']:,}; answered by Bedrock meanwhile:"
        f" {meanwhile or 'none'}",
    ]


def break_even_text(found: dict[str, Any]) -> list[str]:
    """Bedrock against the EC2 instance, in the words of the /llm-cost report."""
    ec2 = found["ec2"]
    hours = found["period_hours"]
    lines = [
        f"Bedrock vs EC2 for this traffic ({hours:g} h, {found['model_call_tokens']:,} tokens in"
        f" model calls, about {found['tokens_per_month_at_this_rate']:,} a month at this rate):",
        f"  on Bedrock {_usd(found['bedrock_cost_usd'])} with the levers; a {ec2['instance_type']}"
        f" always on {_usd(ec2.get('always_on_usd'))}, started only in the hours with requests"
        f" {_usd(ec2.get('stopped_when_idle_usd'))}",
    ]
    for tier in found["bedrock_tiers"]:
        volume = tier["break_even_tokens_per_month"]
        if volume:
            lines.append(
                f"  EC2 always on breaks even with {tier['tier']} ({tier['model']}) at"
                f" {volume:,} tokens a month"
            )
    if found["cheaper"]:
        lines.append(f"  cheaper for this traffic: {found['cheaper']}")
    return lines


def _usd(amount: float | None) -> str:
    return "unpriced" if amount is None else usd(round(amount * 1_000_000))
