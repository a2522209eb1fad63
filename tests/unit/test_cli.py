"""The `chatops` command as a newcomer meets it: help that says what the product and each
command do, with examples and defaults; `--version`; global options after the command; and
every bad setting, file or output path stopped in one line with exit status 2, no traceback."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from chatops.cli import build_parser, main
from chatops.progress import Progress

TRACE_HEADER = {
    "trace": "tiny",
    "version": 1,
    "description": "",
    "users": {"U_ALICE": "alice"},
    "channels": {"C_OPS": "ops"},
    "jira_fixture": "tiny.jira.json",
}
ASK = {"t": 0, "kind": "ask", "user": "U_ALICE", "channel": "C_OPS", "text": "hi"}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found |= {f"{name} {n}": p for n, p in _subcommands(sub).items()}
    return found


COMMANDS = _subcommands(build_parser())


def test_the_top_help_says_what_the_product_does() -> None:
    text = build_parser().format_help()
    assert "answers your team's questions in Slack" in text
    assert "one subcommand per module" not in text
    assert "Examples:" in text
    assert {"up", "ask", "cost", "replay", "trace"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_explains_itself_with_examples(name: str) -> None:
    parser = COMMANDS[name]
    text = parser.format_help()
    assert parser.description and len(parser.description) > 40, name
    assert parser.epilog and "Examples:" in parser.epilog, name
    assert f"chatops {name}" in parser.epilog
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        assert action.help, f"{name}: {action.dest} has no help"
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            assert f"default: {action.default}" in " ".join(text.split()), (name, action.dest)


def test_version_comes_from_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"chatops {metadata.version('chatops-bot')}"


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["--log-level", "debug", "worker"], "DEBUG"),
        (["worker", "--log-level", "error"], "ERROR"),
        (["worker"], None),
        (["trace", "from-slack-export", "x.zip", "-o", "t.jsonl", "--log-level", "info"], "INFO"),
    ],
)
def test_global_options_work_before_and_after_the_command(argv: list[str], level: str) -> None:
    assert build_parser().parse_args(argv).log_level == level


# -- bad settings, files and paths: exit 2, one line ------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No settings from this machine: no .env, no AWS profile or keys, an empty ~/.aws."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("AWS_", "TIER_", "EC2_", "BEDROCK_", "PRICING_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield tmp_path


def _one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _trace(folder: Path, *lines: object) -> Path:
    path = folder / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def test_a_missing_aws_profile(
    clean_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "aws-config").write_text("[profile other]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    line = _one_line(capsys, ["ask", "hi"])
    assert line.startswith("chatops: AWS_PROFILE: no profile 'nosuch' in the AWS config")


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
    ],
)
def test_half_a_pair_of_aws_keys(
    clean_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    given: str,
    missing: str,
) -> None:
    monkeypatch.setenv(given, "AKIAEXAMPLE")
    # Only the key id makes `chatops ask` use real models; the worker builds them regardless.
    monkeypatch.setenv("BEDROCK_ENDPOINT_URL", "http://bedrock.invalid")
    assert _one_line(capsys, ["ask", "hi"]).startswith(f"chatops: {missing}: not set")


def test_a_malformed_bedrock_endpoint(
    clean_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    monkeypatch.setenv("BEDROCK_ENDPOINT_URL", "not a url")
    assert _one_line(capsys, ["ask", "hi"]).startswith("chatops: BEDROCK_ENDPOINT_URL: ")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read it (No such file or directory)"),
        ("folder", "cannot read it (Is a directory)"),
        (b"\xff\xfe\x00", "cannot read it (it is not UTF-8 text)"),
        ("{not json", "Invalid JSON"),
        (json.dumps({"unit": "USD per 1K tokens", "models": []}), "unit"),
    ],
)
def test_an_unreadable_or_invalid_pricing_file_stops_the_replay_before_it_starts(
    clean_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    content: str | bytes | None,
    expected: str,
) -> None:
    prices = clean_env / "prices.json"
    if content == "folder":
        prices.mkdir()
    elif isinstance(content, bytes):
        prices.write_bytes(content)
    elif content is not None:
        prices.write_text(content)
    monkeypatch.setenv("PRICING_FILE", str(prices))
    line = _one_line(capsys, ["replay", str(_trace(clean_env, TRACE_HEADER, ASK))])
    assert line.startswith(f"chatops: PRICING_FILE {prices}")
    assert expected in line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["cost", "--png", "/no/such/dir/x.png"], "--png /no/such/dir/x.png: the folder"),
        (["cost", "--csv", "."], "--csv .: is a folder, not a file"),
        (["replay", "t.jsonl", "--events-out", "/no/such/dir/e.jsonl"], "--events-out /no/such"),
        (["replay", "missing.jsonl"], "trace missing.jsonl: no such file"),
        (["trace", "from-slack-export", "missing.zip", "-o", "t.jsonl"], "export missing.zip"),
        (["trace", "from-slack-export", ".", "-o", "/no/such/dir/t.jsonl"], "-o /no/such/dir"),
    ],
)
def test_an_output_that_cannot_be_written_is_named_before_any_work(
    clean_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    _trace(clean_env, TRACE_HEADER, ASK).rename(clean_env / "t.jsonl")
    had_matplotlib = "matplotlib" in sys.modules
    # No Redis answers in a unit test: the report would fail on it if the check came later.
    assert _one_line(capsys, argv).startswith(f"chatops: {expected}")
    assert had_matplotlib or "matplotlib" not in sys.modules


def test_a_bad_trace_line_is_named(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = _trace(clean_env, TRACE_HEADER, {**ASK, "kind": "page"})
    line = _one_line(capsys, ["replay", str(trace)])
    assert line.startswith("chatops: tiny.jsonl line 2: field 'kind'")


# -- the progress line ---------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_done_elapsed_and_left_on_a_terminal() -> None:
    now = [100.0]
    stream = _Terminal()
    with Progress("with the levers", 10, stream=stream, clock=lambda: now[0]) as progress:
        for _ in range(4):
            now[0] += 1.5
            progress.advance()
        assert progress.line() == "with the levers: 4/10 events · 0:06 elapsed · about 0:09 left"
    drawn = stream.getvalue()
    assert drawn.startswith("\rwith the levers: 0/10 events") and drawn.endswith("\n")
    assert "4/10 events · 0:06 elapsed · about 0:09 left" in drawn


@pytest.mark.parametrize("enabled", [None, False])
def test_progress_is_silent_off_a_terminal_or_when_quiet(enabled: bool | None) -> None:
    stream = io.StringIO() if enabled is None else _Terminal()
    with Progress("x", 3, stream=stream, enabled=enabled) as progress:
        progress.advance(3)
    assert stream.getvalue() == ""
