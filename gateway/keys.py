"""Every Redis key the project uses, built here and nowhere else. All start with `chatops:`."""

from __future__ import annotations

PREFIX = "chatops"


def key(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


__all__ = ["PREFIX", "key"]
