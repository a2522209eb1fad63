"""The `chatops` command. Each subcommand is a module in `chatops.commands` with
`add_parser(subparsers)` and `run(args)`; their parsers share the help format (descriptions
and examples as written, every option's default shown) and the global options, which are
accepted before or after the subcommand.

Errors become visible here, once: a `ConfigError` (a bad setting, argument or file) as one
line on stderr and exit status 2; another `ChatOpsError` as one line and 1; anything else
with its traceback in the log and a short line naming it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from chatops import logs
from chatops.commands import (
    api,
    api_token,
    ask,
    bot,
    cache_check,
    cost,
    ec2,
    eval,
    health,
    jira,
    replay,
    sandbox,
    trace,
    up,
    worker,
)
from gateway.errors import ChatOpsError, ConfigError

COMMANDS = (
    up,
    ask,
    bot,
    worker,
    api,
    api_token,
    sandbox,
    cost,
    ec2,
    jira,
    replay,
    trace,
    cache_check,
    eval,
    health,
)
PACKAGE = "chatops-bot"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

DESCRIPTION = """\
ChatOps Bot answers your team's questions in Slack (/ask, @mentions, DMs) and summarizes
Jira issues with large language models on AWS Bedrock or a model you host on EC2 — and
spends as little as possible doing it: each request goes to the cheapest model that fits,
with trimmed context, cached answers and daily budgets. `/llm-cost` and `chatops cost` show
where the money went.

Without Slack credentials, `chatops up` runs everything on this machine against offline
emulators of Slack, Jira, Bedrock and the EC2 model."""

EPILOG = """\
Examples:
  chatops up                      try it: the local sandbox and a short conversation
  chatops ask "how do I rotate the staging DB password?"
  chatops cost --period 7d        what the ledger says was spent, and saved
  chatops trace from-slack-export export.zip -o ours.jsonl
  chatops replay ours.jsonl       what the bot would have cost on your own traffic

Settings come from the environment and from .env (every variable is listed in .env.example).
`chatops COMMAND --help` describes each command."""

log = logging.getLogger("chatops")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written; after each option's help, its default — when it
    has one worth showing (not None, not a flag's False)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        shown = action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE)
        hidden = default is None or default is False or default == argparse.SUPPRESS
        if "%(default)" in text or not shown or hidden:
            return text
        if isinstance(action, argparse.BooleanOptionalAction) and "(default:" in text:
            return text
        return f"{text} (default: %(default)s)"


def global_options(default: Any) -> argparse.ArgumentParser:
    """Options every command takes, before or after its name. After it the default is
    SUPPRESS, so an option given before the command is not reset by the subparser."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=default,
        help="how much to log to stderr (default: WARNING; the bot and workers use LOG_LEVEL)",
    )
    return options


class CommandParser(argparse.ArgumentParser):
    """A subcommand's parser (and its own subcommands'): the house help format, and the
    global options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs["parents"] = [*kwargs.get("parents", ()), global_options(argparse.SUPPRESS)]
        super().__init__(*args, **kwargs)


def version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatops",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
        parents=[global_options(None)],
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version()}", help="show the version"
    )
    subparsers = parser.add_subparsers(
        required=True, metavar="COMMAND", title="commands", parser_class=CommandParser
    )
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
