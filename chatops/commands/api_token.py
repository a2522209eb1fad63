"""`chatops api-token create|list|revoke`: the API's bearer tokens, in the queue Redis."""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

import redis

from chatops import messages
from chatops.settings import Settings, load_settings
from gateway.errors import ConfigError

DESCRIPTION = """\
Tokens for the OpenAI-compatible API (`chatops api`). A token speaks for one person in one
team: its requests are counted in the ledger under the token's id and the team, share cached
answers only within the team, and are capped each UTC day by the token's budget (its own, or
API_TOKEN_DAILY_MICRO_USD) and the team's (API_TEAM_DAILY_MICRO_USD). Only a hash of each
token is stored, in REDIS_URL: a token is shown once, when it is created."""

CREATE = """\
Create a token for one person in a team and print it, once, on stdout (the details go to
stderr, so `TOKEN=$(chatops api-token create …)` keeps just the token)."""

LIST = """\
Every token issued: its id, team, person, daily budget, what it spent today, when it was
created and whether it was revoked. Tokens themselves cannot be shown: only hashes are kept."""

REVOKE = """\
Revoke a token, by its id (from `chatops api-token list`) or by the token itself: its next
request is refused with HTTP 401. Its ledger rows and spend stay."""

EXAMPLES = """\
Examples:
  chatops api-token create --team platform --user alice@example.com --daily-budget-usd 5
  chatops api-token list
  chatops api-token revoke tok_3f9a0c12d4e5"""

DEFAULT_BUDGET = "default"
NO_CAP = "no cap"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "api-token",
        help="create, list and revoke the API's bearer tokens",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    actions = parser.add_subparsers(required=True, metavar="ACTION", title="actions")
    create = actions.add_parser(
        "create",
        help="a new token for a person in a team",
        description=CREATE,
        epilog="Examples:\n  chatops api-token create --team platform --user alice"
        "\n  chatops api-token create --team ci --user deploy-bot --daily-budget-usd 0.50",
    )
    create.add_argument("--team", required=True, help="the team the token spends for")
    create.add_argument("--user", required=True, help="who holds it (a name or an e-mail)")
    create.add_argument(
        "--daily-budget-usd",
        type=_usd,
        metavar="USD",
        help="its own daily cap in USD, 0 for none (default: API_TOKEN_DAILY_MICRO_USD)",
    )
    create.set_defaults(run=run_create)
    listing = actions.add_parser(
        "list",
        help="every token: team, person, budget, spent today",
        description=LIST,
        epilog="Examples:\n  chatops api-token list",
    )
    listing.set_defaults(run=run_list)
    revoke = actions.add_parser(
        "revoke",
        help="revoke a token: its next request gets HTTP 401",
        description=REVOKE,
        epilog="Examples:\n  chatops api-token revoke tok_3f9a0c12d4e5",
    )
    revoke.add_argument("token", metavar="TOKEN_ID", help="the token's id (or the token)")
    revoke.set_defaults(run=run_revoke)


def _usd(text: str) -> int:
    """`5`, `0.50` → micro-USD."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount in USD: {text!r}") from None
    if not amount.is_finite() or amount < 0:
        raise argparse.ArgumentTypeError(f"a budget is 0 or more USD (got {text})")
    return int(amount * 1_000_000)


def run_create(args: argparse.Namespace) -> int:
    from api.tokens import TokenStore

    settings = load_settings()
    with _queue_redis(settings) as client:
        token, record = TokenStore(client).create(args.team, args.user, args.daily_budget_usd)
    print(token)
    budget = _budget(record.daily_budget_micro_usd, settings)
    print(
        f"created {record.token_id} for {record.user} in team {record.team}, daily budget"
        f" {budget}; the token is shown only now",
        file=sys.stderr,
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    from api.tokens import TokenStore
    from gateway.budgets import BudgetCaps, Budgets

    settings = load_settings()
    with _queue_redis(settings) as client:
        records = TokenStore(client).all()
        budgets = Budgets(client, BudgetCaps())
        spent = {r.token_id: budgets.spent_micro_usd("user", r.token_id) for r in records}
    if not records:
        print("no API tokens yet: chatops api-token create --team T --user U")
        return 0
    rows = [("id", "team", "user", "daily budget", "spent today", "created (UTC)", "revoked")]
    rows += [
        (
            r.token_id,
            r.team,
            r.user,
            _budget(r.daily_budget_micro_usd, settings),
            messages.usd(spent[r.token_id]),
            _when(r.created_at),
            _when(r.revoked_at) if r.revoked_at is not None else "",
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from api.tokens import TokenStore

    with _queue_redis(load_settings()) as client:
        record = TokenStore(client).revoke(args.token)
    print(f"revoked {record.token_id} ({record.user} in team {record.team})")
    return 0


@contextmanager
def _queue_redis(settings: Settings) -> Iterator[redis.Redis]:
    """The queue Redis for one command, closed after it; one line if it does not answer."""
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=5)
    try:
        try:
            client.ping()
        except redis.RedisError as exc:
            problem = f"no Redis answers at {settings.redis_url} ({exc})"
            raise ConfigError(f"REDIS_URL: {problem}") from exc
        yield client
    finally:
        client.close()


def _budget(micro_usd: int | None, settings: Settings) -> str:
    """`$5.00`, `no cap`, or `default ($1.00)` for a token that follows the setting."""
    if micro_usd is None:
        return f"{DEFAULT_BUDGET} ({_budget(settings.api_token_daily_micro_usd, settings)})"
    return NO_CAP if micro_usd == 0 else messages.usd(micro_usd)


def _when(at: float) -> str:
    return f"{datetime.datetime.fromtimestamp(at, datetime.UTC):%Y-%m-%d %H:%M}"
