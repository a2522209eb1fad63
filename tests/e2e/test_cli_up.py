"""`chatops up` as a new user runs it (`make run`): no credentials → the sandbox plays its
script, and the terminal shows what Slack would."""

from __future__ import annotations

import re
import sys
import time
from decimal import Decimal
from pathlib import Path

import redis

from chatops.sandbox_data import SandboxData, sandbox_redis
from gateway.ledger import Ledger
from tests.e2e.test_cli_ask import CLEAN_ENV, _chatops


def test_up_plays_the_sandbox_conversation_and_exits(tmp_path: Path) -> None:
    result = _chatops("up", cwd=tmp_path, timeout=180)  # stdout is a pipe: --once

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
    # The small tier runs on the EC2 instance first: stopped, so Bedrock answers the first
    # /ask and starts it; booting, so Bedrock answers the DM; then the instance answers.
    footers = re.findall(r"^_(.+) · [\d,]+ in / [\d,]+ out tokens · (.+)_$", out, re.MULTILINE)
    small = [(model, cost) for model, cost in footers if "haiku" not in model]
    assert [model for model, _ in small] == [
        "amazon.nova-micro-v1:0",
        "amazon.nova-micro-v1:0",
        "llama-3.1-8b-instruct",
    ]
    assert re.fullmatch(r"\$0\.\d+ · ec2 stopped, so bedrock answered", small[0][1])
    assert re.fullmatch(r"\$0\.\d+ · ec2 starting, so bedrock answered", small[1][1])
    assert small[2][1] == "EC2 instance hours"
    assert "#ops  alice: /llm-cost today" in out
    # Spend is private: the report goes to alice's DM with the bot.
    assert "DM  ChatOps Bot: LLM cost — today" in out
    assert "DM (thread)  ChatOps Bot: [file: llm-cost-today.png]" in out
    assert "(only visible to you) I'm sending you the report in a direct message." in out
    assert (tmp_path / "out" / "llm-cost-today.png").read_bytes().startswith(b"\x89PNG")
    assert_the_instance_was_started_on_demand_and_stopped_when_idle(out)
    assert "Script done: 8 requests acknowledged" in result.stderr
    assert_the_sandbox_left_its_ledger(tmp_path, result.stderr)


def assert_the_instance_was_started_on_demand_and_stopped_when_idle(out: str) -> None:
    statuses = re.findall(r"\(only visible to you\) \*EC2 instances\*.*\n(.*)\n(.*)", out)
    assert len(statuses) == 2
    (before, _), (after, last) = statuses
    assert re.fullmatch(r"`i-\w+` stopped · up 0 h today · 0 served today · 0 in flight", before)
    assert re.fullmatch(r"`i-\w+` stopped · up \d+ s today · 1 served today · 0 in flight", after)
    assert re.fullmatch(r"    last: stop: idle at \d\d:\d\d UTC", last)
    assert re.search(r"^\(no request for 6 s: the instance controller stopped i-\w+\)$", out, re.M)


def assert_the_sandbox_left_its_ledger(folder: Path, stderr: str) -> None:
    """`chatops cost --sandbox` afterwards, in the same folder: the sandbox's requests, its
    instance's seconds, and figures that add up."""
    data = SandboxData(folder / ".chatops" / "sandbox")
    assert "Logs and data: .chatops/sandbox/" in stderr
    assert {p.name for p in data.logs.iterdir()} >= {"bot.log", "worker-interactive-0.log"}
    with sandbox_redis(data, keep=False) as url:
        client = redis.Redis.from_url(url)
        rows = Ledger(client).records(0, time.time() + 1)
        client.close()

    report = _chatops("cost", "--sandbox", "--period", "today", cwd=folder)
    assert report.returncode == 0, report.stderr
    text = report.stdout
    assert f"  Requests             {len(rows)}\n" in text
    assert sum(row.backend == "ec2" for row in rows) == 1
    spend = re.search(
        r"^  Spend +\$([\d.]+) \(Bedrock \$([\d.]+) \+ EC2 instance hours \$([\d.]+)\)$",
        text,
        re.M,
    )
    baseline = re.search(r"^  Naive baseline +\$([\d.]+)$", text, re.M)
    saved = re.search(r"^  Saved +(-?)\$([\d.]+) ", text, re.M)
    assert spend and baseline and saved, text
    total, bedrock, instance = (Decimal(amount) for amount in spend.groups())
    assert total == bedrock + instance and instance > 0
    assert Decimal(saved.group(1) + saved.group(2)) == Decimal(baseline.group(1)) - total
    assert re.search(r"^EC2 g5\.xlarge: ran \d+ s at \$1\.006/h = \$0\.\d+$", text, re.M)
    # Without --sandbox: no REDIS_URL and no Slack here, so the sandbox's ledger is meant.
    meant = _chatops("cost", "--period", "today", cwd=folder).stdout
    headline = ("  Spend", "  Naive baseline", "  Saved", "  Requests")
    assert [line for line in meant.splitlines() if line.startswith(headline)] == [
        line for line in text.splitlines() if line.startswith(headline)
    ]


def test_up_never_uses_a_redis_it_did_not_start_unless_told(tmp_path: Path, redis_url: str) -> None:
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
