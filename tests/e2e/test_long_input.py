"""Long input as Slack delivers it, through the running bot: a 30,000-character paste and a
snippet file reach the model compacted within the question budget, with the tokens before and
after in the ledger; bad input — one line repeated to 40,000 characters, a megabyte of minified
JSON, a binary renamed `.log`, a file too big, a download that fails, text full of invisible
characters — gets an answer or one clear sentence, never a traceback, and no job runs long."""

from __future__ import annotations

import datetime
import time
from typing import Any
from urllib.parse import parse_qs

import pytest
import redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from chatops import messages
from chatops.payloads import rq_job_id
from chatops.settings import Settings
from chatops.stack import BOT_TOKEN, Stack
from gateway.ledger import Ledger, LedgerRecord
from gateway.tokens import estimate_tokens
from prompts import load_all
from sandbox.server import Fault, RecordedRequest
from sandbox.slack_driver import DriverResponse, SlackDriver
from tests.e2e.conftest import expected_answer, finished_replies, prompt_blocks, wait_for
from tests.hostile_inputs import SECRETS, leaked
from tests.long_inputs import (
    ERROR_LINE,
    INVISIBLE,
    NO_BREAK,
    binary_bytes,
    minified_json,
    repeated_line,
    service_log,
    sprinkled,
)
from workers.attachments import AttachedText, question_with

CHANNEL = "C_OPS"
QUESTION_BUDGET = Settings.model_fields["compact_question_tokens"].default
MAX_QUESTION_CHARS = Settings.model_fields["max_question_chars"].default
MAX_FILE_BYTES = Settings.model_fields["max_file_bytes"].default
# A bound no healthy answer comes near (the emulated model answers in about a second): a
# download or a compaction that hung would cross it.
JOB_BOUND = datetime.timedelta(seconds=60)
ANSWER_TIMEOUT_S = 60.0


# -- what the person did, and what came of it -------------------------------------------------


def _ask(stack: Stack, driver: SlackDriver, text: str) -> tuple[str, list[dict[str, Any]]]:
    """`/ask text` as Alice: the request id and the finished replies in its thread."""
    sent = time.time()
    response = driver.slash("/ask", text, "U_ALICE", CHANNEL)
    assert (response.status, response.body) == (200, "")
    request_id = "ask-" + parse_qs(response.request.body.decode())["trigger_id"][0]

    def root() -> dict[str, Any] | None:
        return next(
            (
                m
                for m in stack.slack.messages(CHANNEL)
                if m.get("bot_id")
                and float(m["ts"]) >= sent
                and m["text"].startswith("<@U_ALICE> asked:")
            ),
            None,
        )

    root_ts = wait_for(root, "the root message")["ts"]
    replies = wait_for(
        lambda: finished_replies(stack, CHANNEL, root_ts), "the answer", ANSWER_TIMEOUT_S
    )
    return request_id, replies


def _answered(stack: Stack, response: DriverResponse, channel: str) -> list[dict[str, Any]]:
    assert response.status == 200
    return wait_for(
        lambda: finished_replies(stack, channel, response.ts or ""), "the answer", ANSWER_TIMEOUT_S
    )


def _event_id(response: DriverResponse, channel: str) -> str:
    return f"ev-{channel}-{response.ts}"


def _row(stack: Stack, request_id: str) -> LedgerRecord:
    ledger = Ledger(redis.Redis.from_url(stack.redis_url))

    def found() -> LedgerRecord | None:
        rows = [r for r in ledger.records(0, time.time() + 1) if r.request_id == request_id]
        return rows[0] if rows else None

    return wait_for(found, f"the ledger row of {request_id}")


def _job_finished_within_bound(stack: Stack, request_id: str) -> None:
    connection = redis.Redis.from_url(stack.redis_url)

    def finished() -> Job | None:
        job = Job.fetch(
            rq_job_id("answer", request_id), connection=connection, serializer=JSONSerializer
        )
        # RQ marks the job finished before it writes `ended_at`: wait for both.
        done = job.get_status() == JobStatus.FINISHED and job.ended_at is not None
        return job if done else None

    job = wait_for(finished, f"the job of {request_id} to finish")
    assert job.started_at is not None and job.ended_at is not None
    assert job.ended_at - job.started_at < JOB_BOUND


def _model_request(stack: Stack) -> RecordedRequest:
    [request] = stack.bedrock.requests_to("/converse-stream")
    return request


def _question_sent(request: RecordedRequest) -> str:
    return prompt_blocks(request)[-1]


def _answer_shown(replies: list[dict[str, Any]], request: RecordedRequest) -> None:
    """One reply: the model's answer, then its footer; no failure, no traceback."""
    [reply] = replies
    assert reply["text"].startswith(expected_answer(request) + "\n\n_")
    assert "Traceback" not in reply["text"]


def _uncompacted_tokens(request: RecordedRequest, task: str, question: str) -> int:
    """What the naive way sends: the system prompt and the whole question, uncompacted."""
    system = prompt_blocks(request)[0]
    return estimate_tokens(system) + estimate_tokens(load_all()[task].user(question=question))


# -- long input that is meant ------------------------------------------------------------------


def test_a_30000_character_paste_reaches_the_model_compacted(
    stack: Stack, driver: SlackDriver
) -> None:
    question = f"Why does checkout keep failing? The log:\n```\n{service_log(30_000)}\n```"
    assert 30_000 < len(question) <= MAX_QUESTION_CHARS

    request_id, replies = _ask(stack, driver, question)

    request = _model_request(stack)
    sent = _question_sent(request)
    assert estimate_tokens(sent) <= QUESTION_BUDGET < estimate_tokens(question)
    assert sent.startswith("Why does checkout keep failing? The log:")
    assert ERROR_LINE in sent
    assert "lines (≈" in sent  # the note saying how much was left out
    _answer_shown(replies, request)

    row = _row(stack, request_id)
    sent_tokens = sum(estimate_tokens(block) for block in prompt_blocks(request))
    assert row.total_input_tokens == sent_tokens
    assert row.uncompacted_input_tokens == _uncompacted_tokens(request, "ask", question)
    assert row.compaction_removed_tokens == row.uncompacted_input_tokens - sent_tokens > 4_000


def test_a_snippet_file_reaches_the_model_compacted(stack: Stack, driver: SlackDriver) -> None:
    log = service_log(20_000, seed=9)
    snippet = stack.slack.attach_file("U_BOB", "checkout.log", log.encode(), snippet=True)
    question = "what is failing in this snippet?"

    response = driver.mention("U_BOB", CHANNEL, question, files=[snippet])
    replies = _answered(stack, response, CHANNEL)

    # Read with files.info and the bot token on the private URL, after the ack.
    [info] = stack.slack.requests_to("/api/files.info")
    assert info.body.get("file") == snippet["id"]
    [download] = stack.slack.requests_to("/files-pri/")
    assert download.headers["authorization"] == f"Bearer {BOT_TOKEN}"

    request = _model_request(stack)
    sent = _question_sent(request)
    assert sent.startswith(f'{question}\n\nAttached file "checkout.log":\n\n')
    assert ERROR_LINE in sent
    assert estimate_tokens(sent) <= QUESTION_BUDGET < estimate_tokens(log)
    _answer_shown(replies, request)
    assert stack.slack.ephemerals(CHANNEL) == []

    row = _row(stack, _event_id(response, CHANNEL))
    whole = question_with(question, [AttachedText("checkout.log", log)])
    assert row.uncompacted_input_tokens == _uncompacted_tokens(request, "thread", whole)
    assert row.total_input_tokens == sum(estimate_tokens(b) for b in prompt_blocks(request))
    assert row.compaction_removed_tokens > 2_000


def test_secrets_in_an_attached_file_never_reach_the_model(
    stack: Stack, driver: SlackDriver
) -> None:
    env = f"region=eu-west-1\nAWS_SECRET_ACCESS_KEY={SECRETS['AWS secret key']}\n"
    attached = stack.slack.attach_file("U_CAROL", "deploy.env", env.encode())

    response = driver.dm("U_CAROL", "why can't the deploy reach S3?", files=[attached])
    channel = stack.slack.dm_channel("U_CAROL")
    replies = _answered(stack, response, channel)

    request = _model_request(stack)
    assert leaked(_question_sent(request)) == []
    assert "region=eu-west-1" in _question_sent(request)
    told = [e["text"] for e in stack.slack.ephemerals(channel) if e["thread_ts"] == response.ts]
    assert told == [messages.secrets_removed(["AWS secret key"])]
    _answer_shown(replies, request)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_line_repeated_to_slacks_limit_is_answered(stack: Stack, driver: SlackDriver) -> None:
    paste = repeated_line(MAX_QUESTION_CHARS - len("Why? "))
    request_id, replies = _ask(stack, driver, "Why? " + paste)

    request = _model_request(stack)
    sent = _question_sent(request)
    assert "similar lines)" in sent
    assert estimate_tokens(sent) < 100
    _answer_shown(replies, request)
    _job_finished_within_bound(stack, request_id)


@pytest.mark.slow
def test_a_megabyte_of_minified_json_is_read_and_cut_to_the_budget(
    stack: Stack, driver: SlackDriver
) -> None:
    data = minified_json(1_000_000)
    assert len(data) <= MAX_FILE_BYTES and b"\n" not in data
    attached = stack.slack.attach_file("U_CAROL", "latency.json", data)

    response = driver.mention("U_CAROL", CHANNEL, "which service is slowest?", files=[attached])
    replies = _answered(stack, response, CHANNEL)

    request = _model_request(stack)
    sent = _question_sent(request)
    assert 'Attached file "latency.json":' in sent
    assert estimate_tokens(sent) <= QUESTION_BUDGET
    _answer_shown(replies, request)
    assert stack.slack.ephemerals(CHANNEL) == []
    _job_finished_within_bound(stack, _event_id(response, CHANNEL))


LEFT_OUT = {
    "binary renamed .log": (
        lambda stack: stack.slack.attach_file("U_BOB", "core.log", binary_bytes(50_000)),
        messages.FILE_NOT_TEXT,
    ),
    "too big": (
        lambda stack: stack.slack.attach_file("U_BOB", "huge.log", b"x" * 2_000_000),
        messages.FILE_TOO_BIG.format(size="1,953 KB", limit="1,024 KB"),
    ),
    "download fails": (
        lambda stack: _failing_download(stack),
        messages.FILE_DOWNLOAD_FAILED,
    ),
}


def _failing_download(stack: Stack) -> dict[str, Any]:
    attached = stack.slack.attach_file(
        "U_BOB", "Untitled", service_log(5_000).encode(), snippet=True
    )
    stack.slack.inject(Fault(kind="reset", path=f"-{attached['id']}/"))
    return attached


@pytest.mark.slow
@pytest.mark.parametrize("case", list(LEFT_OUT))
def test_a_file_left_out_gets_one_sentence_and_the_question_an_answer(
    stack: Stack, driver: SlackDriver, case: str
) -> None:
    attach, reason = LEFT_OUT[case]
    attached = attach(stack)
    question = f"why is the nightly export failing? ({case})"

    response = driver.dm("U_BOB", question, files=[attached])
    channel = stack.slack.dm_channel("U_BOB")
    replies = _answered(stack, response, channel)

    told = [e for e in stack.slack.ephemerals(channel) if e["thread_ts"] == response.ts]
    sentence = messages.FILE_LEFT_OUT.format(name=attached["name"], reason=reason)
    assert [e["text"] for e in told] == [sentence]
    request = _model_request(stack)
    assert _question_sent(request) == question
    _answer_shown(replies, request)
    _job_finished_within_bound(stack, _event_id(response, channel))


@pytest.mark.slow
def test_invisible_characters_and_no_break_spaces_never_reach_the_model(
    stack: Stack, driver: SlackDriver
) -> None:
    question = sprinkled("why is the deploy failing on staging after the certificate rotation?")
    assert any(c in question for c in INVISIBLE + NO_BREAK)

    response = driver.mention("U_ALICE", CHANNEL, question)
    replies = _answered(stack, response, CHANNEL)

    request = _model_request(stack)
    assert _question_sent(request) == (
        "why is the deploy failing on staging after the certificate rotation ?"
    )
    _answer_shown(replies, request)
    _job_finished_within_bound(stack, _event_id(response, CHANNEL))
