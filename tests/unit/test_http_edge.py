"""The bot's public port gives nothing away, and only a person (or an allowed bot) is asked
for an answer: /metrics for its token or its own port, bodies capped before anything reads
them, no HTTP app without a signing secret, and bots, webhooks and the bot itself ignored."""

from __future__ import annotations

from typing import Any

import fakeredis
import pytest
from prometheus_client.registry import CollectorRegistry
from pydantic import SecretStr

from bot.app import build_app
from bot.deps import BotDeps
from bot.http import MetricsEndpoint, _body_too_large
from bot.jobs import JobQueue
from bot.listeners.events.submit import asker
from chatops.settings import Settings, load_settings
from gateway.errors import ConfigError

TOKEN = "EXAMPLE-metrics-token"


def settings(**values: Any) -> Settings:
    return load_settings(_env_file=None, **values)


def call(endpoint: MetricsEndpoint, **environ: str) -> tuple[str, bytes]:
    said: list[str] = []
    body = endpoint(environ, lambda status, headers: said.append(status))
    return said[0], b"".join(body)


def test_metrics_need_the_bearer_token() -> None:
    endpoint = MetricsEndpoint(settings(metrics_token=SecretStr(TOKEN)), CollectorRegistry())
    assert call(endpoint)[0] == "401 Unauthorized"
    assert call(endpoint, HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")[0] == "401 Unauthorized"
    assert call(endpoint, HTTP_AUTHORIZATION=TOKEN)[0] == "401 Unauthorized"
    assert call(endpoint, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")[0] == "200 OK"


def test_metrics_on_their_own_port_need_no_token_and_are_not_served_elsewhere() -> None:
    endpoint = MetricsEndpoint(settings(metrics_port=9102), CollectorRegistry())
    assert call(endpoint, SERVER_PORT="9102")[0] == "200 OK"
    assert call(endpoint, SERVER_PORT="3000")[0] == "404 Not Found"
    assert endpoint.is_metrics_port({"SERVER_PORT": "9102"})


def test_without_either_setting_metrics_are_not_served() -> None:
    endpoint = MetricsEndpoint(settings(), CollectorRegistry())
    assert call(endpoint, SERVER_PORT="3000") == ("404 Not Found", b"not found")


@pytest.mark.parametrize(
    ("length", "too_large"), [("", False), ("1024", False), ("1025", True), ("nan", True)]
)
def test_a_body_over_the_limit_is_refused_by_its_length(length: str, too_large: bool) -> None:
    assert _body_too_large({"CONTENT_LENGTH": length}, 1024) is too_large


def test_no_http_app_without_a_signing_secret_even_with_an_app_token() -> None:
    # With only SLACK_APP_TOKEN, the app used to turn signature checks off.
    only_app_token = settings(
        slack_bot_token=SecretStr("xoxb-EXAMPLE"), slack_app_token=SecretStr("xapp-EXAMPLE")
    )
    client = fakeredis.FakeRedis()
    deps = BotDeps(only_app_token, client, JobQueue(client, only_app_token))
    with pytest.raises(ConfigError, match=r"^SLACK_SIGNING_SECRET: required in HTTP mode"):
        build_app(deps)


PERSON = {"user": "U_ALICE", "text": "hi"}


@pytest.mark.parametrize(
    ("event", "answered"),
    [
        (PERSON, "U_ALICE"),
        ({"user": "U_BOT", "bot_id": "B_BOT"}, None),  # the bot itself
        ({"user": "U_OTHER", "bot_id": "B_OTHER"}, None),  # another bot
        ({"user": "U_OTHER", "bot_profile": {"id": "B_OTHER"}}, None),
        ({"bot_id": "B_HOOK", "subtype": "bot_message"}, None),  # a webhook: no user
        ({"subtype": "bot_message", "user": "U_LEGACY"}, None),
        ({"text": "no user at all"}, None),
        ({"user": "U_FRIEND", "bot_id": "B_FRIEND"}, "U_FRIEND"),  # allowed
        ({"user": "U_BOT", "bot_id": "B_FRIEND"}, None),  # never itself, allowed or not
    ],
)
def test_only_people_and_allowed_bots_are_answered(
    event: dict[str, Any], answered: str | None
) -> None:
    assert asker(event, "U_BOT", ("B_FRIEND",)) == answered
