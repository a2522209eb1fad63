"""Checks on the files a command will write, made before it does any work: a chart, a CSV,
an audit or a trace that cannot be written fails in one line at once, not after minutes of
work (or a library's traceback at the very end)."""

from __future__ import annotations

import os
from pathlib import Path

from gateway.errors import ConfigError


def require_writable(path: Path, option: str) -> None:
    """Raise `ConfigError` naming `option` and `path` unless the file can be created there
    (its folder exists and is writable) or, if it exists, overwritten. Nothing is written."""
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a folder, not a file")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ConfigError(f"{option} {path}: the file exists and cannot be overwritten")
        return
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: the folder {folder} cannot be written to")


def require_readable(path: Path, what: str) -> None:
    """Raise `ConfigError` unless `path` is a file (or, for an export, a folder) to read."""
    if not path.exists():
        raise ConfigError(f"{what} {path}: no such file")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{what} {path}: cannot be read (permission denied)")


__all__ = ["require_readable", "require_writable"]
