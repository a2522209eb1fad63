"""Jira summaries through the whole running system — the bot under gunicorn, real interactive
and bulk workers, a real redis-server, the Jira, Slack and Bedrock emulators through their
real clients — as a person sees them in Slack and in Jira."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from pydantic import SecretStr
from rq import Queue
from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from chatops import messages
from chatops.demo import is_finished_answer
from chatops.payloads import BULK_QUEUE, POST_SUMMARY_ACTION
from chatops.settings import load_settings
from chatops.stack import SIGNING_SECRET, Stack, local_stack
from gateway.ledger import Ledger
from gateway.shaping import ShapePolicy
from gateway.windowing import split_windows
from integrations.jira.client import JiraClient, connect
from integrations.jira.marker import find_marker
from integrations.jira.text import body_to_text, issue_document
from prompts import load_all
from sandbox.llm import Pace
from sandbox.server import Fault, RecordedRequest
from sandbox.slack_driver import SlackDriver
from tests.e2e.conftest import E2E_ENV, expected_answer, prompt_blocks, wait_for
from tests.hostile_inputs import SECRETS
from workers.summarizer import plan_for

CHANNEL = "C_OPS"
AWS_SECRET_LINE = f"aws_secret_access_key = {SECRETS['AWS secret key']}"
_STAMP = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d[^\]]*\] [^:\n]+", re.MULTILINE)
WEBHOOK_SECRET = "jira-webhook-secret"
BOT_ACCOUNT = "sandbox@example.com"  # JIRA_USER of the stack: the bot's Jira account
MAP_SYSTEM = "You take notes on one part"
REDUCE_SYSTEM = "You summarize a long Jira issue or Slack thread"
SINGLE_SYSTEM = "You summarize a Jira issue or a Slack thread"


@pytest.fixture(scope="module")
def stack(redis_server: str) -> Iterator[Stack]:
    url = redis_server.rsplit("/", 1)[0] + "/5"
    redis.Redis.from_url(url).flushdb()
    env = {
        **E2E_ENV,
        "JIRA_PROJECTS": "DEMO,OPS,DIG",
        "JIRA_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "JIRA_TRIGGER_MIN_NEW_COMMENTS": "1",
        "JIRA_MAX_RETRY_WAIT_S": "5",
    }
    with local_stack(url, env=env) as running:
        running.start_worker(BULK_QUEUE)
        try:
            yield running
        except BaseException:
            print(running.logs())
            raise


@pytest.fixture
def driver(stack: Stack) -> Iterator[SlackDriver]:
    stack.bedrock.pace = Pace(ttft_ms=5, tokens_per_s=3000)
    stack.bedrock.clear()
    yield SlackDriver(stack.bot_url, SIGNING_SECRET, stack.slack)
    stack.bedrock.clear()


def jira_client(stack: Stack) -> JiraClient:
    settings = load_settings(
        _env_file=None,
        jira_url=stack.jira.url,
        jira_user=BOT_ACCOUNT,
        jira_api_token=SecretStr("sandbox"),
    )
    return JiraClient(connect(settings))


# -- what a person sees, and what the model was sent ----------------------------------------


def summary_root(stack: Stack, user: str, key: str) -> dict[str, Any] | None:
    root = messages.SUMMARY_ROOT.format(user=user, url=f"{stack.jira.url}/browse/{key}", key=key)
    found = [m for m in stack.slack.messages(CHANNEL) if m.get("bot_id") and m["text"] == root]
    return found[-1] if found else None


def finished(stack: Stack, channel: str, thread_ts: str, count: int = 1) -> list[dict[str, Any]]:
    """The bot's finished replies in a thread (answer with footer, or a refusal), once
    `count` of them are there."""

    def replies() -> list[dict[str, Any]] | None:
        found = [
            m
            for m in stack.slack.thread(channel, thread_ts)[1:]
            if m.get("bot_id")
            and not m["streaming"]
            and (is_finished_answer(m) or m["text"].startswith((":no_entry:", ":information")))
        ]
        return found if len(found) >= count else None

    return wait_for(replies, "the summary", timeout_s=60)


def summarize(stack: Stack, driver: SlackDriver, text: str, count: int = 1) -> dict[str, Any]:
    key = text.split()[0]
    before = (summary_root(stack, "U_ALICE", key) or {}).get("ts")
    driver.slash("/summarize", text, "U_ALICE", CHANNEL)

    def new_root() -> dict[str, Any] | None:
        root = summary_root(stack, "U_ALICE", key)
        return root if root is not None and root["ts"] != before else None

    root = wait_for(new_root, "the summary's root")
    return finished(stack, CHANNEL, root["ts"], count)[-1]


def calls(stack: Stack, system: str) -> list[RecordedRequest]:
    return [
        r for r in stack.bedrock.requests_to("/converse") if prompt_blocks(r)[0].startswith(system)
    ]


def model_of(request: RecordedRequest) -> str:
    return request.path.split("/model/", 1)[1].split("/", 1)[0].replace("%3A", ":")


def reduces(stack: Stack) -> tuple[list[RecordedRequest], list[RecordedRequest]]:
    """The final reduce calls (they write the summary) and the merges of notes before them."""
    found = calls(stack, REDUCE_SYSTEM)
    final = [r for r in found if "Write the summary." in prompt_blocks(r)[-1]]
    return final, [r for r in found if r not in final]


def order_in(reduce: RecordedRequest, notes: dict[str, str]) -> list[str]:
    """The windows whose notes a reduce call was given, in the order its prompt holds them,
    each named by its first entry's stamp (spacing aside: the engine's compaction folds
    blanks, around code fences too)."""
    prompt = _words(prompt_blocks(reduce)[-1])
    held = sorted(
        (prompt.index(_words(note)), window)
        for window, note in notes.items()
        if _words(note) in prompt
    )
    return [_STAMP.findall(window)[0] for _, window in held]


def _words(text: str) -> str:
    return "".join(text.split())


def bot_comments(stack: Stack, key: str) -> list[Any]:
    return [c for c in stack.jira.comments(key) if c.author == BOT_ACCOUNT]


def windows_of(stack: Stack, key: str) -> list[str]:
    client = jira_client(stack)
    try:
        document = issue_document(client.issue(key))
    finally:
        client.close()
    settings = load_settings(_env_file=None)
    plan = plan_for(
        load_all(),
        window_tokens=settings.window_tokens,
        overlap=settings.window_overlap,
        concurrency=settings.window_concurrency,
        fan_in=settings.window_reduce_fan_in,
        max_input_tokens=ShapePolicy().question_tokens,
    )
    return [window.text for window in split_windows(document.sections, plan)]


def same_windows(sent: list[str], local: list[str]) -> bool:
    """The windows the model was sent are these, each once: matched by the entries they hold
    (`[2026-11-10 13:15] Alice Adams`), the first one alike — the engine's compaction may fold
    lines inside a window, and so drop some of its entries, never add one."""
    sent_stamps = sorted(_STAMP.findall(window) for window in sent)
    local_stamps = sorted(_STAMP.findall(window) for window in local)
    return len(sent) == len(local) and all(
        a[:1] == b[:1] and set(a) <= set(b) for a, b in zip(sent_stamps, local_stamps, strict=True)
    )


def mapped_windows(stack: Stack) -> list[str]:
    return [
        prompt_blocks(r)[-1].removeprefix("<part>\n").removesuffix("\n</part>")
        for r in calls(stack, MAP_SYSTEM)
    ]


# -- the 200-comment issue ------------------------------------------------------------------


def test_the_200_comment_issue_windowed_streamed_posted_and_kept_up_to_date(
    stack: Stack, driver: SlackDriver
) -> None:
    windows = windows_of(stack, "DEMO-1")
    assert len(windows) > 2

    reply = summarize(stack, driver, "DEMO-1 --post")

    # Every window mapped exactly once, then reduced; the final reduce is what Slack shows.
    assert same_windows(mapped_windows(stack), windows)
    [final], merges = reduces(stack)
    answer = expected_answer(final, model_of(final))
    assert reply["text"].startswith(answer)
    assert f"{len(windows)} windows, {len(windows)} read now, 0 from cache" in reply["text"]
    visible = [text for _, text in reply["edits"]]
    assert len(visible) >= 3 and all(b.startswith(a) for a, b in itertools.pairwise(visible))
    assert "Posted to" in reply["text"]
    [comment] = bot_comments(stack, "DEMO-1")
    assert find_marker(body_to_text(comment.body)) is not None

    # The reversal: the early decision's notes come before the late reversal's in the reduce.
    maps = calls(stack, MAP_SYSTEM)
    sent = zip(mapped_windows(stack), maps, strict=True)
    notes = {window: expected_answer(r, model_of(r)) for window, r in sent}
    early = next(w for w in notes if "from 20 to 50 per pod" in w)
    late = [w for w in notes if "reversing the Nov 10 pool change" in w][-1]
    orders = [order_in(r, notes) for r in [*merges, final]]
    assert all(order == sorted(order) for order in orders if order)
    first, last = _STAMP.findall(early)[0], _STAMP.findall(late)[0]
    [with_early] = [o for o in orders if first in o]
    [with_late] = [o for o in orders if last in o]
    assert first < last
    assert (
        with_early.index(first) < with_late.index(last)
        if with_early is with_late
        else (max(with_early) <= min(with_late))
    )

    # Three new comments (one pasting a secret): only the windows that changed are read
    # again, the secret replaced before any model reads it; the same comment.
    for n in range(3):
        pasted = f" {AWS_SECRET_LINE}" if n == 1 else ""
        stack.jira.post_comment("DEMO-1", "bob", f"Pool wait p99 check {n}: still 9 ms.{pasted}")
    stack.bedrock.clear()
    again = windows_of(stack, "DEMO-1")
    changed = [w for w in again if w not in windows]
    reply = summarize(stack, driver, "DEMO-1 --post", count=1)
    assert same_windows(mapped_windows(stack), changed)
    sent = "\n".join(prompt_blocks(m)[-1] for m in calls(stack, MAP_SYSTEM))
    assert SECRETS["AWS secret key"] not in sent and "[redacted AWS secret key]" in sent
    assert 0 < len(changed) < len(again)
    [_], merged_again = reduces(stack)
    assert len(merged_again) < max(len(merges), 1) or not merges
    [updated] = bot_comments(stack, "DEMO-1")
    assert updated.id == comment.id and updated.body != comment.body
    assert "Updated the summary comment" in reply["text"]

    # Nothing new: no model call at all, the same summary, the comment left alone.
    stack.bedrock.clear()
    reply = summarize(stack, driver, "DEMO-1")
    assert stack.bedrock.requests_to("/converse") == []
    assert reply["text"].endswith(messages.SUMMARY_NO_CALL_FOOTER)
    assert bot_comments(stack, "DEMO-1")[0].updated == updated.updated
    # …and in the ledger: a zero-cost row that credits what summarizing it anew would cost.
    rows = Ledger(redis.Redis.from_url(stack.redis_url)).records(0, time.time() + 60)
    [unchanged] = [r for r in rows if r.cache_kind == "summary"]
    assert unchanged.cost_micro_usd == 0 and (unchanged.baseline_micro_usd or 0) > 0


def test_post_twice_leaves_one_comment(stack: Stack, driver: SlackDriver) -> None:
    first = summarize(stack, driver, "DEMO-3 --post")
    summarize(stack, driver, "DEMO-3 --post")
    assert len(bot_comments(stack, "DEMO-3")) == 1
    assert len(calls(stack, SINGLE_SYSTEM)) == 1  # the second found it unchanged

    # With the cache gone, the comment's marker still says the issue has not changed.
    cache = redis.Redis.from_url(stack.redis_url)
    for key in cache.scan_iter(match="chatops:window:*"):
        cache.delete(key)
    again = summarize(stack, driver, "DEMO-3")
    assert len(calls(stack, SINGLE_SYSTEM)) == 1
    assert again["text"].endswith(messages.SUMMARY_NO_CALL_FOOTER)
    assert _words(again["text"]).startswith(_words(first["text"].split("\n\n_")[0][:200]))


def test_a_question_about_an_issue_is_answered_from_its_summary(
    stack: Stack, driver: SlackDriver
) -> None:
    stack.jira.add_issue(
        "OPS-11",
        "Drain payments-gateway before node upgrades",
        "Blocked: the PDB allows 0 disruptions.",
        comments=[("dave", "Waiting on @erin to approve the PDB change.")],
    )
    mention = driver.mention("U_BOB", CHANNEL, "what's blocking OPS-11?")
    [reply] = finished(stack, CHANNEL, mention.ts or "")
    [summary] = calls(stack, SINGLE_SYSTEM)
    [answer] = [r for r in stack.bedrock.requests_to("/converse") if r is not summary]
    question = prompt_blocks(answer)[-1]
    assert "Question: what's blocking OPS-11?" in question
    assert _words(expected_answer(summary, model_of(summary))) in _words(question)
    assert "Waiting on @erin to approve the PDB change." in question
    assert reply["text"].startswith(expected_answer(answer, model_of(answer)))


def test_the_post_to_jira_button_writes_what_was_shown(stack: Stack, driver: SlackDriver) -> None:
    reply = summarize(stack, driver, "OPS-2")
    assert bot_comments(stack, "OPS-2") == []
    button = wait_for(
        lambda: next(
            (
                m
                for m in stack.slack.thread(CHANNEL, reply["thread_ts"])
                if m.get("blocks") and m["text"].startswith("Keep this summary")
            ),
            None,
        ),
        "the Post to Jira button",
    )
    [call] = calls(stack, SINGLE_SYSTEM)
    made = len(stack.bedrock.requests_to("/converse"))
    assert driver.click("U_BOB", CHANNEL, button, POST_SUMMARY_ACTION).status == 200
    wait_for(
        lambda: "Posted to" in stack.slack.message(CHANNEL, button["ts"])["text"], "the outcome"
    )
    [comment] = bot_comments(stack, "OPS-2")
    shown = expected_answer(call, model_of(call))
    assert reply["text"].startswith(shown)
    assert shown in body_to_text(comment.body)
    assert len(stack.bedrock.requests_to("/converse")) == made


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("SEC-212", "I'm not allowed to read Jira project SEC. I can read: DEMO, DIG, OPS."),
        ("DEMO-999", "DEMO-999 was not found, or I can't see it."),
    ],
)
def test_refusals_are_one_clear_sentence(
    stack: Stack, driver: SlackDriver, key: str, said: str
) -> None:
    reply = summarize(stack, driver, key)
    assert reply["text"] == f":no_entry: {said}"
    assert stack.bedrock.requests_to("/converse") == []


def test_jira_429_then_200_gives_one_summary(stack: Stack, driver: SlackDriver) -> None:
    stack.jira.clear()
    stack.jira.inject(Fault("throttle", path="/issue/DEMO-2", retry_after=1))
    reply = summarize(stack, driver, "DEMO-2")
    assert is_finished_answer(reply)
    statuses = [r.path for r in stack.jira.requests if "/issue/DEMO-2" in r.path]
    assert len(statuses) >= 2  # the throttled read and its retry
    assert len(calls(stack, SINGLE_SYSTEM)) == 1


# -- mentions, DMs and threads --------------------------------------------------------------


def test_a_mention_and_a_pasted_link_in_a_dm_get_summaries(
    stack: Stack, driver: SlackDriver
) -> None:
    mention = driver.mention("U_BOB", CHANNEL, "summarize OPS-1 please")
    [reply] = finished(stack, CHANNEL, mention.ts or "")
    [call] = calls(stack, SINGLE_SYSTEM)
    assert "OPS-1: preStop hook" in prompt_blocks(call)[-1]
    assert reply["text"].startswith(expected_answer(call, model_of(call)))

    stack.bedrock.clear()
    stack.jira.add_issue("OPS-10", "Rotate the PSP webhook secret", "Due before Friday.")
    link = f"<{stack.jira.url}/browse/OPS-10>"
    dm = driver.dm("U_CAROL", link)
    [reply] = finished(stack, stack.slack.dm_channel("U_CAROL"), dm.ts or "")
    [call] = calls(stack, SINGLE_SYSTEM)
    assert "OPS-10: Rotate the PSP webhook secret" in prompt_blocks(call)[-1]
    assert is_finished_answer(reply)


def test_tldr_in_a_120_message_thread_is_a_windowed_summary_of_it(
    stack: Stack, driver: SlackDriver
) -> None:
    channel = "C_GENERAL"
    root = stack.slack.post_as_user(channel, "U_ALICE", "Deploy 7781 is stuck in canary")
    for n in range(119):
        who = ("U_ALICE", "U_BOB", "U_CAROL")[n % 3]
        text = f"update {n}: canary pod {n % 7} " + "latency and error rate look flat. " * 12
        stack.slack.post_as_user(channel, who, text, root)
        if n == 60:
            stack.slack.post_as_user(channel, "U_CAROL", f"creds were {AWS_SECRET_LINE}", root)
    mention = driver.mention("U_BOB", channel, "tl;dr", root)
    [reply] = finished(stack, channel, root)
    maps = calls(stack, MAP_SYSTEM)
    assert len(maps) >= 2
    sent = "\n".join(prompt_blocks(m)[-1] for m in maps)
    assert SECRETS["AWS secret key"] not in sent and "[redacted AWS secret key]" in sent
    assert "update 0:" in prompt_blocks(maps[0])[-1] or any(
        "update 0:" in prompt_blocks(m)[-1] for m in maps
    )
    assert any("update 118:" in prompt_blocks(m)[-1] for m in maps)
    [final] = calls(stack, REDUCE_SYSTEM)
    assert reply["text"].startswith(expected_answer(final, model_of(final)))
    assert f"{len(maps)} windows" in reply["text"]
    assert mention.ts and not any("tl;dr" in prompt_blocks(m)[-1] for m in maps)


# -- webhooks -------------------------------------------------------------------------------


def _summary_jobs(stack: Stack) -> list[str]:
    connection = redis.Redis.from_url(stack.redis_url)
    queue = Queue(BULK_QUEUE, connection=connection, serializer=JSONSerializer)
    ids = FinishedJobRegistry(queue=queue).get_job_ids() + queue.get_job_ids()
    return [job_id for job_id in ids if job_id.startswith("summarize-jira-")]


def test_a_webhook_redelivered_is_one_job_and_one_comment(stack: Stack) -> None:
    url = f"{stack.bot_url}/jira/webhook"
    comment = stack.jira.post_comment("OPS-1", "carol", "Drain time measured: 12 s at p99.")
    first = stack.jira.send_webhook(
        url, WEBHOOK_SECRET, "comment_created", "OPS-1", comment_id=comment.id, identifier="w-1"
    )
    again = stack.jira.redeliver(first)
    assert (first.status, again.status) == (200, 200)
    wait_for(lambda: bot_comments(stack, "OPS-1"), "the summary comment")
    time.sleep(1.0)
    assert len(bot_comments(stack, "OPS-1")) == 1
    assert _summary_jobs(stack) == ["summarize-jira-w-1"]


def test_a_forged_webhook_is_refused_and_nothing_runs(stack: Stack) -> None:
    url = f"{stack.bot_url}/jira/webhook"
    comment = stack.jira.post_comment("DEMO-2", "carol", "Fixed the typo in staging.")
    forged = stack.jira.send_webhook(
        url, "not-the-secret", "comment_created", "DEMO-2", comment_id=comment.id, identifier="w-2"
    )
    assert forged.status == 401
    time.sleep(1.0)
    assert "summarize-jira-w-2" not in _summary_jobs(stack)


def test_a_webhook_for_the_bots_own_comment_starts_nothing(stack: Stack) -> None:
    url = f"{stack.bot_url}/jira/webhook"
    own = stack.jira.store.add_comment("DEMO-3", BOT_ACCOUNT, "A note by the bot itself.")
    delivery = stack.jira.send_webhook(
        url, WEBHOOK_SECRET, "comment_created", "DEMO-3", comment_id=own.id, identifier="w-3"
    )
    assert delivery.status == 200
    time.sleep(1.0)
    assert "summarize-jira-w-3" not in _summary_jobs(stack)
