"""What the sandbox leaves in `.chatops/sandbox/`: the settings it ran with (never a secret, never
where its Redis was), a fresh folder each run, and one line when there is nothing to report on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatops.cli import main
from chatops.sandbox_data import SandboxData, uses_sandbox_ledger
from chatops.settings import load_settings


def test_the_settings_it_ran_with_come_back_without_secrets(tmp_path: Path) -> None:
    data = SandboxData(tmp_path / ".chatops" / "sandbox")
    data.reset()
    data.save_settings(
        {
            "PATH": "/usr/bin",
            "REDIS_URL": "redis://127.0.0.1:40001/0",
            "SLACK_BOT_TOKEN": "xoxb-sandbox",
            "JIRA_API_TOKEN": "sandbox",
            "EC2_INSTANCE_TAG": "chatops-bot=llm",
            "TIER_SMALL": "ec2:llama-3.1-8b-instruct, bedrock:amazon.nova-micro-v1:0",
        }
    )
    saved = json.loads((data.root / "settings.json").read_text())
    assert saved == {
        "EC2_INSTANCE_TAG": "chatops-bot=llm",
        "TIER_SMALL": "ec2:llama-3.1-8b-instruct, bedrock:amazon.nova-micro-v1:0",
    }
    settings = data.settings("redis://127.0.0.1:40002/0")
    assert settings.redis_url == "redis://127.0.0.1:40002/0"
    assert settings.ec2_instance_tag == "chatops-bot=llm"
    assert settings.tiers["small"][0].backend == "ec2"


def test_each_run_starts_the_folder_afresh(tmp_path: Path) -> None:
    data = SandboxData(tmp_path / "sandbox")
    data.reset()
    data.redis_file.write_bytes(b"REDIS0011")
    (data.logs / "bot.log").write_text("old\n")
    data.reset()
    assert not data.has_ledger()
    assert list(data.logs.iterdir()) == []


def test_the_sandbox_ledger_is_meant_when_neither_redis_nor_slack_is_configured() -> None:
    assert uses_sandbox_ledger(load_settings(_env_file=None))
    assert not uses_sandbox_ledger(load_settings(_env_file=None, redis_url="redis://r:6379/0"))
    assert not uses_sandbox_ledger(load_settings(_env_file=None, slack_bot_token="xoxb-1"))


def test_no_sandbox_data_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["cost", "--sandbox"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "chatops: no sandbox data in .chatops/sandbox/: run `make run` (chatops up) first, here"
    ]
