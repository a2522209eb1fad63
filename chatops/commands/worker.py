"""`chatops worker --queue interactive|bulk`: one RQ worker process for one queue."""

from __future__ import annotations

import argparse

from chatops import logs
from chatops.payloads import INTERACTIVE_QUEUE, QUEUE_NAMES
from chatops.settings import load_settings


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("worker", help="run an RQ worker for one queue")
    parser.add_argument("--queue", choices=QUEUE_NAMES, default=INTERACTIVE_QUEUE)
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from workers.entrypoint import run_worker

    settings = load_settings()
    logs.configure(args.log_level or settings.log_level)
    run_worker(settings, args.queue, burst=args.burst)
    return 0
