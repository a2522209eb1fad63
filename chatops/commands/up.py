"""`chatops up`: the whole bot. With Slack credentials: the bot and a worker against the
configured services. Without: the local sandbox — emulators, Redis, bot, worker — and a
scripted conversation shown as a Slack user would see it."""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
import time
from typing import TYPE_CHECKING

import redis

from chatops.settings import load_settings
from gateway.errors import ConfigError

if TYPE_CHECKING:
    from chatops.stack import Stack

DESCRIPTION = """\
Run ChatOps Bot. With SLACK_BOT_TOKEN set: the bot and its workers, against your Slack,
Bedrock or EC2 model, Jira and Redis. Without: the local sandbox — emulators of Slack,
Jira, Bedrock, the EC2 API and the EC2 model, a private Redis, the bot and a worker — which
plays a short conversation (an /ask, a follow-up in its thread, a DM, a Jira summary, the EC2
instance started on demand and stopped when idle, /llm-cost) and shows in the terminal what a
Slack user would see, streamed as it is written. Its ledger and logs stay in .chatops/sandbox/
of the current folder: `chatops cost --sandbox` reports on them."""

EXAMPLES = """\
Examples:
  chatops up                                  the sandbox; stays up until Ctrl-C
  chatops up --once                           the sandbox's conversation, then exit
  SLACK_BOT_TOKEN=xoxb-… SLACK_SIGNING_SECRET=… chatops up --workers 2"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "up",
        help="run the bot and workers (the local sandbox if no Slack is configured)",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "--once",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="exit after the sandbox script (default when stdout is not a terminal)",
    )
    parser.add_argument("--workers", type=int, default=1, help="interactive worker processes")
    parser.add_argument(
        "--redis-url",
        default=None,
        help="sandbox only: use this Redis instead of starting a private redis-server "
        "(it must be one you can spare: the sandbox writes its queues and ledger there)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    once = args.once if args.once is not None else not sys.stdout.isatty()
    if settings.slack_bot_token is not None:
        return _run_configured(args.workers)
    return _run_sandbox(args.redis_url, args.workers, once)


def _run_configured(workers: int) -> int:
    """The bot and the workers as child processes; when one of them stops, all stop."""
    import subprocess

    command = [sys.executable, "-m", "chatops.cli"]
    processes = [subprocess.Popen([*command, "worker"]) for _ in range(workers)]
    processes.append(subprocess.Popen([*command, "bot"]))
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        return max(process.returncode or 0 for process in processes if process.poll() is not None)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _sandbox_redis(redis_url: str | None) -> str | None:
    """None: start a private redis-server, so nothing of yours is touched — never the
    configured REDIS_URL, which may be production's queue. Another Redis only when asked
    (`--redis-url`, e.g. compose's sandbox profile), and only if it answers."""
    if redis_url is None:
        if shutil.which("redis-server") is None:
            raise ConfigError(
                "redis-server is not on PATH: install it, or pass --redis-url with a Redis "
                "the sandbox may write to"
            )
        return None
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise ConfigError(f"--redis-url: {redis_url} does not answer") from exc
    return redis_url


def _run_sandbox(redis_url: str | None, workers: int, once: bool) -> int:
    from chatops.demo import SANDBOX_EC2_BOOT, SANDBOX_EC2_ENV
    from chatops.sandbox_data import SandboxData, end_instance_hours
    from chatops.stack import local_stack

    print("No Slack credentials configured: starting the local sandbox…", file=sys.stderr)
    redis_url = _sandbox_redis(redis_url)
    data = SandboxData.here()
    data.reset()
    # The script's /llm-cost is alice's: spend is shown only to the people configured.
    env = {"COST_REPORT_USERS": "U_ALICE"}
    ec2 = _can_emulate_ec2()
    with local_stack(
        redis_url,
        workers=workers,
        env={**env, **(SANDBOX_EC2_ENV if ec2 else {})},
        ec2_instances=1 if ec2 else 0,
        ec2_boot=SANDBOX_EC2_BOOT,
        log_dir=data.logs,
        redis_file=None if redis_url else data.redis_file,
    ) as stack:
        data.save_settings(stack.env)
        kept = f"{data.shown} (logs, and the ledger `chatops cost --sandbox` reports on)"
        try:
            return _play(stack, workers, once, kept if redis_url is None else data.shown)
        finally:
            if stack.ec2_api is not None:
                end_instance_hours(stack.redis_url, stack.ec2_api.instance_ids)
            if redis_url is None:
                print(f"The sandbox's ledger and logs are in {kept}.", file=sys.stderr)


def _play(stack: Stack, workers: int, once: bool, kept: str) -> int:
    from chatops.demo import play
    from chatops.terminal_view import TerminalView
    from sandbox.llm import Pace

    # Model pacing like a hosted model, so the streaming is visible.
    stack.bedrock.pace = Pace(ttft_ms=300, tokens_per_s=80)
    stack.ec2.pace = Pace(ttft_ms=150, tokens_per_s=40)
    ec2_api = f"EC2 API {stack.ec2_api.url} · " if stack.ec2_api else ""
    print(
        f"Sandbox up: Slack {stack.slack.url} · Jira {stack.jira.url} · "
        f"Bedrock {stack.bedrock.url} · EC2 model {stack.ec2.url} · {ec2_api}"
        f"Redis {stack.redis_url} · bot {stack.bot_url} · {workers} worker(s).\n"
        f"Logs and data: {kept}\n",
        file=sys.stderr,
    )
    view = TerminalView(stack.slack)
    acks = play(stack, view.say)
    print(
        f"Script done: {len(acks)} requests acknowledged in "
        f"{statistics.median(acks) * 1000:.0f} ms (median).",
        file=sys.stderr,
    )
    if once:
        return 0
    print("The sandbox stays up; press Ctrl-C to stop.", file=sys.stderr)
    while True:
        time.sleep(3600)


def _can_emulate_ec2() -> bool:
    """moto (the `sandbox` extra) emulates the EC2 API; without it the sandbox has no
    instance to start and stop, and says so."""
    if importlib.util.find_spec("moto") is not None:
        return True
    print(
        "moto is not installed (pip install 'chatops-bot[sandbox]'): the sandbox runs without"
        " an EC2 instance to start and stop.",
        file=sys.stderr,
    )
    return False
