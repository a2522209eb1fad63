"""The whole system on one machine: emulators in this process; Redis, the bot (gunicorn) and
RQ workers as real processes wired to them through settings (environment variables).

`chatops up` runs it for a person; the end-to-end tests and the benchmarks run the very same
thing, so what they measure is what a user starts.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import redis

from gateway.errors import ConfigError
from sandbox.bedrock import BedrockEmulator
from sandbox.jira import JiraEmulator
from sandbox.openai_compat import Boot, OpenAICompatEmulator
from sandbox.slack import SlackEmulator

if TYPE_CHECKING:
    from sandbox.ec2 import Ec2Sandbox

log = logging.getLogger(__name__)

SIGNING_SECRET = "sandbox-signing-secret"
BOT_TOKEN = "xoxb-sandbox"
# /metrics is served only to whoever holds this (Prometheus's bearer token in production).
METRICS_TOKEN = "sandbox-metrics-token"
EC2_MODEL = "llama-3.1-8b-instruct"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# A port found free can be taken by another process before ours binds it: try again.
PORT_ATTEMPTS = 3


def _healthy(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
        return bool(response.status == 200)


def _wait_alive(
    process: subprocess.Popen[bytes],
    check: Callable[[], object],
    what: str,
    timeout_s: float = 20.0,
) -> bool:
    """True once `check` passes; False if the process exited first (it lost its port)."""
    deadline = time.monotonic() + timeout_s
    while process.poll() is None:
        try:
            if check():
                return True
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise ConfigError(f"{what} did not start within {timeout_s:.0f} s")
        time.sleep(0.05)
    return False


# With a data file, what the sandbox wrote is saved this often (seconds, if anything changed)
# and once more when it stops, so a run cut short still leaves its ledger behind.
SAVE_EVERY = ("5", "1")


@contextmanager
def redis_server(data_file: Path | None = None, *, persist: bool = True) -> Iterator[str]:
    """A private `redis-server` on a free port (noeviction), as a URL. Nothing on disk unless
    `data_file` is given: it then loads that file if it exists and, with `persist`, saves its
    data there while it runs and when it stops; without `persist` it only reads it."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ConfigError("REDIS_URL: no Redis answers and redis-server is not on PATH")
    with ExitStack() as scope:
        save: tuple[str, ...] = ("",)
        if data_file is None:
            workdir, dbfilename = scope.enter_context(tempfile.TemporaryDirectory()), ""
        else:
            data_file.parent.mkdir(parents=True, exist_ok=True)
            workdir, dbfilename = str(data_file.parent), data_file.name
            save = SAVE_EVERY if persist else save
        for _ in range(PORT_ATTEMPTS):
            port = free_port()
            process = subprocess.Popen(
                [
                    binary,
                    *("--port", str(port), "--bind", "127.0.0.1"),
                    *("--save", *save, "--appendonly", "no", "--dir", workdir),
                    *(("--dbfilename", dbfilename) if dbfilename else ()),
                    *("--maxmemory-policy", "noeviction"),
                ],
                stdout=subprocess.DEVNULL,
            )
            url = f"redis://127.0.0.1:{port}/0"
            if _wait_alive(process, redis.Redis.from_url(url).ping, "redis-server"):
                break
        else:
            raise ConfigError(f"redis-server did not start in {PORT_ATTEMPTS} attempts")
        try:
            yield url
        finally:
            if data_file is not None and persist:
                _save(url)
            process.terminate()
            process.wait(timeout=10)


def _save(url: str) -> None:
    """Write the data file now (SAVE), so what the sandbox did outlives it."""
    client = redis.Redis.from_url(url, socket_timeout=10)
    try:
        client.save()
    except redis.RedisError as exc:
        log.warning("redis_not_saved url=%s: %s", url, exc)
    finally:
        client.close()


@dataclass
class Stack:
    redis_url: str
    slack: SlackEmulator
    jira: JiraEmulator
    bedrock: BedrockEmulator
    ec2: OpenAICompatEmulator
    env: dict[str, str]
    bot_url: str = ""
    # `chatops api`, once `start_api` started it.
    api_url: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_dir: str = ""
    # moto's EC2 API with the bot's instances, when the stack was asked for some.
    ec2_api: Ec2Sandbox | None = None

    def spawn(
        self, *args: str, name: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """A `chatops` child process; `env` overrides some of the stack's settings for it."""
        # The child keeps its own copy of the log's descriptor; ours is closed at once.
        # Run in the stack's own folder: no `.env` of the checkout is read.
        with open(os.path.join(self.log_dir, f"{name}.log"), "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "chatops.cli", *args],
                env={**self.env, **(env or {})},
                cwd=self.log_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def start_worker(
        self, queue: str = "interactive", env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        name = f"worker-{queue}-{len(self.workers)}"
        worker = self.spawn("worker", "--queue", queue, name=name, env=env)
        self.workers.append(worker)
        return worker

    def start_bot(self) -> None:
        """The bot on a free port; if another process took the port between our probe and
        gunicorn's bind (a race), it exits at once and is started again on another."""
        for _ in range(PORT_ATTEMPTS):
            port = free_port()
            bot = self.spawn(
                "bot", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", name="bot"
            )
            self.bot_url = f"http://127.0.0.1:{port}"
            if _wait_alive(bot, lambda: _healthy(self.bot_url), "the bot"):
                # The app's redirect URL, as its OAuth settings on Slack would name it.
                self.slack.oauth_redirect_uri = f"{self.bot_url}/slack/oauth_redirect"
                return
        raise ConfigError(f"the bot did not start in {PORT_ATTEMPTS} attempts; see {self.log_dir}")

    def start_api(self, env: dict[str, str] | None = None, threads: int = 8) -> None:
        """`chatops api` beside the bot, on a free port (again on another if one was taken
        between our probe and its bind); its base URL for clients is `api_url + "/v1"`."""
        for _ in range(PORT_ATTEMPTS):
            port = free_port()
            api = self.spawn(
                "api",
                *("--host", "127.0.0.1", "--port", str(port)),
                *("--workers", "1", "--threads", str(threads)),
                name="api",
                env=env,
            )
            self.api_url = f"http://127.0.0.1:{port}"
            if _wait_alive(api, lambda: _healthy(self.api_url), "the API"):
                return
        raise ConfigError(f"the API did not start in {PORT_ATTEMPTS} attempts; see {self.log_dir}")

    def logs(self) -> str:
        """Every process's log, each under its name."""
        return "\n".join(
            f"== {path.name}\n{path.read_text(errors='replace')}"
            for path in sorted(Path(self.log_dir).iterdir())
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.warning("stop_timeout pid=%s args=%s: killed", process.pid, process.args)
                process.kill()
                process.wait()


# What a stack's processes inherit from the shell: how to find programs and Python, and the
# locale — never a setting (TIER_*, LEVERS, REDIS_URL, AWS_PROFILE …), which would make a
# local run, a test or a benchmark depend on whoever started it.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH", "TZ")


def clean_environment() -> dict[str, str]:
    return {name: os.environ[name] for name in _INHERITED if name in os.environ}


def stack_env(
    redis_url: str,
    slack: SlackEmulator,
    jira: JiraEmulator,
    bedrock: BedrockEmulator,
    ec2: OpenAICompatEmulator,
) -> dict[str, str]:
    """Settings, as environment variables, that point every real client at the emulators."""
    return {
        **clean_environment(),
        "REDIS_URL": redis_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "METRICS_TOKEN": METRICS_TOKEN,
        "SLACK_API_URL": f"{slack.url}/api/",
        # Used only when the stack installs through OAuth (SLACK_CLIENT_ID, no bot token).
        "SLACK_OAUTH_AUTHORIZE_URL": f"{slack.url}/oauth/v2/authorize",
        "JIRA_URL": jira.url,
        "JIRA_USER": "sandbox@example.com",
        "JIRA_API_TOKEN": "sandbox",
        "BEDROCK_ENDPOINT_URL": bedrock.url,
        "EC2_LLM_BASE_URL": f"{ec2.url}/v1",
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_EC2_METADATA_DISABLED": "true",
        # The sandbox shows every lever: the semantic cache is on (the embedded model needs
        # no service and no download).
        "SEMANTIC_CACHE": "true",
    }


@contextmanager
def _stop_children_on_sigterm() -> Iterator[None]:
    """A SIGTERM (`timeout`, a supervisor) unwinds like Ctrl-C, so the child processes and
    redis-server are stopped instead of being left behind as orphans."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_cleanly(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_cleanly)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def local_stack(
    redis_url: str | None = None,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    jira_fixture: Path | None = None,
    ec2_instances: int = 0,
    ec2_boot: Boot | None = None,
    log_dir: Path | None = None,
    redis_file: Path | None = None,
) -> Iterator[Stack]:
    """Emulators, Redis (the given URL, or a private redis-server), the bot and workers.

    `log_dir` keeps the processes' logs there (else in a temporary folder, gone afterwards);
    `redis_file` has the private redis-server save its data there (the sandbox's ledger).

    `jira_fixture` seeds the Jira emulator (a trace's issues) instead of its demo projects.
    `ec2_instances` starts moto's EC2 API with that many stopped instances tagged as the bot's,
    each with its own model server (the first is `Stack.ec2`) booting as `ec2_boot` says, and
    points the instance controller at them (EC2_ENDPOINT_URL, EC2_INSTANCE_TAG, EC2_LLM_URLS).
    """
    with ExitStack() as stack:
        stack.enter_context(_stop_children_on_sigterm())
        url = redis_url or stack.enter_context(redis_server(redis_file))
        slack = stack.enter_context(SlackEmulator())
        jira = stack.enter_context(
            JiraEmulator(fixtures=jira_fixture) if jira_fixture else JiraEmulator()
        )
        bedrock = stack.enter_context(BedrockEmulator())
        ec2 = stack.enter_context(OpenAICompatEmulator(models=(EC2_MODEL,)))
        ec2_api = _ec2_api(stack, ec2, ec2_instances, ec2_boot) if ec2_instances else None
        running = Stack(
            url,
            slack,
            jira,
            bedrock,
            ec2,
            {
                **stack_env(url, slack, jira, bedrock, ec2),
                **(ec2_api.env() if ec2_api else {}),
                **(env or {}),
            },
            log_dir=str(log_dir) if log_dir else stack.enter_context(tempfile.TemporaryDirectory()),
            ec2_api=ec2_api,
        )
        stack.callback(running.stop)
        for _ in range(workers):
            running.start_worker()
        running.start_bot()
        yield running


def _ec2_api(
    stack: ExitStack, first: OpenAICompatEmulator, instances: int, boot: Boot | None
) -> Ec2Sandbox:
    # moto loads only for a stack that asks for instances.
    from sandbox.ec2 import Ec2Sandbox

    return stack.enter_context(
        Ec2Sandbox(instances, boot=boot, models=(EC2_MODEL,), emulators=[first])
    )


__all__ = [
    "BOT_TOKEN",
    "METRICS_TOKEN",
    "SIGNING_SECRET",
    "Stack",
    "clean_environment",
    "local_stack",
    "redis_server",
]
