"""Channel policies as workspace admins set them and people meet them, through the running
system: a channel nobody allowed (CHANNELS_ALLOWED_BY_DEFAULT=false) gets one private sentence
and no job; an admin allows it from the App Home (a modal whose bad fields are refused under
them) and its next question is answered with the channel's prompt line in the model request,
its tier limit in the ledger row and an "AI-generated" line under it; a non-admin's change is
refused and logged; an "EC2 only" channel never reaches Bedrock, and is told so when the
instance is down; thread replies without a mention are answered only where a channel opted in.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from chatops import messages
from chatops.stack import EC2_MODEL, SIGNING_SECRET, Stack
from gateway import keys
from gateway.ledger import Ledger, LedgerRecord
from sandbox import slack_home_driver as home
from sandbox.llm import Pace
from sandbox.slack_driver import SlackDriver
from sandbox.slack_views import StoredView
from tests.e2e.conftest import bot_message, finished_replies, running_stack, wait_for

ADMIN, MEMBER, OTHER = "U_ALICE", "U_BOB", "U_CAROL"  # U_ALICE owns the emulated workspace
POLICY_ENV = {"CHANNELS_ALLOWED_BY_DEFAULT": "false", "CHANNEL_POLICY_CACHE_S": "0.2"}
CHANNELS = {
    "C_DENIED": "denied",
    "C_PAY": "payments",
    "C_SECRET": "secret",
    "C_THREADS": "threads",
    "C_PLAIN": "plain",
}
NOT_ALLOWED = messages.CHANNEL_NOT_ALLOWED.format(also="")
# The router leaves it on the task's default tier (medium).
MEDIUM_QUESTION = "Why do the staging DB password rotations keep failing on the replica?"


@pytest.fixture(scope="module")
def policy_stack(redis_server: str) -> Iterator[Stack]:
    for running in running_stack(redis_server, 11, POLICY_ENV):
        for channel, name in CHANNELS.items():
            running.slack.add_channel(channel, name)
        yield running


@pytest.fixture
def driver(policy_stack: Stack) -> Iterator[SlackDriver]:
    for emulator in (policy_stack.bedrock, policy_stack.ec2):
        emulator.pace = Pace(ttft_ms=20, tokens_per_s=400)
    yield SlackDriver(policy_stack.bot_url, SIGNING_SECRET, policy_stack.slack)
    for emulator in (policy_stack.slack, policy_stack.bedrock, policy_stack.ec2):
        emulator.clear()


# -- helpers ---------------------------------------------------------------------------------


def home_of(driver: SlackDriver, user: str) -> StoredView:
    """Open the Home tab as `user`: the bot publishes it before it acknowledges the event."""
    assert home.open_home(driver, user).status == 200
    shown = home.home(driver, user)
    assert shown is not None
    return shown


def texts(view: StoredView) -> str:
    """Every piece of text a person sees on a view, one per line."""
    found: list[str] = []
    for block in view.view["blocks"]:
        for text in [block.get("text"), *block.get("elements", []), block.get("accessory")]:
            if isinstance(text, dict) and isinstance(text.get("text"), str):
                found.append(text["text"])
            elif isinstance(text, dict) and isinstance(text.get("text"), dict):
                found.append(text["text"]["text"])
    return "\n".join(found)


def open_policy_modal(
    stack: Stack, driver: SlackDriver, action: str, value: str | None
) -> StoredView:
    home_of(driver, ADMIN)
    opened = len(stack.slack.views.open_modals(ADMIN))
    assert home.press(driver, ADMIN, action, value).status == 200
    return wait_for(
        lambda: (
            (modals := stack.slack.views.open_modals(ADMIN)) and len(modals) > opened and modals[-1]
        ),
        "the policy modal",
    )


def set_policy(stack: Stack, driver: SlackDriver, channel: str, **values: Any) -> None:
    """An admin sets a channel's policy from the Home tab: *Set a channel's policy*, pick the
    channel, fill the fields, save."""
    modal = open_policy_modal(stack, driver, "policy_add", None)
    response = home.submit(driver, ADMIN, modal, {"channel": channel, "allowed": "yes", **values})
    assert (response.status, response.body) == (200, ""), response.body
    assert not stack.slack.views.modal(modal.id).open


def ask(
    stack: Stack, driver: SlackDriver, channel: str, question: str, *, refused: bool = False
) -> dict[str, Any]:
    """`/ask` and its finished answer (or, `refused`, the refusal shown in its thread)."""
    assert driver.slash("/ask", question, MEMBER, channel).body == ""
    root = wait_for(
        lambda: bot_message(stack, channel, messages.root_message(MEMBER, question)),
        "the root message",
    )
    if refused:
        return wait_for(
            lambda: next(
                (
                    m
                    for m in stack.slack.thread(channel, root["ts"])[1:]
                    if ":no_entry:" in m["text"]
                ),
                None,
            ),
            "the refusal",
        )
    return wait_for(lambda: finished_replies(stack, channel, root["ts"]), "the answer")[-1]


def ledger_rows(stack: Stack, since: float) -> list[LedgerRecord]:
    return Ledger(redis.Redis.from_url(stack.redis_url)).records(since, time.time() + 60)


def queued(stack: Stack) -> int:
    return int(redis.Redis.from_url(stack.redis_url).llen("rq:queue:interactive"))


def requests_counted(stack: Stack) -> dict[str, int]:
    raw = redis.Redis.from_url(stack.redis_url).hgetall(keys.metrics())
    return {k.decode(): int(v) for k, v in raw.items() if k.startswith(b"slack_requests")}


# -- tests -----------------------------------------------------------------------------------


def test_a_channel_nobody_allowed_gets_one_sentence_and_no_job(
    policy_stack: Stack, driver: SlackDriver
) -> None:
    counted = requests_counted(policy_stack)

    ack = driver.slash("/ask", "how do I restart nginx?", MEMBER, "C_DENIED")
    mention = driver.mention(MEMBER, "C_DENIED", "how do I restart nginx?")
    retried = driver.retry(mention.request)

    assert (ack.status, ack.body) == (200, NOT_ALLOWED)
    assert "workspace admin" in NOT_ALLOWED and "App Home" in NOT_ALLOWED
    assert (mention.status, retried.status) == (200, 200)
    told = [e for e in policy_stack.slack.ephemerals("C_DENIED") if e["user"] == MEMBER]
    assert [e["text"] for e in told] == [NOT_ALLOWED]  # once, though Slack delivered it twice
    assert requests_counted(policy_stack) == counted  # nothing was enqueued
    assert queued(policy_stack) == 0
    assert [m for m in policy_stack.slack.messages("C_DENIED") if m.get("bot_id")] == []
    assert policy_stack.bedrock.requests == [] and policy_stack.ec2.requests == []


def test_the_home_tab_tells_a_member_what_the_bot_does_with_their_text(
    policy_stack: Stack, driver: SlackDriver
) -> None:
    shown = texts(home_of(driver, MEMBER))

    assert messages.HOME_ADMIN_HEADING not in shown
    assert messages.HOME_AI_GENERATED in shown
    assert "Amazon Bedrock, AWS region us-east-1" in shown
    assert f"our own model server on EC2, inside our AWS account: {EC2_MODEL}" in shown
    assert "*Your spend in the last 7 days:*" in shown
    assert all(b.get("type") != "actions" for b in home.home(driver, MEMBER).view["blocks"])  # type: ignore[union-attr]


def test_an_admin_allows_a_channel_and_its_answers_keep_to_its_policy(
    policy_stack: Stack, driver: SlackDriver
) -> None:
    assert driver.slash("/ask", MEDIUM_QUESTION, MEMBER, "C_PAY").body == NOT_ALLOWED
    assert messages.HOME_ADMIN_HEADING in texts(home_of(driver, ADMIN))

    modal = open_policy_modal(policy_stack, driver, "policy_add", None)
    wrong = {
        "budget": ({"budget": "-3"}, messages.POLICY_BAD_BUDGET),
        "min_tier": (
            {"min_tier": "huge"},
            messages.POLICY_BAD_TIER.format(tiers="small, medium, large"),
        ),
        "max_tier": (
            {"min_tier": "large", "max_tier": "small"},
            messages.POLICY_TIERS_CROSSED.format(tier="large"),
        ),
    }
    for field, (values, error) in wrong.items():
        response = home.submit(driver, ADMIN, modal, {"channel": "C_PAY", **values})
        assert response.json() == {"response_action": "errors", "errors": {field: error}}
        assert policy_stack.slack.views.modal(modal.id).errors == {field: error}  # shown under it
    prompt = "Name the runbook for every step you give."
    values = {"channel": "C_PAY", "allowed": "yes", "max_tier": "small", "prompt": prompt}
    assert home.submit(driver, ADMIN, modal, values).body == ""

    since = time.time()
    answer = ask(policy_stack, driver, "C_PAY", MEDIUM_QUESTION)

    [request] = policy_stack.bedrock.requests_to("/converse-stream")
    system = "\n".join(b["text"] for b in request.body["system"] if "text" in b)
    assert f"<channel_instructions>\n{prompt}\n</channel_instructions>" in system
    [row] = [r for r in ledger_rows(policy_stack, since) if r.channel == "C_PAY"]
    assert (row.tier, row.tier_reason) == ("small", "channel maximum")
    assert answer["blocks"][0] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"_{messages.AI_DISCLOSURE}_"}],
    }
    shown = texts(home_of(driver, ADMIN))
    assert "*<#C_PAY>* · allowed · small tier or below · prompt: “Name the runbook" in shown
    assert "<@U_ALICE> set <#C_PAY>: allowed no → yes, most capable tier no limit → small" in shown


def test_a_policy_change_by_a_non_admin_is_refused_and_logged(
    policy_stack: Stack, driver: SlackDriver
) -> None:
    from bot.home.policy_form import policy_modal
    from gateway.channel_policy import ChannelPolicy

    forged = StoredView(
        "V_FORGED", "T_DEMO", OTHER, policy_modal("C_OPS", ChannelPolicy(allowed=False))
    )
    response = home.submit(driver, OTHER, forged, {"allowed": "yes"})

    assert response.json() == {
        "response_action": "errors",
        "errors": {"allowed": messages.POLICY_NOT_ADMIN.format(also="")},
    }
    assert driver.slash("/ask", "how do I restart nginx?", OTHER, "C_OPS").body == NOT_ALLOWED
    shown = texts(home_of(driver, ADMIN))
    assert "<@U_CAROL> tried to change <#C_OPS>: refused (not an admin)" in shown
    assert "policy_refused team=T_DEMO user=U_CAROL channel=C_OPS" in policy_stack.logs()


def test_an_ec2_only_channel_never_reaches_bedrock(
    policy_stack: Stack, driver: SlackDriver
) -> None:
    set_policy(policy_stack, driver, "C_SECRET", options=["ec2_only", "cache_allowed"])

    since = time.time()
    answer = ask(policy_stack, driver, "C_SECRET", MEDIUM_QUESTION)
    assert answer["text"].endswith("· EC2 instance hours_")
    policy_stack.ec2.power_off()  # the instance is down: the tier's Bedrock fallback may not run
    try:
        refused = ask(
            policy_stack,
            driver,
            "C_SECRET",
            "Why does the ingress keep returning 502s?",
            refused=True,
        )
    finally:
        policy_stack.ec2.power_on()

    assert policy_stack.bedrock.requests == []
    assert len(policy_stack.ec2.requests_to("/chat/completions")) == 1
    assert refused["text"].startswith(
        ":no_entry: This channel's requests may only go to the self-hosted model, and it is not"
        " available right now: nothing was sent anywhere else."
    )
    assert [
        (r.backend, r.model) for r in ledger_rows(policy_stack, since) if r.model != "none"
    ] == [("ec2", EC2_MODEL)]


def test_thread_replies_are_answered_without_a_mention_only_where_a_channel_opted_in(
    policy_stack: Stack, driver: SlackDriver
) -> None:
    set_policy(policy_stack, driver, "C_THREADS", options=["thread_replies", "cache_allowed"])
    set_policy(policy_stack, driver, "C_PLAIN")
    roots = {}
    for channel in ("C_PLAIN", "C_THREADS"):
        roots[channel] = driver.mention(
            MEMBER, channel, f"what is a pod disruption budget? ({channel})"
        ).ts
        wait_for(lambda c=channel: finished_replies(policy_stack, c, roots[c]), "the first answer")

    driver.message(MEMBER, "C_PLAIN", "and how do I set one for a deployment?", roots["C_PLAIN"])
    driver.message(
        MEMBER, "C_THREADS", "and how do I set one for a deployment?", roots["C_THREADS"]
    )

    replies = wait_for(
        lambda: (
            (found := finished_replies(policy_stack, "C_THREADS", roots["C_THREADS"] or ""))
            and len(found) == 2
            and found
        ),
        "the answer to the reply",
    )
    assert len(replies) == 2
    plain = finished_replies(policy_stack, "C_PLAIN", roots["C_PLAIN"] or "") or []
    assert len(plain) == 1  # the reply without a mention was left alone
    assert queued(policy_stack) == 0
