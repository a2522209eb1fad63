"""`chatops up` as a new user runs it (`make run`): no credentials → the sandbox plays its
script, and the terminal shows what Slack would."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import redis

from tests.e2e.test_cli_ask import CLEAN_ENV, _chatops


def test_up_plays_the_sandbox_conversation_and_exits(tmp_path: Path) -> None:
    result = _chatops("up", cwd=tmp_path)  # stdout is a pipe, so --once is the default

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "#ops  alice: /ask How do I rotate the staging DB password?" in out
    assert "#ops  ChatOps Bot: @alice asked: How do I rotate the staging DB password?" in out
    assert "#ops (thread)  bob: @chatops and what changes for production?" in out
    assert "DM  carol: Who do I page when the payments queue backs up?" in out
    answers = re.findall(
        r"\(thread\)  ChatOps Bot: \[offline emulator · [^\]]+\] You asked: “([^”]+)”", out
    )
    assert answers[:3] == [
        "How do I rotate the staging DB password?",
        "and what changes for production?",
        "Who do I page when the payments queue backs up?",
    ]
    # The 200-comment incident, windowed, streamed into a thread and posted to Jira once.
    assert "#ops  alice: /summarize DEMO-1 --post" in out
    assert answers[3].startswith("<issue> DEMO-1: Intermittent 502s from the payments gateway")
    assert re.search(r"out tokens · \$[\d.]+ · \d+ windows, \d+ read now, 0 from cache_", out)
    assert "Jira DEMO-1  comment by the bot (1 in all):" in out
    assert "[chatops-summary v1 · source=" in out
    footers = re.findall(r"^_.+ · [\d,]+ in / [\d,]+ out tokens · \$0\.\d{6}_$", out, re.MULTILINE)
    assert len(footers) == 3
    assert "#ops  alice: /llm-cost today" in out
    # Spend is private: the report goes to alice's DM with the bot.
    assert "DM  ChatOps Bot: LLM cost — today" in out
    assert "DM (thread)  ChatOps Bot: [file: llm-cost-today.png]" in out
    assert "(only visible to you) I'm sending you the report in a direct message." in out
    assert (tmp_path / "out" / "llm-cost-today.png").read_bytes().startswith(b"\x89PNG")
    assert "Script done: 5 requests acknowledged" in result.stderr


def test_up_never_uses_a_redis_it_did_not_start_unless_told(
    tmp_path: Path, redis_url: str
) -> None:
    bin_dir = Path(sys.executable).parent  # python, but no redis-server
    # REDIS_URL answers (it could be production's queue): the sandbox must not write there.
    env = {**CLEAN_ENV, "PATH": str(bin_dir), "REDIS_URL": redis_url}
    result = _chatops("up", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "chatops: redis-server is not on PATH: install it, or pass --redis-url with a Redis "
        "the sandbox may write to"
    )
    assert redis.Redis.from_url(redis_url).dbsize() == 0

    told = _chatops("up", "--redis-url", "redis://127.0.0.1:1/0", env=env, cwd=tmp_path)
    assert told.returncode == 2
    assert told.stderr.strip().splitlines()[-1] == (
        "chatops: --redis-url: redis://127.0.0.1:1/0 does not answer"
    )
