"""A chat completion body as the API turns it into the cost engine's request — or refuses it
in OpenAI's shape, naming the parameter to change — before any money is spent."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from api.budgets import ApiCaps
from api.conversation import ApiLimits, build_request
from api.errors import ApiError, reply_for
from api.models import ModelCatalog, ModelChoice
from api.schema import parse_request
from api.tokens import ApiToken
from gateway.errors import (
    AllRoutesFailedError,
    BudgetExceededError,
    InputTooLargeError,
    ModelsMisconfiguredError,
)
from gateway.types import Message, Route

NOVA = "amazon.nova-micro-v1:0"
HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
LLAMA = "llama-3.1-8b-instruct"
TIERS = {
    "small": (Route("bedrock", NOVA), Route("ec2", LLAMA)),
    "medium": (Route("bedrock", HAIKU), Route("ec2", LLAMA)),
    "large": (Route("bedrock", SONNET), Route("bedrock", HAIKU)),
}
TOKEN = ApiToken("tok_abc", "platform", "alice", created_at=0.0)
LIMITS = ApiLimits(max_output_tokens=4096, default_max_tokens=1024, max_input_tokens=2_000)
AUTO = ModelChoice("chatops-auto", "medium")
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"


def body(**fields: Any) -> bytes:
    return json.dumps(
        {"model": "chatops-auto", "messages": [{"role": "user", "content": "hi"}], **fields}
    ).encode()


def refusal(raw: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_request(raw)
    return caught.value


def built(limits: ApiLimits = LIMITS, choice: ModelChoice = AUTO, **fields: Any) -> Any:
    return build_request(
        parse_request(body(**fields)), token=TOKEN, choice=choice, limits=limits, request_id="r1"
    )


def build_refusal(**fields: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        built(**fields)
    return caught.value


# -- the body ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"{not json", "could not parse the JSON body"),
        (b"\xff\xfe", "it is not UTF-8"),
        (b"[1, 2]", "it is a JSON list, not an object"),
        (b"", "could not parse the JSON body"),
    ],
)
def test_a_body_that_is_not_a_json_object(raw: bytes, says: str) -> None:
    error = refusal(raw)
    assert (error.status, error.type) == (400, "invalid_request_error")
    assert says in error.public_message


@pytest.mark.parametrize(
    ("fields", "param", "says"),
    [
        ({"messages": None}, "messages", "Invalid value for 'messages'"),
        ({"messages": []}, "messages", "at least 1 item"),
        ({"model": ""}, "model", "at least 1 character"),
        ({"temperature": 3}, "temperature", "less than or equal to 2"),
        ({"max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
        ({"messages": [{"content": "hi"}]}, "messages[0].role", "Missing required parameter"),
        ({"n": 2}, "n", "n must be 1"),
    ],
)
def test_each_bad_field_is_named(fields: dict[str, Any], param: str, says: str) -> None:
    error = refusal(body(**fields))
    assert (error.status, error.param) == (400, param)
    assert says in error.public_message


def test_missing_messages_is_missing() -> None:
    error = refusal(json.dumps({"model": "chatops-auto"}).encode())
    assert error.public_message == "Missing required parameter: 'messages'."
    assert error.param == "messages"


def test_fields_this_server_does_not_use_are_ignored() -> None:
    parsed = parse_request(body(top_p=0.5, user="x", tools=[], presence_penalty=0))
    assert parsed.model == "chatops-auto"


# -- the engine's request ------------------------------------------------------------------------


def test_the_request_speaks_for_the_token_and_its_team() -> None:
    request = built()
    assert (request.user, request.workspace, request.channel) == ("tok_abc", "platform", "")
    assert (request.source, request.task, request.scope) == ("api", "api", "team:platform")
    assert request.request_id == "r1"
    assert request.messages == (Message("user", "hi"),)


def test_system_and_developer_messages_are_the_system_text_and_turns_alternate() -> None:
    request = built(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use bullet points."}]},
            {"role": "user", "content": "first"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
            {"role": "assistant", "content": "an answer"},
            {"role": "assistant", "content": None},
            {"role": "user", "content": "third"},
        ]
    )
    assert request.system == "Be brief.\n\nUse bullet points."
    assert request.cache_system
    assert request.messages == (
        Message("user", "first\n\nsecond"),
        Message("assistant", "an answer"),
        Message("user", "third"),
    )


@pytest.mark.parametrize(
    ("messages", "param", "says"),
    [
        ([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "messages",
         "must be from the user"),
        ([{"role": "system", "content": "a"}], "messages", "must be from the user"),
        ([{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}], "messages[1].role",
         "'tool' is not supported"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
         "messages[0].content", "only text parts"),
    ],
)  # fmt: skip
def test_conversations_the_models_cannot_take(
    messages: list[dict[str, Any]], param: str, says: str
) -> None:
    error = build_refusal(messages=messages)
    assert (error.status, error.param) == (400, param)
    assert says in error.public_message


def test_max_tokens_within_the_limit_or_refused() -> None:
    assert built().max_output_tokens == LIMITS.default_max_tokens
    assert built(max_tokens=200).max_output_tokens == 200
    assert built(max_tokens=200, max_completion_tokens=300).max_output_tokens == 300

    error = build_refusal(max_tokens=5_000)
    assert error.param == "max_tokens"
    assert error.public_message == (
        "max_tokens is too large: 5,000. This server supports at most 4,096 completion tokens."
    )
    assert build_refusal(max_completion_tokens=4_097).param == "max_completion_tokens"


def test_a_message_list_beyond_the_token_budget() -> None:
    assert built(messages=[{"role": "user", "content": "x" * 8_000}]).messages
    error = build_refusal(messages=[{"role": "user", "content": "x" * 8_004}])
    assert (error.status, error.code) == (400, "context_length_exceeded")
    assert "maximum context length is 2,000 tokens" in error.public_message
    assert "resulted in 2,001 tokens" in error.public_message


def test_secrets_are_redacted_before_the_engine_sees_them() -> None:
    text = f"why does aws_secret_access_key = {AWS_SECRET} fail?"
    request = built(
        messages=[{"role": "system", "content": text}, {"role": "user", "content": text}]
    )
    assert AWS_SECRET not in request.system
    assert AWS_SECRET not in request.messages[0].text
    assert "[redacted" in request.messages[0].text
    assert request.redactions == 2

    trusted = ApiLimits(4096, 1024, 2_000, unredacted_teams=frozenset({"platform"}))
    kept = built(limits=trusted, messages=[{"role": "user", "content": text}])
    assert AWS_SECRET in kept.messages[0].text and kept.redactions == 0


def test_temperatures_above_what_bedrock_takes_are_sent_as_one() -> None:
    assert built(temperature=1.7).temperature == 1.0
    assert built(temperature=0.3).temperature == 0.3


# -- model names ---------------------------------------------------------------------------------


def test_model_names_pick_a_tier_or_a_model() -> None:
    catalog = ModelCatalog(TIERS, "medium")
    assert catalog.resolve("chatops-auto") == ModelChoice("chatops-auto", "medium")
    assert catalog.resolve("chatops-large") == ModelChoice("chatops-large", "large", "large")
    assert catalog.resolve("ChatOps-Small").override_tier == "small"
    # A model runs in the tier it is primary of, else the first tier that lists it.
    assert catalog.resolve(HAIKU) == ModelChoice(HAIKU, "medium", "medium", HAIKU)
    assert catalog.resolve(LLAMA) == ModelChoice(LLAMA, "small", "small", LLAMA)
    assert catalog.names == (
        "chatops-auto", "chatops-small", "chatops-medium", "chatops-large",
        NOVA, HAIKU, SONNET, LLAMA,
    )  # fmt: skip


def test_an_unknown_model_is_a_404_that_lists_the_valid_names() -> None:
    with pytest.raises(ApiError) as caught:
        ModelCatalog(TIERS, "medium").resolve("gpt-4o")
    error = caught.value
    assert (error.status, error.code, error.param) == (404, "model_not_found", "model")
    assert "`gpt-4o` does not exist here" in error.public_message
    assert "chatops-auto" in error.public_message and LLAMA in error.public_message


def test_listing_is_openais_model_list() -> None:
    listing = ModelCatalog(TIERS, "medium").listing(created=1_700_000_000)
    assert listing["object"] == "list"
    assert listing["data"][0] == {
        "id": "chatops-auto",
        "object": "model",
        "created": 1_700_000_000,
        "owned_by": "chatops",
    }


# -- errors and budgets ----------------------------------------------------------------------------


RESETS = datetime.datetime(2030, 1, 2, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("error", "status", "kind", "code"),
    [
        (InputTooLargeError("long"), 400, "invalid_request_error", "context_length_exceeded"),
        (AllRoutesFailedError("down", failovers=()), 503, "server_error", "service_unavailable"),
        (ModelsMisconfiguredError("x", failovers=()), 500, "server_error", "models_misconfigured"),
        (
            BudgetExceededError(
                scope="user", budget_name="x", remaining_micro_usd=5, resets_at=RESETS
            ),
            429,
            "insufficient_quota",
            "budget_exceeded",
        ),
    ],
)
def test_engine_errors_in_openais_shape(
    error: Exception, status: int, kind: str, code: str
) -> None:
    reply = reply_for(error)  # type: ignore[arg-type]
    assert (reply.status, reply.type, reply.code) == (status, kind, code)
    assert set(reply.body["error"]) == {"message", "type", "param", "code"}
    assert reply.body["error"]["message"] == error.public_message  # type: ignore[attr-defined]


def test_a_budget_refusal_is_not_to_be_retried_by_the_client() -> None:
    error = BudgetExceededError(
        scope="user", budget_name="x", remaining_micro_usd=5, resets_at=RESETS
    )
    assert ("x-should-retry", "false") in reply_for(error).headers


def test_caps_per_token_and_team() -> None:
    caps = ApiCaps(default_token_micro_usd=1_000_000, team_micro_usd=20_000_000)
    own = ApiToken("tok_own", "platform", "alice", 0.0, daily_budget_micro_usd=250_000)
    unlimited = ApiToken("tok_free", "platform", "bob", 0.0, daily_budget_micro_usd=0)
    for token in (own, unlimited):
        caps.remember(token)

    assert caps("tok_own", "", "platform").user_micro_usd == 250_000
    assert caps("tok_free", "", "platform").user_micro_usd == 0
    assert caps("tok_unseen", "", "platform").user_micro_usd == 1_000_000
    assert caps("tok_own", "", "platform").workspace_micro_usd == 20_000_000
    assert caps("tok_own", "", "platform").channel_micro_usd == 0


def test_a_budget_refusal_says_whose_budget_what_is_left_and_when_it_resets() -> None:
    caps = ApiCaps(default_token_micro_usd=1_000_000, team_micro_usd=20_000_000)
    token = ApiToken("tok_own", "platform", "alice", 0.0, daily_budget_micro_usd=250_000)
    over_token = BudgetExceededError(
        scope="user", budget_name="x", remaining_micro_usd=1_234, resets_at=RESETS
    )
    over_team = BudgetExceededError(
        scope="workspace", budget_name="x", remaining_micro_usd=0, resets_at=RESETS
    )
    assert caps.explain(over_token, token) == (
        "This request would go over this token's daily budget of $0.25: $0.0012 left."
        " It resets at 00:00 UTC on 2030-01-02."
    )
    assert caps.explain(over_team, token).startswith(
        "This request would go over team platform's daily budget of $20.00: $0.00 left."
    )
