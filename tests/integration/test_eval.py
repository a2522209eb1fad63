"""`chatops eval` against the emulators and a real Redis: every tier and the router's row in
the table, costs equal to the ledger's rows (source `eval`), one CSV row per question and
tier with a grade the emulated judge gave, and the plain warning that offline grades mean
nothing."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
import redis

from chatops.cli import main
from chatops.messages import usd
from chatops.stack import EC2_MODEL
from gateway.ledger import Ledger
from gateway.router import RouteInput, route
from prompts import load_prompt
from sandbox.bedrock import BedrockEmulator
from sandbox.judge_reply import REASON
from sandbox.openai_compat import OpenAICompatEmulator

QUESTIONS = [
    "How do I list all the namespaces in a cluster?",
    "What does HTTP 429 mean?",
    "Why do our canary deploys keep failing health checks on the payments service?",
    "Compare blue-green and canary releases for the checkout service: trade-offs and risks?",
    "How do I see the last 100 lines of logs for a systemd service?",
]


@pytest.fixture
def questions(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    lines = [json.dumps({"id": f"q{n}", "question": q}) for n, q in enumerate(QUESTIONS, 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def emulated_env(
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    bedrock_emulator: BedrockEmulator,
    openai_emulator: OpenAICompatEmulator,
) -> str:
    for name, value in {
        "REDIS_URL": redis_url,
        "BEDROCK_ENDPOINT_URL": bedrock_emulator.url,
        "EC2_LLM_BASE_URL": f"{openai_emulator.url}/v1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "TIER_SMALL": f"bedrock:amazon.nova-micro-v1:0, ec2:{EC2_MODEL}",
    }.items():
        monkeypatch.setenv(name, value)
    return redis_url


def test_eval_grades_every_tier_and_the_router_at_the_ledgers_costs(
    questions: Path,
    emulated_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    since = time.time()
    out = tmp_path / "grades.csv"
    assert main(["eval", str(questions), "--tiers", "small,medium,large", "--csv", str(out)]) == 0
    table = capsys.readouterr().out

    rows = Ledger(redis.Redis.from_url(emulated_env)).records(since, time.time() + 1)
    assert {r.source for r in rows} == {"eval"}
    answers = [r for r in rows if r.task == "ask"]
    judged = [r for r in rows if r.task == "eval_judge"]
    assert len(answers) == len(judged) == 3 * len(QUESTIONS)
    assert {r.tier for r in judged} == {"large"}
    lines = {line.split("  ")[0]: line for line in table.splitlines()}
    for tier in ("small", "medium", "large"):
        costs = [r.cost_micro_usd or 0 for r in answers if r.tier == tier]
        assert lines[tier].split()[1:2] == [str(len(QUESTIONS))]
        assert lines[tier].endswith(usd(round(sum(costs) / len(costs))))
    assert "router's choice" in lines
    assert "the grades mean nothing here" in table

    with out.open(newline="") as file:
        graded = list(csv.DictReader(file))
    assert len(graded) == 3 * len(QUESTIONS)
    assert {g["reason"] for g in graded} == {REASON}
    assert {g["grade"] for g in graded if g["tier"] == "large"} == {"5"}  # the reference itself
    ask = load_prompt("ask")
    chosen = {
        f"q{n}": route(RouteInput("ask", ask.user(question=q), ask.tier)).tier
        for n, q in enumerate(QUESTIONS, 1)
    }
    assert {(g["question_id"], g["router_tier"]) for g in graded} == set(chosen.items())
    assert len(set(chosen.values())) > 1  # the set exercises more than one router choice


def test_an_unknown_tier_is_refused_before_any_call(
    questions: Path, emulated_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["eval", str(questions), "--tiers", "small,huge"])
    assert exited.value.code == 2
    assert "expected tiers among small, medium, large" in capsys.readouterr().err
