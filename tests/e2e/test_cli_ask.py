"""`chatops ask` as a person runs it: no credentials → the offline emulators, streamed."""

from __future__ import annotations

import atexit
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from chatops.messages import usd
from chatops.stack import clean_environment
from gateway.ledger import Ledger

# What a new user's shell has: no settings. Commands run in an empty folder (no `.env`).
CLEAN_ENV = clean_environment()
_EMPTY_DIR = Path(tempfile.mkdtemp(prefix="chatops-cli-"))
atexit.register(shutil.rmtree, _EMPTY_DIR, ignore_errors=True)


def _chatops(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatops.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or CLEAN_ENV,
        cwd=cwd or _EMPTY_DIR,
        check=False,
    )


def test_ask_without_credentials_answers_from_the_emulators(tmp_path: Path) -> None:
    """The router sizes the question as it would an /ask; with neither REDIS_URL nor Slack
    set, the row goes to the local sandbox's ledger, which `chatops cost` then reads."""
    result = _chatops("ask", "How do I rotate the staging DB password?", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "No model credentials configured" in result.stderr
    assert "[offline emulator · " in result.stdout
    assert "How do I rotate the staging DB password?" in result.stdout
    footer = result.stderr.strip().splitlines()[-1]
    assert footer.startswith("— bedrock:amazon.nova-micro-v1:0 · ")
    assert " in / " in footer and "first token" in footer
    cost = re.search(r" · (\$0\.\d+) · first token", footer)
    assert cost is not None
    assert "(its ledger row, source cli: .chatops/sandbox/" in result.stderr

    report = _chatops("cost", "--period", "today", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "The sandbox's ledger, from its last run (.chatops/sandbox/)." in report.stderr
    assert "  Requests             1\n" in report.stdout
    assert f"  Spend                {cost.group(1)}\n" in report.stdout


def test_ask_writes_its_ledger_row_with_source_cli(redis_url: str) -> None:
    env = {**CLEAN_ENV, "REDIS_URL": redis_url}
    result = _chatops("ask", "--tier", "large", "Compare two designs for the queue", env=env)
    assert result.returncode == 0, result.stderr
    footer = result.stderr.strip().splitlines()[-1]
    assert footer.startswith("— bedrock:global.anthropic.claude-sonnet-4-5")

    client = redis.Redis.from_url(redis_url)
    (row,) = Ledger(client).records(0, time.time() + 1)
    client.close()
    assert (row.source, row.task, row.tier, row.backend) == ("cli", "ask", "large", "bedrock")
    assert row.model.startswith("global.anthropic.claude-sonnet-4-5")
    assert row.cost_micro_usd is not None and f"{usd(row.cost_micro_usd)} · first token" in footer
    assert row.request_id.startswith("cli-")


def test_ask_on_the_ec2_backend(tmp_path: Path) -> None:
    result = _chatops("ask", "hello", "--backend", "ec2", "--tier", "small", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    footer = result.stderr.strip().splitlines()[-1]
    assert footer.startswith("— ec2:llama-3.1-8b-instruct · ")
    assert " · EC2 instance hours · " in footer


def test_a_redis_url_that_does_not_answer_is_one_line_and_exit_2() -> None:
    env = {**CLEAN_ENV, "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = _chatops("ask", "hello", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "chatops: REDIS_URL: redis://127.0.0.1:1/0 does not answer; the answer's ledger row"
        " goes there"
    )


def test_bad_setting_is_one_line_and_exit_2() -> None:
    result = _chatops("ask", "hi", env={**CLEAN_ENV, "TIER_SMALL": "foo"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "chatops: TIER_SMALL: expected backend:model[, backend:model…] with backend one of "
        "bedrock, ec2 (got 'foo')"
    ]
