"""The `chatops` command: one subcommand per module in `chatops.commands`.

Errors become visible here, once: a `ChatOpsError` as one line on stderr; anything else with
its traceback in the log and a short line naming it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from chatops import logs
from chatops.commands import ask, bot, cache_check, cost, health, replay, sandbox, up, worker
from gateway.errors import ChatOpsError, ConfigError

COMMANDS = (up, ask, bot, worker, sandbox, cost, replay, cache_check, health)

log = logging.getLogger("chatops")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatops", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log-level", default=None, help="default: WARNING; LOG_LEVEL for bot and worker"
    )
    subparsers = parser.add_subparsers(required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(args.log_level or "WARNING")
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return 2
    except ChatOpsError as exc:
        print(f"chatops: {exc.public_message} ({exc})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.exception("unexpected_error")
        print(f"chatops: unexpected {type(exc).__name__}; see the log above", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
