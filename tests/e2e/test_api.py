"""The OpenAI-compatible API as an editor plugin or a script meets it: the real `openai`
client against `chatops api` under gunicorn, the emulators behind it, a real Redis — plain and
streamed answers, the ledger row each one writes, caches that stay within a team, tokens made
and revoked with `chatops api-token`, budgets, and bad input answered in OpenAI's shape."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import openai
import pytest
import redis

from api.tokens import ApiToken, TokenStore
from chatops.stack import Stack
from gateway.budgets import BudgetCaps, Budgets
from gateway.ledger import Ledger, LedgerRecord
from sandbox.llm import Pace
from tests.e2e.conftest import expected_answer, running_stack, wait_for

NOVA = "amazon.nova-micro-v1:0"


@pytest.fixture(scope="module")
def api_stack(redis_server: str) -> Iterator[Stack]:
    for stack in running_stack(redis_server, 8, {"API_MAX_INPUT_TOKENS": "2000"}):
        stack.start_api()
        yield stack


_clients: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def emulators(api_stack: Stack) -> Iterator[None]:
    for emulator in (api_stack.bedrock, api_stack.ec2):
        emulator.pace = Pace(ttft_ms=5, tokens_per_s=2_000)
    yield
    for emulator in (api_stack.bedrock, api_stack.ec2):
        emulator.clear()
    while _clients:
        _clients.pop().close()


def chatops(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """The `chatops` command as an operator runs it, with the stack's settings."""
    return subprocess.run(
        [sys.executable, "-m", "chatops.cli", *args],
        env=stack.env,
        cwd=stack.log_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )


def new_token(stack: Stack, team: str, user: str = "alice", **budget: int) -> tuple[str, ApiToken]:
    store = TokenStore(redis.Redis.from_url(stack.redis_url))
    return store.create(team, user, budget.get("daily_budget_micro_usd"))


def client(stack: Stack, token: str) -> openai.OpenAI:
    """The client an editor plugin or a script makes: the API's base URL and a token."""
    _clients.append(openai.OpenAI(base_url=f"{stack.api_url}/v1", api_key=token))
    return _clients[-1]


def ledger_row(stack: Stack, completion_id: str) -> LedgerRecord:
    request_id = "api-" + completion_id.removeprefix("chatcmpl-")
    ledger = Ledger(redis.Redis.from_url(stack.redis_url))

    def row() -> LedgerRecord | None:
        found = [
            r
            for r in ledger.records(time.time() - 300, time.time() + 1)
            if r.request_id == request_id
        ]
        return found[0] if found else None

    return wait_for(row, f"the ledger row of {request_id}")


def model_calls(stack: Stack) -> int:
    return len(stack.bedrock.requests_to("/converse-stream")) + len(
        stack.ec2.requests_to("/chat/completions")
    )


# -- answers -----------------------------------------------------------------------------------


def test_a_plain_completion_and_its_ledger_row(api_stack: Stack) -> None:
    token, record = new_token(api_stack, "platform")

    answer = client(api_stack, token).chat.completions.create(
        model="chatops-small",
        messages=[{"role": "user", "content": "What does HTTP 502 mean?"}],
        max_tokens=120,
    )

    [model_request] = api_stack.bedrock.requests_to("/converse-stream")
    assert answer.choices[0].message.content == expected_answer(model_request, NOVA)
    assert answer.choices[0].finish_reason in ("stop", "length")
    assert answer.model == NOVA
    row = ledger_row(api_stack, answer.id)
    assert (row.source, row.workspace, row.user) == ("api", "platform", record.token_id)
    assert (row.model, row.tier) == (NOVA, "small")
    assert answer.usage is not None
    assert answer.usage.prompt_tokens == row.total_input_tokens
    assert answer.usage.completion_tokens == row.output_tokens


def test_a_streamed_completion_ends_with_its_usage(api_stack: Stack) -> None:
    token, record = new_token(api_stack, "platform")
    deltas, chunks = [], []

    stream = client(api_stack, token).chat.completions.create(
        model="chatops-auto",
        messages=[
            {"role": "system", "content": "Answer in one paragraph."},
            {"role": "user", "content": "How do I renew the VPN certificate?"},
        ],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        chunks.append(chunk)
        if chunk.choices and chunk.choices[0].delta.content:
            deltas.append(chunk.choices[0].delta.content)

    [model_request] = api_stack.bedrock.requests_to("/converse-stream") or (
        api_stack.ec2.requests_to("/chat/completions")
    )
    row = ledger_row(api_stack, chunks[0].id)
    assert len(deltas) > 3
    assert "".join(deltas) == expected_answer(model_request, row.model)
    *_, finish, last = chunks
    assert finish.choices[0].finish_reason in ("stop", "length")
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == row.output_tokens
    assert last.usage.prompt_tokens == row.total_input_tokens
    assert last.model == row.model
    assert (row.source, row.workspace, row.user) == ("api", "platform", record.token_id)


def test_caches_never_cross_teams(api_stack: Stack) -> None:
    question = [{"role": "user", "content": "How do I rotate the staging DB password?"}]
    platform, _ = new_token(api_stack, "platform", "alice")
    platform_too, _ = new_token(api_stack, "platform", "bob")
    data, _ = new_token(api_stack, "data", "carol")

    first = client(api_stack, platform).chat.completions.create(
        model="chatops-auto", messages=question
    )
    client(api_stack, data).chat.completions.create(model="chatops-auto", messages=question)
    assert model_calls(api_stack) == 2  # the other team's identical question is asked again

    again = client(api_stack, platform_too).chat.completions.create(
        model="chatops-auto", messages=question
    )
    assert model_calls(api_stack) == 2  # the same team's is answered from the cache
    assert again.choices[0].message.content == first.choices[0].message.content


# -- tokens and budgets --------------------------------------------------------------------------


def test_tokens_from_the_cli_work_until_revoked(api_stack: Stack) -> None:
    created = chatops(
        api_stack, "api-token", "create", "--team", "ci", "--user", "deploy-bot",
        "--daily-budget-usd", "2.50",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("chatops-") and "\n" not in token
    token_id = created.stderr.split()[1]
    assert "daily budget $2.50" in created.stderr
    models = client(api_stack, token).models.list()
    assert {"chatops-auto", "chatops-small", NOVA} <= {m.id for m in models.data}

    listed = chatops(api_stack, "api-token", "list")
    [line] = [line for line in listed.stdout.splitlines() if line.startswith(token_id)]
    assert line.split()[1:5] == ["ci", "deploy-bot", "$2.50", "$0.00"]

    revoked = chatops(api_stack, "api-token", "revoke", token_id)
    assert revoked.returncode == 0 and f"revoked {token_id}" in revoked.stdout
    with pytest.raises(openai.AuthenticationError) as refused:
        client(api_stack, token).chat.completions.create(
            model="chatops-auto", messages=[{"role": "user", "content": "hi"}]
        )
    assert refused.value.status_code == 401
    assert "This API key was revoked on" in refused.value.message
    with pytest.raises(openai.AuthenticationError, match="Incorrect API key"):
        client(api_stack, "chatops-never-issued").models.list()
    assert model_calls(api_stack) == 0


def test_a_token_over_its_daily_budget_is_refused_with_429(api_stack: Stack) -> None:
    token, record = new_token(api_stack, "platform", daily_budget_micro_usd=200)
    spent_earlier = Budgets(redis.Redis.from_url(api_stack.redis_url), BudgetCaps(200))
    spent_earlier.reserve(record.token_id, "", "platform", 195)

    with pytest.raises(openai.RateLimitError) as refused:
        client(api_stack, token).chat.completions.create(
            model="chatops-small", messages=[{"role": "user", "content": "Is staging up?"}]
        )

    assert refused.value.status_code == 429
    assert refused.value.code == "budget_exceeded"
    assert isinstance(refused.value.body, dict)
    assert str(refused.value.body["message"]).startswith(
        "This request would go over this token's daily budget of $0.000200: $0.000005 left."
        " It resets at 00:00 UTC on "
    )
    assert model_calls(api_stack) == 0
    # One refusal, not retried: the client was told not to (x-should-retry: false).
    log = (api_stack.log_dir, "api.log")
    with open("/".join(log)) as lines:
        refusals = [line for line in lines if f"token={record.token_id}" in line]
    assert len(refusals) == 1 and "status=429" in refusals[0]


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "param", "says"),
    [
        (b"{\"model\": \"chatops-auto\", \"messages\": [", 400, None, "could not parse the JSON"),
        (b'{"model": "chatops-auto"}', 400, "messages", "Missing required parameter"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}', 404, "model",
         "does not exist here"),
        (b'{"model": "chatops-auto", "max_tokens": 100000, "messages": [{"role": "user",'
         b' "content": "hi"}]}', 400, "max_tokens", "max_tokens is too large"),
        (json.dumps({"model": "chatops-auto", "messages": [{"role": "user", "content": "x"
         * 9000}]}).encode(), 400, "messages", "maximum context length is 2,000 tokens"),
    ],
)  # fmt: skip
def test_bad_input_gets_openais_error_shape(
    api_stack: Stack, body: bytes, status: int, param: str | None, says: str
) -> None:
    token, _ = new_token(api_stack, "platform")

    request = urllib.request.Request(
        f"{api_stack.api_url}/v1/chat/completions",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)

    assert refused.value.code == status
    error = json.loads(refused.value.read())["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert says in error["message"]
    assert model_calls(api_stack) == 0
    assert "Traceback" not in api_stack.logs()


def test_a_client_gone_mid_stream_is_still_recorded_and_settled(api_stack: Stack) -> None:
    api_stack.bedrock.pace = Pace(ttft_ms=5, tokens_per_s=40)  # a few seconds of answer
    token, record = new_token(api_stack, "platform")
    body = {
        "model": "chatops-small",
        "stream": True,
        "max_tokens": 300,
        "messages": [{"role": "user", "content": "Explain our whole deploy pipeline, every step."}],
    }
    connection = http.client.HTTPConnection(urlsplit(api_stack.api_url).netloc, timeout=10)
    connection.request(
        "POST",
        "/v1/chat/completions",
        body=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    first_event = response.readline()
    for _ in range(5):  # a few more deltas, then the client goes away
        response.readline()
    response.close()
    connection.close()
    completion_id = json.loads(first_event.removeprefix(b"data: "))["id"]

    row = ledger_row(api_stack, completion_id)
    assert row.estimated_usage and 0 < row.output_tokens < 300
    budgets = Budgets(redis.Redis.from_url(api_stack.redis_url), BudgetCaps())
    assert budgets.spent_micro_usd("user", record.token_id) == row.cost_micro_usd
    assert "Traceback" not in api_stack.logs()


# -- reports ---------------------------------------------------------------------------------------


def test_chatops_cost_shows_api_spend_by_team_and_token(api_stack: Stack) -> None:
    token, record = new_token(api_stack, "reporting")
    client(api_stack, token).chat.completions.create(
        model="chatops-small", messages=[{"role": "user", "content": "Who is on call?"}]
    )

    report = chatops(api_stack, "cost", "--period", "today")

    assert report.returncode == 0, report.stderr
    for heading in ("by edge", "by API team", "by API token"):
        assert heading in report.stdout
    [team_line] = [
        line for line in report.stdout.splitlines() if line.strip().startswith("reporting")
    ]
    assert team_line.split()[1] == "1"  # one request
    assert record.token_id in report.stdout
