"""`chatops bot`: the Slack edge — HTTP (gunicorn) or, with SLACK_APP_TOKEN, Socket Mode."""

from __future__ import annotations

import argparse

from chatops import logs
from chatops.settings import load_settings


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("bot", help="serve the Slack bot (HTTP, or Socket Mode)")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    logs.configure(args.log_level or settings.log_level)
    if settings.slack_app_token is not None:
        from bot.socket_mode import run_socket_mode

        run_socket_mode(settings)
        return 0
    from bot.app import require_slack_settings
    from bot.http import BotServer

    require_slack_settings(settings)  # one line now, not a traceback from each gunicorn worker

    BotServer(settings, f"{args.host}:{args.port}", args.workers, args.threads).run()
    return 0
