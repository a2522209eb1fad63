"""`SlackReply` through the real slack_sdk client against the Slack emulator: what a person
sees in the thread when Slack refuses, expires, rate-limits or caps a streamed message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from sandbox.server import Fault
from sandbox.slack import SlackEmulator
from workers.reply_state import ReplyState
from workers.slack_reply import SUPERSEDED, SlackReply

CHANNEL = "C_OPS"
WORDS = [f" word{i:05d}" * 4 for i in range(1000)]  # 40,000 characters in 1,000 deltas


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def client(slack: SlackEmulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=f"{slack.url}/api/")


def _reply(client: WebClient, redis_url: str, root: str, request_id: str = "r1") -> SlackReply:
    state = ReplyState(redis.Redis.from_url(redis_url), request_id)
    return SlackReply(
        client,
        state,
        channel=CHANNEL,
        thread_ts=lambda: root,
        recipient_user="U_ALICE",
        recipient_team="T_DEMO",
        flush_interval_s=0.0,
    )


def _bot_texts(slack: SlackEmulator, root: str) -> list[str]:
    return [m["text"] for m in slack.thread(CHANNEL, root)[1:] if m.get("bot_id")]


def test_a_long_answer_continues_in_follow_up_messages(
    slack: SlackEmulator, client: WebClient, redis_url: str
) -> None:
    root = slack.post_as_user(CHANNEL, "U_ALICE", "question")
    reply = _reply(client, redis_url, root)
    for delta in WORDS:
        reply.append(delta)
    reply.finish("_footer_")

    texts = _bot_texts(slack, root)
    assert len(texts) == 4
    assert all(len(t) <= 12_000 for t in texts)
    assert "".join(texts) == "".join(WORDS) + "\n\n_footer_"
    assert not any(m["streaming"] for m in slack.thread(CHANNEL, root))


def test_an_expired_stream_is_finished_with_chat_update(
    slack: SlackEmulator, client: WebClient, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = slack.post_as_user(CHANNEL, "U_ALICE", "question")
    reply = _reply(client, redis_url, root)
    for delta in WORDS[:50]:
        reply.append(delta)
    monkeypatch.setattr(slack.store, "stream_lifetime_s", 0.0)
    for delta in WORDS[50:100]:
        reply.append(delta)
    reply.finish()

    assert _bot_texts(slack, root) == ["".join(WORDS[:100])]
    assert slack.requests_to("chat.update")


def test_a_refused_stream_falls_back_to_post_and_update(
    slack: SlackEmulator, client: WebClient, redis_url: str
) -> None:
    root = slack.post_as_user(CHANNEL, "U_ALICE", "question")
    slack.inject(Fault(kind="not_allowed_token_type", path="chat.startStream"))
    reply = _reply(client, redis_url, root)
    for delta in WORDS[:30]:
        reply.append(delta)
    reply.finish("_footer_")

    assert _bot_texts(slack, root) == ["".join(WORDS[:30]) + "\n\n_footer_"]
    assert len(slack.requests_to("chat.postMessage")) == 1


def test_a_rate_limited_append_waits_for_retry_after_and_loses_nothing(
    slack: SlackEmulator, client: WebClient, redis_url: str
) -> None:
    root = slack.post_as_user(CHANNEL, "U_ALICE", "question")
    slack.inject(Fault(kind="ratelimited", path="chat.appendStream", retry_after=1))
    reply = _reply(client, redis_url, root)
    for delta in WORDS[:40]:
        reply.append(delta)
    reply.finish()

    appends = slack.requests_to("chat.appendStream")
    assert appends[1].at - appends[0].at >= 1.0  # nothing sent inside the Retry-After window
    assert _bot_texts(slack, root) == ["".join(WORDS[:40])]


def test_a_retried_reply_rewrites_its_message_instead_of_posting_another(
    slack: SlackEmulator, client: WebClient, redis_url: str
) -> None:
    root = slack.post_as_user(CHANNEL, "U_ALICE", "question")
    first = _reply(client, redis_url, root)
    for delta in WORDS[:20]:
        first.append(delta)  # the worker dies here: no finish()

    second = _reply(client, redis_url, root)
    for delta in WORDS[:30]:
        second.append(delta)
    second.finish("_footer_")

    assert _bot_texts(slack, root) == ["".join(WORDS[:30]) + "\n\n_footer_"]


def test_a_retry_that_needs_fewer_messages_marks_the_rest_superseded(
    slack: SlackEmulator, client: WebClient, redis_url: str
) -> None:
    root = slack.post_as_user(CHANNEL, "U_ALICE", "question")
    first = _reply(client, redis_url, root)
    for delta in WORDS[:500]:
        first.append(delta)  # two messages' worth, then the worker dies

    second = _reply(client, redis_url, root)
    for delta in WORDS[:10]:
        second.append(delta)
    second.finish()

    assert _bot_texts(slack, root) == ["".join(WORDS[:10]), SUPERSEDED]


def test_a_rate_limited_stop_at_a_roll_over_is_stopped_at_the_end(
    slack: SlackEmulator, client: WebClient, redis_url: str
) -> None:
    root = slack.post_as_user(CHANNEL, "U_ALICE", "question")
    waiting = WebClient(
        token="xoxb-test",
        base_url=f"{slack.url}/api/",
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    state = ReplyState(redis.Redis.from_url(redis_url), "r-rollover")
    reply = SlackReply(
        client,
        state,
        channel=CHANNEL,
        thread_ts=lambda: root,
        recipient_user="U_ALICE",
        recipient_team="T_DEMO",
        flush_interval_s=0.0,
        waiting_client=waiting,
    )
    slack.inject(Fault(kind="ratelimited", path="chat.stopStream", retry_after=1))
    for delta in WORDS:
        reply.append(delta)  # 40,000 characters: the first roll-over's stop is refused
    reply.finish("_footer_")

    assert "".join(_bot_texts(slack, root)) == "".join(WORDS) + "\n\n_footer_"
    assert not any(m["streaming"] for m in slack.thread(CHANNEL, root)), "every stream stopped"
    stops = slack.requests_to("chat.stopStream")
    assert len(stops) == len(_bot_texts(slack, root)) + 1  # one was refused and made again
