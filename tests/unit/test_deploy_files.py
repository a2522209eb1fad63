"""Deploy files agree with the code: compose commands parse, env vars are real settings.

No Docker here: the files are read as text and YAML, the way Docker and Slack would read them.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatops.cli import build_parser
from chatops.settings import Settings, load_settings
from sandbox.slack import MANIFEST_SCOPES

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARS = {name.upper() for name in Settings.model_fields}
# `${NAME}`, `${NAME:?message}`: what compose fills in from the shell or its `.env`.
INTERPOLATED = re.compile(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)")
# `KEY=value`, or `# KEY=value` for an optional variable left commented out.
ENV_LINE = re.compile(r"^(?:#\s?)?([A-Z][A-Z0-9_]*)=")


def load_yaml(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def services() -> dict[str, dict[str, Any]]:
    return dict(load_yaml("docker-compose.yml")["services"])


def argv(command: str | list[str]) -> list[str]:
    """Compose accepts a command as a string (split like a shell) or as a list."""
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def chatops_commands() -> list[Any]:
    found = [(name, argv(svc["command"])) for name, svc in services().items() if "command" in svc]
    return [pytest.param(args, id=name) for name, args in found if args[0] == "chatops"]


def dockerfile_lines() -> list[str]:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()


def test_compose_has_the_expected_services() -> None:
    assert {"redis-queue", "redis-cache", "bot", "worker-interactive", "worker-bulk"} <= set(
        services()
    )
    assert services()["sandbox"]["profiles"] == ["sandbox"]


@pytest.mark.parametrize("args", chatops_commands())
def test_compose_chatops_command_parses(args: list[str]) -> None:
    build_parser().parse_args(args[1:])


def test_dockerfile_default_command_parses() -> None:
    cmd = [line for line in dockerfile_lines() if line.startswith("CMD ")][-1]
    args = yaml.safe_load(cmd.removeprefix("CMD "))  # the JSON (exec) form is valid YAML
    assert args[0] == "chatops"
    build_parser().parse_args(args[1:])


def test_compose_environment_names_are_settings() -> None:
    for name, svc in services().items():
        env = svc.get("environment", {})
        keys = set(env) if isinstance(env, dict) else {item.split("=", 1)[0] for item in env}
        assert keys <= SETTINGS_VARS, f"{name}: {sorted(keys - SETTINGS_VARS)} not in Settings"


def compose_variables() -> set[str]:
    return set(INTERPOLATED.findall((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))


def test_env_example_lists_exactly_the_settings_and_what_compose_fills_in() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    names = [m.group(1) for m in map(ENV_LINE.match, lines) if m]
    assert len(names) == len(set(names)), "a variable is listed twice"
    assert compose_variables() == {"REDIS_PASSWORD"}
    assert set(names) == SETTINGS_VARS | compose_variables()


def test_env_example_values_are_valid_settings() -> None:
    load_settings(_env_file=ROOT / ".env.example")


def redis_args(service: str) -> list[str]:
    return argv(services()[service]["command"])


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_queue_redis_never_evicts_and_keeps_an_append_only_file() -> None:
    args = redis_args("redis-queue")
    assert option(args, "--maxmemory-policy") == "noeviction"
    assert option(args, "--appendonly") == "yes"
    assert services()["redis-queue"]["volumes"]


def test_cache_redis_is_bounded_lfu_without_persistence() -> None:
    args = redis_args("redis-cache")
    assert option(args, "--maxmemory-policy") == "allkeys-lfu"
    assert "--maxmemory" in args
    assert option(args, "--save") == ""
    assert "volumes" not in services()["redis-cache"]


REQUIRED_PASSWORD = re.compile(r"^\$\{REDIS_PASSWORD:\?[^}]+\}$")


def test_bot_and_workers_point_at_both_redis_services_with_the_password() -> None:
    for name in ("bot", "worker-interactive", "worker-bulk"):
        env = services()[name]["environment"]
        for setting, host in (("REDIS_URL", "redis-queue"), ("CACHE_REDIS_URL", "redis-cache")):
            password, at, rest = env[setting].removeprefix("redis://:").rpartition("@")
            assert env[setting].startswith("redis://:") and at, f"{name}: {setting} has no password"
            assert REQUIRED_PASSWORD.match(password), f"{name}: {setting}"
            assert rest.startswith(f"{host}:")


@pytest.mark.parametrize("service", ["redis-queue", "redis-cache"])
def test_redis_refuses_commands_without_the_password(service: str) -> None:
    # Whoever can write to the queue decides what the workers are asked to run.
    assert REQUIRED_PASSWORD.match(option(redis_args(service), "--requirepass"))
    check = " ".join(services()[service]["healthcheck"]["test"])
    assert "${REDIS_PASSWORD}" in check and "PONG" in check


def test_the_sandbox_profile_reaches_redis_with_the_password() -> None:
    args = argv(services()["sandbox"]["command"])
    assert option(args, "--redis-url").startswith("redis://:${REDIS_PASSWORD")


def test_image_runs_as_a_non_root_user() -> None:
    lines = dockerfile_lines()
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    users = [line.split()[1] for line in lines[last_from:] if line.startswith("USER ")]
    assert users, "the runtime stage sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}


def manifest() -> dict[str, Any]:
    return dict(load_yaml("slack-manifest.yml"))


def registered_commands() -> set[str]:
    """The slash commands the Bolt app's listeners register, read from their source."""
    registered = re.compile(r'@app\.command\("(/[a-z0-9-]+)"\)')
    return {
        command
        for path in (ROOT / "bot").rglob("*.py")
        for command in registered.findall(path.read_text(encoding="utf-8"))
    }


def test_manifest_declares_the_commands_and_events() -> None:
    data = manifest()
    commands = {c["command"]: c for c in data["features"]["slash_commands"]}
    # A command the app handles but the manifest leaves out never reaches the bot.
    assert set(commands) == registered_commands()
    assert {"/ask", "/summarize", "/digest", "/llm-cost", "/llm-ec2"} <= set(commands)
    assert all(c["usage_hint"] and c["url"].endswith("/slack/events") for c in commands.values())
    assert {"app_mention", "message.im"} <= set(
        data["settings"]["event_subscriptions"]["bot_events"]
    )
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["features"]["app_home"]["messages_tab_enabled"] is True


def test_manifest_grants_every_scope_the_bot_needs() -> None:
    needed = {
        "app_mentions:read",
        "chat:write",
        "chat:write.public",
        "commands",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "im:read",
        "im:write",
        "users:read",
        "files:read",
        "files:write",
        "reactions:write",
    }
    assert needed <= set(manifest()["oauth_config"]["scopes"]["bot"])


def test_the_slack_emulator_grants_what_the_manifest_grants() -> None:
    # The end-to-end tests' Slack refuses exactly what the real app would be refused.
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == set(MANIFEST_SCOPES)


def _seconds(duration: str) -> int:
    return int(duration.removesuffix("s"))


@pytest.mark.parametrize("worker", ["worker-interactive", "worker-bulk"])
def test_workers_outlast_their_longest_job_on_shutdown(worker: str) -> None:
    # SIGTERM is a warm shutdown: the job in hand finishes, if compose waits long enough.
    grace = _seconds(services()[worker]["stop_grace_period"])
    assert grace > Settings.model_fields["job_timeout_s"].default


@pytest.mark.parametrize("worker", ["worker-interactive", "worker-bulk"])
def test_workers_have_a_health_check_that_parses(worker: str) -> None:
    check = services()[worker]["healthcheck"]
    assert not check.get("disable")
    args = check["test"][1:]
    assert args[:3] == ["chatops", "health", "worker"]
    build_parser().parse_args(args[1:])
