"""The Slack emulator through the real `slack_sdk.WebClient`, and the driver's signed requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from sandbox.server import Fault
from sandbox.slack import SlackEmulator
from sandbox.slack_driver import SlackDriver

SECRET = "sandbox-signing-secret"
RECIPIENT = {"recipient_team_id": "T_DEMO", "recipient_user_id": "U_ALICE"}


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def client(slack: SlackEmulator) -> WebClient:
    return WebClient(token="xoxb-sandbox", base_url=slack.url + "/api/")


def error_of(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call(*args, **kwargs)
    return str(caught.value.response["error"])


# -- auth and plain messages ---------------------------------------------------------------


def test_auth_test_names_the_bot(client: WebClient, slack: SlackEmulator) -> None:
    me = client.auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"]) == ("U_CHATOPS", "B_CHATOPS", "T_DEMO")


def test_a_call_without_a_bot_token_is_refused(slack: SlackEmulator) -> None:
    anonymous = WebClient(base_url=slack.url + "/api/")
    assert error_of(anonymous.auth_test) == "not_authed"
    user_token = WebClient(token="xoxp-someone", base_url=slack.url + "/api/")
    assert error_of(user_token.auth_test) == "invalid_auth"


def test_post_then_update_records_each_visible_edit(
    client: WebClient, slack: SlackEmulator
) -> None:
    seen: list[tuple[str, str]] = []
    slack.on_change.append(lambda event, channel, msg: seen.append((event, msg["text"])))
    posted = client.chat_postMessage(channel="C_OPS", text="Thinking…")
    client.chat_update(channel="C_OPS", ts=posted["ts"], text="The deploy failed on step 3.")
    message = slack.message("C_OPS", posted["ts"])
    assert message["text"] == "The deploy failed on step 3."
    assert [text for _, text in message["edits"]] == ["Thinking…", "The deploy failed on step 3."]
    assert seen == [("message_posted", "Thinking…"), ("message_updated", message["text"])]


def test_form_encoded_calls_work_like_json_ones(client: WebClient, slack: SlackEmulator) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    posted = client.api_call(
        "chat.postMessage",
        params={"channel": "C_OPS", "text": "hi", "blocks": json.dumps(blocks)},
    )
    assert slack.message("C_OPS", posted["ts"])["blocks"] == blocks


def test_only_the_bots_own_messages_can_be_updated(client: WebClient, slack: SlackEmulator) -> None:
    ts = slack.post_as_user("C_OPS", "U_ALICE", "why did the deploy fail?")
    assert error_of(client.chat_update, channel="C_OPS", ts=ts, text="x") == "cant_update_message"


def test_bad_ids_fail_like_slack(client: WebClient) -> None:
    assert error_of(client.chat_postMessage, channel="C_NOPE", text="x") == "channel_not_found"
    assert error_of(client.chat_update, channel="C_OPS", ts="1.000001", text="x") == (
        "message_not_found"
    )
    assert error_of(client.users_info, user="U_NOBODY") == "user_not_found"


def test_plain_text_is_limited_to_4000_characters_markdown_to_12000(client: WebClient) -> None:
    assert error_of(client.chat_postMessage, channel="C_OPS", text="x" * 4001) == "msg_too_long"
    client.chat_postMessage(channel="C_OPS", markdown_text="x" * 12_000)
    too_long = "x" * 12_001
    assert error_of(client.chat_postMessage, channel="C_OPS", markdown_text=too_long) == (
        "msg_too_long"
    )


def test_users_info_returns_seeded_people(client: WebClient) -> None:
    user = client.users_info(user="U_ALICE")["user"]
    assert (user["name"], user["is_bot"]) == ("alice", False)
    assert client.users_info(user="U_CHATOPS")["user"]["is_bot"] is True


# -- streaming -----------------------------------------------------------------------------


def test_chat_stream_accumulates_text_and_records_edits(
    client: WebClient, slack: SlackEmulator
) -> None:
    root = client.chat_postMessage(channel="C_OPS", text="/ask how do I rotate the password?")
    events: list[str] = []
    slack.on_change.append(lambda event, channel, msg: events.append(event))
    stream = client.chat_stream(channel="C_OPS", thread_ts=root["ts"], buffer_size=8, **RECIPIENT)
    stream.append(markdown_text="Run `vault ")
    stream.append(markdown_text="rotate` and ")
    during = slack.message("C_OPS", str(stream.ts))
    stream.stop(markdown_text="restart.", blocks=[{"type": "divider"}])
    reply = slack.message("C_OPS", str(stream.ts))
    assert during["streaming"] is True
    assert reply["streaming"] is False
    assert reply["text"] == "Run `vault rotate` and restart."
    assert reply["thread_ts"] == root["ts"]
    assert reply["blocks"] == [{"type": "divider"}]
    assert [text for _, text in reply["edits"]] == [
        "Run `vault ",
        "Run `vault rotate` and ",
        "Run `vault rotate` and restart.",
    ]
    assert events == ["stream_started", "stream_appended", "stream_stopped"]


def test_a_stopped_stream_takes_no_more_text(client: WebClient) -> None:
    root = client.chat_postMessage(channel="D_ALICE", text="question")
    started = client.chat_startStream(channel="D_ALICE", thread_ts=root["ts"], markdown_text="a")
    client.chat_appendStream(channel="D_ALICE", ts=started["ts"], markdown_text="b")
    stopped = client.chat_stopStream(channel="D_ALICE", ts=started["ts"])
    assert stopped["message"]["text"] == "ab"
    assert (
        error_of(client.chat_appendStream, channel="D_ALICE", ts=started["ts"], markdown_text="c")
        == "message_not_in_streaming_state"
    )


def test_a_stream_expires_after_its_lifetime() -> None:
    slack = SlackEmulator(stream_lifetime_s=0.2).start()
    try:
        client = WebClient(token="xoxb-sandbox", base_url=slack.url + "/api/")
        root = client.chat_postMessage(channel="D_BOB", text="question")
        ts = client.chat_startStream(channel="D_BOB", thread_ts=root["ts"], markdown_text="a")["ts"]
        time.sleep(0.3)
        assert (
            error_of(client.chat_appendStream, channel="D_BOB", ts=ts, markdown_text="b")
            == "message_not_in_streaming_state"
        )
        assert (
            error_of(client.chat_stopStream, channel="D_BOB", ts=ts)
            == "message_not_in_streaming_state"
        )
        assert slack.message("D_BOB", ts)["streaming"] is False
        client.chat_update(channel="D_BOB", ts=ts, text="a, finished by chat.update")
        assert slack.message("D_BOB", ts)["text"] == "a, finished by chat.update"
    finally:
        slack.stop()


def test_a_stream_stops_at_12000_characters(client: WebClient, slack: SlackEmulator) -> None:
    root = client.chat_postMessage(channel="D_ALICE", text="summarize DEMO-1")
    ts = client.chat_startStream(
        channel="D_ALICE", thread_ts=root["ts"], markdown_text="x" * 11_990
    )["ts"]
    assert (
        error_of(client.chat_appendStream, channel="D_ALICE", ts=ts, markdown_text="y" * 11)
        == "msg_too_long"
    )
    client.chat_appendStream(channel="D_ALICE", ts=ts, markdown_text="y" * 10)
    assert len(slack.message("D_ALICE", ts)["text"]) == 12_000


def test_streaming_into_a_channel_needs_a_recipient(client: WebClient) -> None:
    root = client.chat_postMessage(channel="C_OPS", text="question")
    assert error_of(client.chat_startStream, channel="C_OPS", thread_ts=root["ts"]) == (
        "missing_recipient_team_id"
    )


# -- rate limits and faults ----------------------------------------------------------------


def test_ratelimited_is_a_429_with_retry_after(client: WebClient, slack: SlackEmulator) -> None:
    slack.inject(Fault(kind="ratelimited", path="chat.postMessage", retry_after=7))
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C_OPS", text="hello")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"
    assert len(slack.requests_to("chat.postMessage")) == 1  # the default client does not retry


def test_the_opt_in_rate_limit_handler_retries_after_the_wait(slack: SlackEmulator) -> None:
    retrying = WebClient(
        token="xoxb-sandbox",
        base_url=slack.url + "/api/",
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.inject(Fault(kind="ratelimited", path="chat.postMessage", retry_after=0))
    assert retrying.chat_postMessage(channel="C_OPS", text="hello")["ok"] is True
    assert len(slack.requests_to("chat.postMessage")) == 2


def test_other_fault_kinds_become_slack_errors(client: WebClient, slack: SlackEmulator) -> None:
    slack.inject(Fault(kind="fatal_error", path="chat.appendStream", status=500))
    root = client.chat_postMessage(channel="D_ALICE", text="question")
    ts = client.chat_startStream(channel="D_ALICE", thread_ts=root["ts"])["ts"]
    with pytest.raises(SlackApiError) as caught:
        client.chat_appendStream(channel="D_ALICE", ts=ts, markdown_text="a")
    assert (caught.value.response.status_code, caught.value.response["error"]) == (
        500,
        "fatal_error",
    )


# -- threads, files, ephemerals ------------------------------------------------------------


def test_conversations_replies_pages_the_thread_oldest_first(
    client: WebClient, slack: SlackEmulator
) -> None:
    root = slack.post_as_user("C_GENERAL", "U_ALICE", "deploy failed?")
    replies = [client.chat_postMessage(channel="C_GENERAL", text="r0", thread_ts=root)["ts"]]
    replies.append(slack.post_as_user("C_GENERAL", "U_BOB", "r1", thread_ts=root))
    replies.append(slack.post_as_user("C_GENERAL", "U_ALICE", "r2", thread_ts=replies[0]))
    first = client.conversations_replies(channel="C_GENERAL", ts=root, limit=2)
    assert [m["text"] for m in first["messages"]] == ["deploy failed?", "r0"]
    assert first["messages"][0]["reply_count"] == 3
    assert first["has_more"] is True
    rest = client.conversations_replies(
        channel="C_GENERAL", ts=root, cursor=first["response_metadata"]["next_cursor"]
    )
    assert [m["ts"] for m in rest["messages"]] == replies[1:]
    assert rest["has_more"] is False
    assert [m["ts"] for m in slack.thread("C_GENERAL", root)] == [root, *replies]
    assert error_of(client.conversations_replies, channel="C_GENERAL", ts="9.000009") == (
        "thread_not_found"
    )


def test_ts_values_are_unique_and_increasing_under_concurrency(slack: SlackEmulator) -> None:
    def post(n: int) -> None:
        client = WebClient(token="xoxb-sandbox", base_url=slack.url + "/api/")
        for i in range(10):
            client.chat_postMessage(channel="C_GENERAL", text=f"{n}-{i}")

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps = [m["ts"] for m in slack.messages("C_GENERAL")]
    assert len(set(stamps)) == 80
    assert stamps == sorted(stamps, key=float)


def test_files_upload_v2_is_recorded_with_its_bytes(
    client: WebClient, slack: SlackEmulator
) -> None:
    root = client.chat_postMessage(channel="C_OPS", text="/llm-cost 7d")
    png = b"\x89PNG\r\n\x1a\n\x00\xffchart"
    result = client.files_upload_v2(
        channel="C_OPS", thread_ts=root["ts"], content=png, filename="cost.png", title="Spend"
    )
    [shared] = slack.files()
    assert (shared.name, shared.title, shared.data) == ("cost.png", "Spend", png)
    assert (shared.channel, shared.thread_ts) == ("C_OPS", root["ts"])
    assert result["file"]["id"] == shared.id
    reply = slack.thread("C_OPS", root["ts"])[-1]
    assert reply["files"][0]["name"] == "cost.png"


def test_post_ephemeral_is_seen_by_one_person(client: WebClient, slack: SlackEmulator) -> None:
    client.chat_postEphemeral(channel="C_OPS", user="U_BOB", text="Only you can see this")
    [note] = slack.ephemerals("C_OPS")
    assert (note["user"], note["text"]) == ("U_BOB", "Only you can see this")
    assert slack.messages("C_OPS") == []


def test_response_url_records_ephemeral_and_in_channel_replies(slack: SlackEmulator) -> None:
    url = slack.response_url_for("C_OPS", "U_ALICE")
    assert requests.post(url, json={"text": "Working on it…"}, timeout=5).status_code == 200
    requests.post(
        url, json={"text": "Spend today: $1.20", "response_type": "in_channel"}, timeout=5
    )
    assert [r["text"] for r in slack.responses(url)] == ["Working on it…", "Spend today: $1.20"]
    assert slack.ephemerals("C_OPS")[0]["user"] == "U_ALICE"
    assert [m["text"] for m in slack.messages("C_OPS")] == ["Spend today: $1.20"]


# -- the driver ----------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Stands in for the bot: acks every request and keeps the raw bytes it received."""

    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bot() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def is_signed(headers: dict[str, str], body: bytes) -> bool:
    return SignatureVerifier(SECRET).is_valid(
        body=body,
        timestamp=headers["x-slack-request-timestamp"],
        signature=headers["x-slack-signature"],
    )


def test_driver_slash_command_is_signed_and_form_encoded(
    slack: SlackEmulator, bot: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = bot
    ack = SlackDriver(url, SECRET, slack).slash("/ask", "how do I rotate?", "U_ALICE", "C_OPS")
    [(headers, body)] = received
    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert (ack.status, ack.elapsed_s > 0) == (200, True)
    assert is_signed(headers, body)
    assert (form["command"], form["text"], form["user_name"]) == (
        "/ask",
        "how do I rotate?",
        "alice",
    )
    assert form["response_url"].startswith(slack.url + "/response/")


def test_driver_mention_stores_the_message_then_sends_both_events(
    slack: SlackEmulator, bot: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = bot
    driver = SlackDriver(url, SECRET, slack)
    ack = driver.mention("U_BOB", "C_OPS", "why did the deploy fail?", also_as_message=True)
    first, second = (json.loads(body) for _, body in received)
    assert all(is_signed(headers, body) for headers, body in received)
    assert (first["event"]["type"], second["event"]["type"]) == ("app_mention", "message")
    assert first["event_id"] != second["event_id"]
    assert first["event"]["ts"] == second["event"]["ts"] == ack.ts
    assert first["event"]["text"] == "<@U_CHATOPS> why did the deploy fail?"
    assert slack.message("C_OPS", str(ack.ts))["user"] == "U_BOB"


def test_driver_dm_retry_and_forgery(
    slack: SlackEmulator, bot: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, received = bot
    driver = SlackDriver(url, SECRET, slack)
    sent = driver.dm("U_ALICE", "hello bot")
    driver.retry(sent.request)
    driver.dm("U_ALICE", "let me in", bad_signature=True)
    (h1, b1), (h2, b2), (h3, b3) = received
    assert json.loads(b1)["event"]["channel_type"] == "im"
    assert b2 == b1
    assert (h2["x-slack-retry-num"], h2["x-slack-retry-reason"]) == ("1", "http_timeout")
    assert is_signed(h1, b1) and is_signed(h2, b2)
    assert not is_signed(h3, b3)
