"""`chatops health worker|bot`: the container health checks compose runs.

`worker` is healthy when a worker process of this host is registered in the queue Redis and
has beaten within its TTL (RQ drops a worker whose heartbeat lapsed); `bot` when `/healthz`
answers. Exit 0 healthy, 1 not.
"""

from __future__ import annotations

import argparse
import socket
import sys
import urllib.request

import redis

from chatops.settings import load_settings


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "health",
        help="exit 0 if this host's worker (or bot) is alive: for container health checks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n  chatops health worker\n  chatops health bot --port 3000",
    )
    parser.add_argument("role", choices=("worker", "bot"), help="which process to check")
    parser.add_argument(
        "--port", type=int, default=3000, help="the bot's HTTP port (default: %(default)s)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.role == "bot":
        return _bot_is_up(args.port)
    return _worker_is_up()


def _bot_is_up(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"bot unhealthy: {exc}", file=sys.stderr)
        return 1


def _worker_is_up() -> int:
    from rq import Worker

    settings = load_settings()
    host = socket.gethostname()
    try:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=3)
        alive = [w for w in Worker.all(connection=client) if w.hostname == host]
    except redis.RedisError as exc:
        print(f"worker unhealthy: the queue Redis does not answer ({exc})", file=sys.stderr)
        return 1
    if not alive:
        print(f"worker unhealthy: no live worker registered from {host}", file=sys.stderr)
        return 1
    return 0
