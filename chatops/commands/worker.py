"""`chatops worker --queue interactive|bulk`: one RQ worker process for one queue."""

from __future__ import annotations

import argparse

from chatops import logs
from chatops.payloads import INTERACTIVE_QUEUE, QUEUE_NAMES
from chatops.settings import load_settings

DESCRIPTION = """\
Run one worker. It takes jobs from one queue — interactive: Slack asks, mentions and DMs;
bulk: Jira summaries and digests — calls the models through the cost engine (routing,
caches, budgets, the ledger) and streams each reply into Slack. Run one or more per queue,
beside `chatops bot`, on the same REDIS_URL."""

EXAMPLES = """\
Examples:
  chatops worker                              the interactive queue
  chatops worker --queue bulk
  chatops worker --burst                      work until the queue is empty, then exit"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run a worker for one queue: model calls and Slack replies",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "--queue", choices=QUEUE_NAMES, default=INTERACTIVE_QUEUE, help="the queue to work on"
    )
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from workers.entrypoint import run_worker

    settings = load_settings()
    logs.configure(args.log_level or settings.log_level)
    run_worker(settings, args.queue, burst=args.burst)
    return 0
