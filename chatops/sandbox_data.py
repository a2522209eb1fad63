"""What the sandbox leaves behind: `.chatops/sandbox/` in the folder `chatops up` runs in (the
checkout, for `make run`; git-ignored).

- `redis.rdb`: its Redis data — the cost ledger, the instance hours — saved while it runs and
  when it stops;
- `logs/`: each process's log;
- `settings.json`: the settings its processes ran with (tiers, the EC2 instances …), so a
  report on it charges the instances it had, whatever the shell says.

A new run starts the folder afresh. `chatops cost --sandbox` (and `chatops cost` with neither
REDIS_URL nor Slack configured) reads the ledger back through a redis-server started on the
saved file for as long as the report takes; `chatops ask` in the same situation writes its
ledger row there.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from chatops.settings import Settings, load_settings
from chatops.stack import redis_server
from gateway.ec2_policy import STOPPED
from gateway.errors import ConfigError
from gateway.instance_hours import InstanceHours

SANDBOX_DIR = Path(".chatops") / "sandbox"
REDIS_FILE = "redis.rdb"
SETTINGS_FILE = "settings.json"
LOGS = "logs"
# Where its Redis was is a port that is gone; the rest describes what ran.
_NOT_KEPT = frozenset({"redis_url", "cache_redis_url"})


@dataclass(frozen=True)
class SandboxData:
    root: Path

    @classmethod
    def here(cls) -> SandboxData:
        """The sandbox folder of the current directory."""
        return cls(SANDBOX_DIR.absolute())

    @property
    def logs(self) -> Path:
        return self.root / LOGS

    @property
    def redis_file(self) -> Path:
        return self.root / REDIS_FILE

    @property
    def shown(self) -> str:
        """The folder as a person finds it: relative to where they are, when it is below."""
        try:
            return f"{self.root.relative_to(Path.cwd())}/"
        except ValueError:
            return f"{self.root}/"

    def has_ledger(self) -> bool:
        return self.redis_file.is_file()

    def reset(self) -> None:
        """A new run starts empty: the last run's data, settings and logs go."""
        self.redis_file.unlink(missing_ok=True)
        (self.root / SETTINGS_FILE).unlink(missing_ok=True)
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True)

    def save_settings(self, env: Mapping[str, str]) -> None:
        """The settings among `env` (a stack's environment), without where Redis was and
        without secrets (a report needs none)."""
        fields = {
            name
            for name, field in Settings.model_fields.items()
            if name not in _NOT_KEPT and "SecretStr" not in repr(field.annotation)
        }
        kept = {name: value for name, value in env.items() if name.lower() in fields}
        (self.root / SETTINGS_FILE).write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n")

    def settings(self, redis_url: str) -> Settings:
        """The settings the sandbox ran with (the shell's where it saved none), on `redis_url`."""
        path = self.root / SETTINGS_FILE
        saved = json.loads(path.read_text()) if path.is_file() else {}
        values = {name.lower(): value for name, value in saved.items()}
        return load_settings(**{**values, "redis_url": redis_url, "cache_redis_url": None})


def uses_sandbox_ledger(settings: Settings) -> bool:
    """Neither REDIS_URL nor Slack configured: the ledger a person means is the sandbox's, as
    `chatops up` then runs the sandbox."""
    return "redis_url" not in settings.model_fields_set and settings.slack_bot_token is None


@contextmanager
def sandbox_redis(data: SandboxData, *, keep: bool) -> Iterator[str]:
    """A redis-server on the sandbox's saved data, as a URL; with `keep`, what is written is
    saved back when it stops. Without `keep` the data must be there."""
    if not keep and not data.has_ledger():
        raise ConfigError(
            f"no sandbox data in {data.shown}: run `make run` (chatops up) first, here"
        )
    with redis_server(data.redis_file, persist=keep) as url:
        yield url


def end_instance_hours(redis_url: str, instance_ids: Iterable[str]) -> None:
    """The sandbox's instances end with it: their running time stops here, not at whatever
    time a later report is asked for."""
    client = redis.Redis.from_url(redis_url)
    try:
        hours = InstanceHours(client)
        for instance_id in instance_ids:
            hours.record(instance_id, STOPPED, time.time())
    finally:
        client.close()


__all__ = [
    "SANDBOX_DIR",
    "SandboxData",
    "end_instance_hours",
    "sandbox_redis",
    "uses_sandbox_ledger",
]
