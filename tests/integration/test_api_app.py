"""The API's WSGI application driven in this process — real Redis, the real cost engine and
its backends against the emulators — where a test can make the client vanish at an exact
point of a stream, or a model fail, and look at what was recorded and settled."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from api.app import ApiApp, build_deps
from api.tokens import ApiToken
from chatops.settings import Settings
from chatops.stack import free_port
from gateway.budgets import BudgetCaps, Budgets
from gateway.ledger import Ledger, LedgerRecord
from sandbox.bedrock import BedrockEmulator
from sandbox.server import Fault

QUESTION = "How do I rotate the staging DB password? Give me every step in detail."


class Client:
    """What gunicorn gives a WSGI app: `start_response` returning `write`; `vanish_after`
    writes, the socket is gone (a broken pipe, as the kernel reports it)."""

    def __init__(self, vanish_after: int | None = None) -> None:
        self.status = ""
        self.headers: dict[str, str] = {}
        self.writes: list[bytes] = []
        self.refused_writes = 0
        self._vanish_after = vanish_after

    def start_response(self, status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
        self.status, self.headers = status, {k.lower(): v for k, v in headers}
        return self.write

    def write(self, data: bytes) -> None:
        if self._vanish_after is not None and len(self.writes) >= self._vanish_after:
            self.refused_writes += 1
            raise BrokenPipeError(32, "Broken pipe")
        self.writes.append(data)

    def events(self) -> list[str]:
        text = b"".join(self.writes).decode()
        return [event.removeprefix("data: ") for event in text.split("\n\n") if event]


@pytest.fixture
def app(settings: Settings, redis_url: str) -> Iterator[ApiApp]:
    deps = build_deps(settings.model_copy(update={"redis_url": redis_url}))
    yield ApiApp(deps)
    deps.engine.gateway.close()


@pytest.fixture
def token(app: ApiApp) -> tuple[str, ApiToken]:
    return app.deps.tokens.create("platform", "alice", daily_budget_micro_usd=1_000_000)


def call(app: ApiApp, client: Client, body: dict[str, Any], token: str) -> bytes:
    raw = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/chat/completions",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
    }
    return b"".join(app(environ, client.start_response))


def ask(model: str = "chatops-large", **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": QUESTION}], **fields}


def rows(redis_url: str) -> list[LedgerRecord]:
    return Ledger(redis.Redis.from_url(redis_url)).records(time.time() - 60, time.time() + 1)


def spent(redis_url: str, token: ApiToken) -> int:
    budgets = Budgets(redis.Redis.from_url(redis_url), BudgetCaps())
    return budgets.spent_micro_usd("user", token.token_id)


def test_a_client_gone_mid_stream_stops_the_call_which_is_recorded_and_settled(
    app: ApiApp, token: tuple[str, ApiToken], redis_url: str, bedrock_emulator: BedrockEmulator
) -> None:
    secret, record = token
    client = Client(vanish_after=4)  # the role chunk and three deltas reach the client

    assert call(app, client, ask(stream=True, max_tokens=400), secret) == b""

    assert client.status == "200 OK" and client.refused_writes == 1
    [row] = rows(redis_url)
    assert (row.source, row.user, row.workspace) == ("api", record.token_id, "platform")
    assert row.estimated_usage  # the stream was stopped before the provider counted
    full = json.loads(call(app, Client(), ask(max_tokens=400), secret))["usage"]
    assert 0 < row.output_tokens < full["completion_tokens"]
    # Settled at what the call cost, not at its worst-case reservation.
    assert row.cost_micro_usd is not None and row.cost_micro_usd > 0
    assert spent(redis_url, record) == sum(r.cost_micro_usd or 0 for r in rows(redis_url))
    assert len(bedrock_emulator.requests_to("/converse-stream")) == 2


def test_a_model_failing_after_the_first_token_ends_the_stream_with_an_error_event(
    app: ApiApp, token: tuple[str, ApiToken], redis_url: str, bedrock_emulator: BedrockEmulator
) -> None:
    bedrock_emulator.inject(Fault("cut", path="converse-stream", after=3))
    client = Client()

    call(app, client, ask(stream=True), token[0])

    *chunks, last = client.events()
    assert client.status == "200 OK"
    texts = [json.loads(c)["choices"][0]["delta"].get("content") for c in chunks]
    assert len([t for t in texts if t]) == 3
    error = json.loads(last)["error"]
    assert error["type"] == "server_error" and error["code"] == "stream_interrupted"
    assert "[DONE]" not in client.events()
    [row] = rows(redis_url)
    assert row.estimated_usage and row.output_tokens > 0


def test_every_route_down_before_the_first_token_is_a_503_to_retry(
    app: ApiApp, token: tuple[str, ApiToken], redis_url: str, bedrock_emulator: BedrockEmulator
) -> None:
    bedrock_emulator.inject(Fault("error", path="converse-stream", status=503, times=5))
    client = Client()

    body = json.loads(call(app, client, ask(stream=True), token[0]))

    assert client.status == "503 Service Unavailable"
    assert body["error"]["code"] == "service_unavailable"
    assert body["error"]["message"] == "Every model for this request is busy or unavailable."
    assert client.headers["retry-after"] == "2"
    assert rows(redis_url) == []
    assert spent(redis_url, token[1]) == 0  # the reservation was given back


def test_an_unexpected_failure_is_a_500_with_an_error_id_never_a_traceback(
    app: ApiApp,
    token: tuple[str, ApiToken],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr(app.deps.engine, "complete", broken)
    client = Client()

    error = json.loads(call(app, client, ask(), token[0]))["error"]

    assert client.status == "500 Internal Server Error"
    assert error["type"] == "server_error"
    assert error["message"].startswith("The server had an error while processing your request")
    error_id = error["message"].split("error id ")[1].rstrip(").")
    assert "hunter2" not in json.dumps(error) and "Traceback" not in json.dumps(error)
    assert f"error_id={error_id}" in caplog.text and "hunter2" in caplog.text


def test_the_token_is_checked_before_the_body(app: ApiApp) -> None:
    client = Client()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/chat/completions",
        "CONTENT_LENGTH": "9",
        "wsgi.input": io.BytesIO(b"{not json"),
    }

    error = json.loads(b"".join(app(environ, client.start_response)))["error"]

    assert client.status == "401 Unauthorized"
    assert error["code"] == "invalid_api_key"
    assert "Authorization: Bearer" in error["message"]


def test_an_unknown_url_and_a_wrong_method(app: ApiApp, token: tuple[str, ApiToken]) -> None:
    for method, path, status in (
        ("POST", "/v1/completions", "404 Not Found"),
        ("GET", "/v1/chat/completions", "405 Method Not Allowed"),
    ):
        client = Client()
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(b"")}
        error = json.loads(b"".join(app(environ, client.start_response)))["error"]
        assert client.status == status
        assert path in error["message"]


def test_redis_down_is_a_503_to_retry(settings: Settings) -> None:
    deps = build_deps(settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}"}))
    client = Client()

    error = json.loads(call(ApiApp(deps), client, ask(), "chatops-anything"))["error"]

    assert client.status == "503 Service Unavailable"
    assert error["code"] == "service_unavailable" and "Redis" in error["message"]
    deps.engine.gateway.close()


def test_a_failure_after_the_stream_started_is_an_error_event_not_a_second_status(
    app: ApiApp, token: tuple[str, ApiToken], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object, metered: object) -> None:
        raise RuntimeError("late")

    monkeypatch.setattr("api.app.SseStream.finish", broken)
    client = Client()

    call(app, client, ask(stream=True), token[0])

    assert client.status == "200 OK"
    error = json.loads(client.events()[-1])["error"]
    assert error["type"] == "server_error" and "error id" in error["message"]
