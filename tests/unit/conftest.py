"""Unit tests are pure logic (fakeredis where Redis is needed): no socket may be opened."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


class SocketUsedInUnitTestError(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise SocketUsedInUnitTestError(
            "unit tests open no sockets: move this to tests/integration"
        )

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "bind", refuse)
    yield
