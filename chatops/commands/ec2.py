"""`chatops ec2 [status|start|stop] [INSTANCE]`: the self-hosted model's instances, as
`/llm-ec2` shows them in Slack."""

from __future__ import annotations

import argparse
import re

import redis

from chatops.settings import load_settings

DESCRIPTION = """\
The EC2 instances the bot starts and stops for the self-hosted model (EC2_INSTANCE_IDS or
EC2_INSTANCE_TAG): each one's state, its uptime and requests served today, and when it stops
if no request comes; or start or stop one now. A start answers requests once its model server
is up; Bedrock answers meanwhile. A stop inside an EC2_SCHEDULE window keeps the instance down
until the window ends. Exit status 1 when something asked for could not be done."""

EXAMPLES = """\
Examples:
  chatops ec2                      the instances' status
  chatops ec2 start                start the first stopped instance
  chatops ec2 stop i-0abc123def4567890"""

ACTIONS = ("status", "start", "stop")
# Slack's mrkdwn in the shared sentences, for a terminal: bold and code marks go, emoji names
# become words.
_MARKS = re.compile(r"[*`]")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ec2",
        help="the self-hosted model's EC2 instances: status, start, stop",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument("action", nargs="?", choices=ACTIONS, default="status", help="what to do")
    parser.add_argument(
        "instance",
        nargs="?",
        metavar="INSTANCE",
        help="an instance id (start: the first stopped one; stop: every running one)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # boto3 and the controller load only for this command.
    from workers.ec2_command import run_command

    settings = load_settings()
    client = redis.Redis.from_url(settings.redis_url)
    try:
        lines, done = run_command(settings, client, args.action, args.instance)
    finally:
        client.close()
    print("\n".join(plain(line) for line in lines))
    return 0 if done else 1


def plain(line: str) -> str:
    return _MARKS.sub("", line).replace(":warning:", "warning:")


__all__ = ["add_parser", "plain", "run"]
