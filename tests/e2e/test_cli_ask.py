"""`chatops ask` as a person runs it: no credentials → the offline emulators, streamed."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from chatops.stack import clean_environment

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


def test_ask_without_credentials_answers_from_the_emulators() -> None:
    result = _chatops("ask", "How do I rotate the staging DB password?")

    assert result.returncode == 0, result.stderr
    assert "No model credentials configured" in result.stderr
    assert "[offline emulator · " in result.stdout
    assert "How do I rotate the staging DB password?" in result.stdout
    footer = result.stderr.strip().splitlines()[-1]
    assert footer.startswith("— bedrock:global.anthropic.claude-haiku-4-5")
    assert " in / " in footer and "first token" in footer


def test_ask_on_the_ec2_backend() -> None:
    result = _chatops("ask", "hello", "--backend", "ec2", "--tier", "small")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("— ec2:llama-3.1-8b-instruct")


def test_bad_setting_is_one_line_and_exit_2() -> None:
    result = _chatops("ask", "hi", env={**CLEAN_ENV, "TIER_SMALL": "foo"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "chatops: TIER_SMALL: expected backend:model[, backend:model…] with backend one of "
        "bedrock, ec2 (got 'foo')"
    ]
