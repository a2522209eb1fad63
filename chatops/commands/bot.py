"""`chatops bot`: the Slack edge — HTTP (gunicorn) or, with SLACK_APP_TOKEN, Socket Mode."""

from __future__ import annotations

import argparse

from chatops import logs
from chatops.settings import load_settings

DESCRIPTION = """\
Serve the Slack side of the bot: check each request's signature, acknowledge it within
Slack's 3 seconds and queue the work for the workers (`chatops worker`). Over HTTP, Slack
sends events, slash commands and interactions to http://HOST:PORT/slack/events; with
SLACK_APP_TOKEN set it connects out over Socket Mode instead (no public URL needed).
Needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and a REDIS_URL the workers share."""

EXAMPLES = """\
Examples:
  chatops bot                                 HTTP on 0.0.0.0:3000
  chatops bot --port 8080 --workers 4
  SLACK_APP_TOKEN=xapp-… chatops bot          Socket Mode"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bot",
        help="serve the Slack bot (HTTP, or Socket Mode)",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument("--host", default="0.0.0.0", help="the address to listen on")
    parser.add_argument("--port", type=int, default=3000, help="the HTTP port")
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
