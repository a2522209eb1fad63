"""`chatops api`: the OpenAI-compatible API for editors, scripts and CI, under gunicorn."""

from __future__ import annotations

import argparse

import redis

from chatops import logs
from chatops.settings import load_settings
from gateway.errors import ConfigError

DESCRIPTION = """\
Serve the OpenAI-compatible API: POST /v1/chat/completions (streamed with server-sent events
when asked) and GET /v1/models, at http://HOST:PORT/v1 — the base URL to give the openai
client, curl or an editor plugin. Each request needs a bearer token from `chatops api-token
create` and goes through the same cost engine as Slack's: routing, caches (per team),
budgets (per token and per team) and the ledger, where it is counted under source `api`.
`model` is chatops-auto (the router chooses), chatops-small|medium|large, or a model id of
TIER_SMALL/MEDIUM/LARGE. Needs the REDIS_URL the workers and tokens share."""

EXAMPLES = """\
Examples:
  chatops api                                 HTTP on 0.0.0.0:8000
  chatops api --port 9000 --workers 4
  curl -s http://127.0.0.1:8000/v1/models -H "Authorization: Bearer $CHATOPS_TOKEN\""""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "api",
        help="serve the OpenAI-compatible API (/v1/chat/completions) for editors and scripts",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument("--host", default="0.0.0.0", help="the address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="the HTTP port")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=8, help="threads per worker: streams served at once"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    logs.configure(args.log_level or settings.log_level)
    _require_redis(settings.redis_url)  # one line now, not a traceback from each worker
    from api.http import ApiServer

    ApiServer(settings, f"{args.host}:{args.port}", args.workers, args.threads).run()
    return 0


def _require_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ConfigError(f"REDIS_URL: no Redis answers at {url} ({exc})") from exc
    finally:
        client.close()
