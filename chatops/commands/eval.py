"""`chatops eval QUESTIONS.jsonl`: each question on each tier, graded against the strongest
tier's answer by a judge tier; a table per tier and the router's choice (`chatops.evaluation`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import redis

from chatops.commands.ask import model_settings
from chatops.evaluation import (
    OFFLINE_NOTE,
    Evaluation,
    Graded,
    TierScore,
    is_offline,
    load_questions,
    scores,
    write_csv,
)
from chatops.messages import usd
from chatops.output_paths import require_writable
from chatops.settings import TIER_NAMES, Settings, load_settings
from chatops.wiring import build_engine
from gateway.errors import ConfigError
from prompts import load_all

DESCRIPTION = """\
What answering on a cheaper tier costs in quality. Each question runs once on each tier
(and on the strongest tier, whose answer is the reference), through the same cost engine as
the bot: every answer and grade is a ledger row (source eval) with its cost. The judge tier
grades each answer from 1 to 5 against the reference, with a one-line reason. The table shows
per tier the mean grade, the share graded 4 or more and the cost per answer, and a row for
the tier the router would have chosen for each question. With no model credentials it runs
against the offline emulators: the plumbing is exercised, the grades mean nothing."""

EXAMPLES = """\
Examples:
  chatops eval bench/eval/questions.jsonl
  chatops eval mine.jsonl --tiers small,medium --judge large --csv out/grades.csv"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="grade each tier's answers to a question set against the strongest tier's",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument("questions", type=Path, help='JSON lines: {"id": …, "question": …}')
    parser.add_argument(
        "--tiers", type=_tiers, default=TIER_NAMES, help="tiers to answer on, comma-separated"
    )
    parser.add_argument("--judge", choices=TIER_NAMES, default="large", help="the grading tier")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="one row per question and tier")
    parser.set_defaults(run=run)


def _tiers(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [name for name in names if name not in TIER_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected tiers among {', '.join(TIER_NAMES)} (got {value!r})"
        )
    return tuple(name for name in TIER_NAMES if name in names)  # cheapest first


def run(args: argparse.Namespace) -> int:
    if args.csv is not None:
        require_writable(args.csv, "--csv")
    questions = load_questions(args.questions)
    settings = load_settings()
    steps = len(questions) * (len(set(args.tiers) | {TIER_NAMES[-1]}) + len(args.tiers))
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if sys.stderr.isatty():
            print(f"\r{done}/{steps} model calls", end="", file=sys.stderr, flush=True)

    with model_settings(settings) as active, _ledger_redis(active) as client:
        engine = build_engine(active, client)
        try:
            graded = Evaluation(engine, load_all(), judge_tier=args.judge, on_step=step).run(
                questions, args.tiers
            )
        finally:
            engine.gateway.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(table_text(scores(graded, args.tiers), graded, judge=args.judge), end="")
    if args.csv is not None:
        write_csv(graded, args.csv)
        print(f"wrote {len(graded)} graded answers to {args.csv}", file=sys.stderr)
    return 0


def table_text(rows: Sequence[TierScore], graded: Sequence[Graded], *, judge: str) -> str:
    header = ("tier", "answers", "mean grade", "graded ≥ 4", "cost per answer")
    cells = [header] + [
        (
            row.tier,
            str(row.answers),
            "n/a" if row.mean_grade is None else f"{row.mean_grade:.2f}",
            "n/a" if row.share_4_or_more is None else f"{row.share_4_or_more:.0%}",
            _cost(row.cost_per_answer_micro_usd),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    ]
    ungraded = sum(g.grade is None for g in graded)
    notes = [f"Graded by the {judge} tier against the {TIER_NAMES[-1]} tier's answers."]
    if ungraded:
        notes.append(f"{ungraded} answer(s) got no grade line from the judge: left out of grades.")
    if is_offline(graded):
        notes.append(OFFLINE_NOTE)
    return "\n".join([*lines, "", *notes]) + "\n"


def _cost(micro_usd: int | None) -> str:
    return "unpriced" if micro_usd is None else usd(micro_usd)


@contextmanager
def _ledger_redis(settings: Settings) -> Iterator[redis.Redis]:
    """The ledger's Redis (REDIS_URL); when none answers, a private redis-server for this
    run, whose rows are gone when it ends."""
    client = redis.Redis.from_url(settings.redis_url)
    try:
        client.ping()
    except redis.RedisError:
        from chatops.stack import redis_server

        print(
            f"No Redis at {settings.redis_url}: this run's ledger rows last only while it runs.",
            file=sys.stderr,
        )
        try:
            with redis_server() as url:
                yield redis.Redis.from_url(url)
        except ConfigError as exc:
            raise ConfigError(f"REDIS_URL: no Redis answers, and {exc}") from exc
        return
    yield client
