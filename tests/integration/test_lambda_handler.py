"""The Slack edge as an AWS Lambda function: API Gateway events (REST API v1 and HTTP API
v2 payloads) carrying Slack's signed requests, handled by `bot.lambda_handler` against a real
Redis — the job lands on the queue the workers read, and Slack gets its ack."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from pydantic import SecretStr
from rq import Queue
from rq.serializers import JSONSerializer
from slack_sdk.signature import SignatureVerifier

from bot import lambda_handler
from bot.lambda_handler import build_handler
from chatops.payloads import INTERACTIVE_QUEUE
from chatops.settings import Settings, load_settings
from sandbox.slack import SlackEmulator

SIGNING_SECRET = "lambda-signing-secret"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"


@dataclass(frozen=True)
class LambdaContext:
    """What the Lambda runtime passes as `context` (the adapter reads these two)."""

    function_name: str = "chatops-slack-edge"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:chatops-slack-edge"


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def settings(slack: SlackEmulator, redis_url: str) -> Settings:
    return load_settings(
        _env_file=None,
        redis_url=redis_url,
        slack_bot_token=SecretStr("xoxb-lambda"),
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        slack_api_url=f"{slack.url}/api/",
    )


def ask_form(slack: SlackEmulator, text: str, trigger: str | None = None) -> str:
    return urlencode(
        {
            "team_id": "T_DEMO",
            "channel_id": "C_OPS",
            "channel_name": "ops",
            "user_id": "U_ALICE",
            "user_name": "alice",
            "command": "/ask",
            "text": text,
            "api_app_id": slack.app_id,
            "response_url": slack.response_url_for("C_OPS", "U_ALICE"),
            "trigger_id": trigger or f"1.{int(time.time())}.{uuid.uuid4().hex[:16]}",
        }
    )


def signed_headers(body: str, secret: str = SIGNING_SECRET) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or "",
    }


def rest_api_event(body: str, headers: dict[str, str]) -> dict[str, Any]:
    """API Gateway REST API (payload format 1.0)."""
    return {
        "resource": "/slack/events",
        "path": "/slack/events",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "requestContext": {"httpMethod": "POST", "path": "/prod/slack/events", "stage": "prod"},
        "body": body,
        "isBase64Encoded": False,
    }


def http_api_event(body: str, headers: dict[str, str]) -> dict[str, Any]:
    """API Gateway HTTP API (payload format 2.0): lower-case headers, a base64 body."""
    return {
        "version": "2.0",
        "routeKey": "POST /slack/events",
        "rawPath": "/slack/events",
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "body": base64.b64encode(body.encode()).decode(),
        "isBase64Encoded": True,
    }


def queued(redis_url: str) -> list[dict[str, Any]]:
    queue = Queue(
        INTERACTIVE_QUEUE, connection=redis.Redis.from_url(redis_url), serializer=JSONSerializer
    )
    return [job.args[0] for job in queue.get_jobs()]


@pytest.mark.parametrize("event_of", [rest_api_event, http_api_event])
def test_a_signed_ask_is_queued_and_acked(
    settings: Settings, slack: SlackEmulator, redis_url: str, event_of: Any
) -> None:
    handle = build_handler(settings)
    body = ask_form(slack, "how do I rotate the staging DB password?")

    response = handle(event_of(body, signed_headers(body)), LambdaContext())

    assert response["statusCode"] == 200
    assert response["body"] == ""  # the empty ack: the answer comes in the thread
    [job] = queued(redis_url)
    assert (job["kind"], job["user"], job["channel"]) == ("ask", "U_ALICE", "C_OPS")
    assert job["text"] == "how do I rotate the staging DB password?"


def test_a_retried_delivery_is_acked_but_queued_once(
    settings: Settings, slack: SlackEmulator, redis_url: str
) -> None:
    handle = build_handler(settings)
    body = ask_form(slack, "what does HTTP 502 mean?", trigger="7.1700000000.abcdef0123456789")

    for _ in range(2):
        response = handle(rest_api_event(body, signed_headers(body)), LambdaContext())
        assert response["statusCode"] == 200

    assert len(queued(redis_url)) == 1


def test_a_request_not_signed_by_slack_is_refused_and_nothing_is_queued(
    settings: Settings, slack: SlackEmulator, redis_url: str
) -> None:
    handle = build_handler(settings)
    body = ask_form(slack, "drop the prod database")

    response = handle(rest_api_event(body, signed_headers(body, "forged")), LambdaContext())

    assert response["statusCode"] == 401
    assert queued(redis_url) == []


def test_a_pasted_secret_never_reaches_the_queue(
    settings: Settings, slack: SlackEmulator, redis_url: str
) -> None:
    handle = build_handler(settings)
    body = ask_form(slack, f"why does aws_secret_access_key={AWS_SECRET} fail?")

    response = handle(http_api_event(body, signed_headers(body)), LambdaContext())

    assert response["statusCode"] == 200
    assert AWS_SECRET not in str(response["body"])
    [job] = queued(redis_url)
    assert AWS_SECRET not in job["text"] and "[redacted" in job["text"]


def test_the_entry_point_builds_from_the_functions_environment(
    settings: Settings, slack: SlackEmulator, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-lambda")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", f"{slack.url}/api/")
    monkeypatch.setattr(lambda_handler, "_built", None)
    body = ask_form(slack, "is staging up?")

    response = lambda_handler.handler(rest_api_event(body, signed_headers(body)), LambdaContext())

    assert response["statusCode"] == 200
    assert [job["text"] for job in queued(redis_url)] == ["is staging up?"]
