"""`JiraClient`, the summary comment and webhooks, through the real `jira` library against the
Jira emulator: what Jira ends up holding and what a person would read."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from chatops import messages
from chatops.settings import Settings, load_settings
from gateway.tokens import estimate_tokens
from integrations.jira.client import JiraClient, ProjectAccess, RetryPolicy, connect
from integrations.jira.comments import comment_visibility, find_summary, upsert_summary
from integrations.jira.errors import (
    IssueNotVisibleError,
    JiraSignInError,
    JiraUnavailableError,
    ProjectNotAllowedError,
)
from integrations.jira.text import issue_document
from integrations.jira.webhook import Triggers, parse, should_summarize, verify
from sandbox.jira import JiraEmulator
from sandbox.server import EmulatorServer, Exchange, Fault
from tests.conftest import free_port

SUMMARY = "*Status*: mitigated\n- pool size 50, reversed to 30 on 11-19 15:46"


@pytest.fixture
def jira_emulator() -> Iterator[JiraEmulator]:
    emulator = JiraEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "jira_url": url,
        "jira_user": "chatops",
        "jira_api_token": SecretStr("sandbox-token"),
    }
    return load_settings(_env_file=None, **(values | overrides))


class Sleeps(list[float]):
    """Stands in for `time.sleep`: remembers each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(
    url: str, sleeps: Sleeps | None = None, access: ProjectAccess | None = None, **overrides: Any
) -> JiraClient:
    settings = settings_for(url, **overrides)
    return JiraClient(
        connect(settings),
        api_version=settings.jira_api_version,
        access=access,
        retry=RetryPolicy(settings.jira_attempts, settings.jira_max_retry_wait_s),
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


@pytest.fixture
def client(jira_emulator: JiraEmulator) -> Iterator[JiraClient]:
    jira = client_for(jira_emulator.url)
    yield jira
    jira.close()


def writes(emulator: JiraEmulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.requests if r.method in ("POST", "PUT")]


# -- reading -----------------------------------------------------------------------------------


def test_the_200_comment_issue_is_read_whole_page_by_page(
    client: JiraClient, jira_emulator: JiraEmulator
) -> None:
    issue = client.issue("demo-1")
    assert (issue.key, issue.status, issue.issue_type) == ("DEMO-1", "In Progress", "Bug")
    assert issue.assignee is not None and issue.assignee.display_name == "Alice Adams"
    assert issue.labels == ("incident", "payments", "alb")
    assert issue.url == f"{jira_emulator.url}/browse/DEMO-1"
    assert len(issue.comments) == len({c.id for c in issue.comments}) == 200
    assert [c.created for c in issue.comments] == sorted(c.created for c in issue.comments)
    assert [c.id for c in issue.comments] == [c.id for c in jira_emulator.comments("DEMO-1")]
    pages = [r.query.get("startAt") for r in jira_emulator.requests_to("/DEMO-1/comment")]
    assert pages == [["0"], ["100"], ["200"]]
    assert [item.new for change in issue.changelog for item in change.items][1] == "In Progress"


def test_the_issue_reads_in_time_order_with_the_reversal_after_the_decision(
    client: JiraClient,
) -> None:
    document = issue_document(client.issue("DEMO-1"))
    texts = [section.text for section in document.sections]
    early = next(n for n, t in enumerate(texts) if "from 20 to 50 per pod" in t)
    late = next(n for n, t in enumerate(texts) if "back down to 30 per pod" in t)
    assert early < late
    assert document.folded_bot_comments >= 30 and document.folded_plus_ones >= 8
    assert not any("CloudWatch" in t or "[Pipeline]" in t for t in texts)
    assert estimate_tokens(document.text) < sum(
        estimate_tokens(str(c.body)) for c in client.issue("DEMO-1").comments
    )
    assert issue_document(client.issue("DEMO-1")).source_hash == document.source_hash


def test_rest_v3_reads_adf_bodies_into_the_same_facts(jira_emulator: JiraEmulator) -> None:
    v3 = client_for(jira_emulator.url, jira_api_version="3")
    issue = v3.issue("DEMO-1")
    assert all(isinstance(c.body, dict) for c in issue.comments)
    assert jira_emulator.requests_to("/rest/api/3/issue/DEMO-1/comment")
    text = issue_document(issue).text
    assert "from 20 to 50 per pod (`DB_POOL_SIZE=50`)" in text
    assert "status | count\n200 | 60786" in text
    assert "```bash\nkubectl -n payments set env deploy/payments-gateway" in text


# -- one summary comment -------------------------------------------------------------------------


def test_posting_twice_leaves_one_comment_and_the_second_writes_nothing(
    client: JiraClient, jira_emulator: JiraEmulator
) -> None:
    before = len(jira_emulator.comments("DEMO-2"))
    first = upsert_summary(client, "DEMO-2", SUMMARY, "aa11bb22cc33dd44")
    jira_emulator.clear()
    second = upsert_summary(client, "DEMO-2", SUMMARY, "aa11bb22cc33dd44")
    assert (first.action, second.action) == ("created", "unchanged")
    assert second.comment_id == first.comment_id
    assert writes(jira_emulator) == []
    comments = jira_emulator.comments("DEMO-2")
    assert len(comments) == before + 1
    assert comments[-1].body.startswith(f"*{messages.JIRA_SUMMARY_HEADING}*\n*Status*: mitigated")
    assert "* pool size 50, reversed to 30" in comments[-1].body


def test_changed_content_rewrites_the_same_comment(
    client: JiraClient, jira_emulator: JiraEmulator
) -> None:
    created = upsert_summary(client, "DEMO-3", "*Status*: in review", "0001aaaa0001aaaa")
    jira_emulator.post_comment("DEMO-3", "bob", "Reviewed, two nits.")
    jira_emulator.clear()
    updated = upsert_summary(client, "DEMO-3", "*Status*: approved", "0002bbbb0002bbbb")
    assert (updated.action, updated.comment_id) == ("updated", created.comment_id)
    assert writes(jira_emulator) == [
        f"PUT /rest/api/2/issue/{jira_emulator.issue('DEMO-3').id}/comment/{created.comment_id}"
    ]
    mine = [c for c in jira_emulator.comments("DEMO-3") if "chatops-summary" in str(c.body)]
    assert len(mine) == 1 and "*Status*: approved" in mine[0].body
    assert "source=0002bbbb0002bbbb" in mine[0].body


def test_the_summary_comment_can_be_kept_from_customers(
    client: JiraClient, jira_emulator: JiraEmulator
) -> None:
    visibility = comment_visibility("role:Developers")
    upsert_summary(client, "OPS-2", SUMMARY, "feedbeeffeedbeef", visibility=visibility)
    [*_, mine] = jira_emulator.comments("OPS-2")
    assert mine.visibility == {"type": "role", "value": "Developers"}


def test_rest_v3_writes_the_summary_as_adf_and_finds_it_again(
    jira_emulator: JiraEmulator,
) -> None:
    v3 = client_for(jira_emulator.url, jira_api_version="3")
    first = upsert_summary(v3, "DEMO-2", SUMMARY, "3333aaaa3333aaaa")
    [*_, mine] = jira_emulator.comments("DEMO-2")
    assert isinstance(mine.body, dict) and mine.body["type"] == "doc"
    again = upsert_summary(v3, "DEMO-2", SUMMARY, "3333aaaa3333aaaa")
    assert (again.action, again.comment_id) == ("unchanged", first.comment_id)
    found = find_summary(client_for(jira_emulator.url).comments("DEMO-2"))
    assert found is not None and found.source_hash == "3333aaaa3333aaaa"


# -- refusals and failures, as a person reads them ----------------------------------------------


def test_an_unknown_issue_is_the_clear_sentence(client: JiraClient) -> None:
    with pytest.raises(IssueNotVisibleError) as caught:
        client.issue("DEMO-999")
    assert caught.value.public_message == "DEMO-999 was not found, or I can't see it."


def test_an_issue_the_bot_may_not_see_reads_the_same(
    client: JiraClient, jira_emulator: JiraEmulator
) -> None:
    jira_emulator.restrict("OPS", {"alice"})
    with pytest.raises(IssueNotVisibleError) as caught:
        client.issue("OPS-2")
    assert caught.value.public_message == "OPS-2 was not found, or I can't see it."


def test_a_project_outside_the_allowlist_is_refused_before_any_call(
    jira_emulator: JiraEmulator,
) -> None:
    settings = settings_for(jira_emulator.url, jira_projects="DEMO, PLAT")
    client = JiraClient.from_settings(settings)
    with pytest.raises(ProjectNotAllowedError) as caught:
        client.issue("OPS-1")
    assert caught.value.public_message == (
        "I'm not allowed to read Jira project OPS. I can read: DEMO, PLAT."
    )
    with pytest.raises(IssueNotVisibleError):
        client.issue("../myself")
    assert jira_emulator.requests == []
    assert client.issue("DEMO-2").key == "DEMO-2"


def test_a_429_then_200_succeeds_after_waiting_as_told(jira_emulator: JiraEmulator) -> None:
    sleeps = Sleeps()
    client = client_for(jira_emulator.url, sleeps)
    jira_emulator.inject(Fault(kind="throttle", path="/issue/DEMO-2", retry_after=2))
    assert client.issue("DEMO-2").summary == "Typo in the refund confirmation email"
    assert sleeps == [2.0]
    assert [r.path for r in jira_emulator.requests][:2] == ["/rest/api/2/issue/DEMO-2"] * 2


def test_a_wait_longer_than_allowed_gives_up_at_once(jira_emulator: JiraEmulator) -> None:
    sleeps = Sleeps()
    client = client_for(jira_emulator.url, sleeps, jira_max_retry_wait_s=30)
    jira_emulator.inject(Fault(kind="throttle", path="/issue/DEMO-2", retry_after=600))
    with pytest.raises(JiraUnavailableError) as caught:
        client.issue("DEMO-2")
    assert caught.value.public_message == (
        "Jira is rate-limiting me and asked me to wait 600 seconds. Try again then."
    )
    assert sleeps == [] and len(jira_emulator.requests) == 1


def test_jira_down_is_retried_then_one_sentence() -> None:
    sleeps = Sleeps()
    client = client_for(f"http://127.0.0.1:{free_port()}", sleeps, jira_attempts=3)
    with pytest.raises(JiraUnavailableError) as caught:
        client.issue("DEMO-1")
    assert caught.value.public_message == messages.JIRA_UNAVAILABLE
    assert sleeps == [1.0, 2.0]


def test_a_bad_gateway_on_a_read_is_retried(jira_emulator: JiraEmulator) -> None:
    sleeps = Sleeps()
    client = client_for(jira_emulator.url, sleeps)
    jira_emulator.inject(Fault(kind="error", status=502, path="/comment", times=2))
    assert len(client.comments("DEMO-3")) == 5
    assert sleeps == [1.0, 2.0]


def test_a_new_comment_is_never_sent_twice_after_a_5xx(jira_emulator: JiraEmulator) -> None:
    sleeps = Sleeps()
    client = client_for(jira_emulator.url, sleeps)
    jira_emulator.inject(Fault(kind="error", status=502, path="/issue/DEMO-2/comment"))
    with pytest.raises(JiraUnavailableError):
        client.add_comment("DEMO-2", "h3. Summary")
    assert writes(jira_emulator) == ["POST /rest/api/2/issue/DEMO-2/comment"] and sleeps == []


def test_a_throttled_new_comment_is_sent_again_once(jira_emulator: JiraEmulator) -> None:
    client = client_for(jira_emulator.url)
    before = len(jira_emulator.comments("DEMO-2"))
    jira_emulator.inject(Fault(kind="throttle", path="/issue/DEMO-2/comment", retry_after=1))
    client.add_comment("DEMO-2", "h3. Summary")
    assert len(writes(jira_emulator)) == 2
    assert len(jira_emulator.comments("DEMO-2")) == before + 1


# -- sign-in ------------------------------------------------------------------------------------


def test_basic_auth_and_a_personal_access_token_both_sign_in(
    jira_emulator: JiraEmulator,
) -> None:
    basic = JiraClient.from_settings(settings_for(jira_emulator.url))
    token = jira_emulator.add_token("chatops")
    pat = JiraClient.from_settings(
        settings_for(
            jira_emulator.url, jira_auth="pat", jira_user=None, jira_api_token=SecretStr(token)
        )
    )
    assert basic.myself().ids == pat.myself().ids == {"acc-chatops", "chatops"}
    schemes = [r.headers["authorization"].split()[0] for r in jira_emulator.requests]
    assert schemes == ["Basic", "Bearer"]


def test_a_wrong_token_is_a_sign_in_error(jira_emulator: JiraEmulator) -> None:
    client = client_for(
        jira_emulator.url, jira_auth="pat", jira_api_token=SecretStr("expired-token")
    )
    with pytest.raises(JiraSignInError) as caught:
        client.issue("DEMO-2")
    assert "JIRA_API_TOKEN" in caught.value.public_message
    assert "expired-token" not in str(caught.value)


# -- the webhook loop ----------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[EmulatorServer]:
    """Where Jira delivers webhooks: answers 204 and keeps what it got."""
    server = EmulatorServer()

    def take(ex: Exchange) -> None:
        ex.handler.send_response(204)
        ex.handler.send_header("Content-Length", "0")
        ex.handler.end_headers()

    server.route("POST", "/jira/webhook", take)
    with server:
        yield server


def test_the_bots_own_summary_comes_back_as_a_webhook_that_does_not_trigger(
    client: JiraClient, jira_emulator: JiraEmulator, receiver: EmulatorServer
) -> None:
    secret = "whsec-sandbox"
    jira_emulator.subscribe(f"{receiver.url}/jira/webhook", secret)
    upsert_summary(client, "DEMO-2", SUMMARY, "5555aaaa5555aaaa")
    jira_emulator.post_comment("DEMO-2", "erin", "Fixed in the template, deploying.")
    deliveries = _wait_for(jira_emulator, 4)
    bot = client.myself().account_id
    decisions = {}
    for delivery in deliveries:
        assert delivery.status == 204
        assert verify(delivery.body, delivery.headers["X-Hub-Signature"], secret)
        event = parse(json.loads(delivery.body))
        decisions[(event.event, event.people[0].display_name)] = should_summarize(
            event, Triggers(events=frozenset({"comment_created", "jira:issue_updated"})), bot
        ).summarize
    assert decisions == {
        ("comment_created", "ChatOps Bot"): False,
        ("jira:issue_updated", "ChatOps Bot"): False,
        ("comment_created", "Erin Walsh"): True,
        ("jira:issue_updated", "Erin Walsh"): True,
    }


def _wait_for(emulator: JiraEmulator, count: int) -> list[Any]:
    """Deliveries after a change are sent in the background, as Jira sends them."""
    deadline = time.monotonic() + 10
    while len(emulator.deliveries) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(emulator.deliveries) == count
    return emulator.deliveries
