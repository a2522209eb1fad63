"""The Jira emulator through the real `jira` library, as the integration will use it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import pytest
import requests
from jira import JIRA, JIRAError

from sandbox.jira import JiraEmulator
from sandbox.jira_render import render_wiki
from sandbox.server import EmulatorServer, Fault
from tests.conftest import free_port


@pytest.fixture
def jira_emulator() -> Iterator[JiraEmulator]:
    emulator = JiraEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


def client_for(emulator: JiraEmulator, max_retries: int = 3) -> JIRA:
    return JIRA(
        server=emulator.url,
        basic_auth=("chatops", "sandbox-token"),
        get_server_info=False,
        max_retries=max_retries,
    )


@pytest.fixture
def jira(jira_emulator: JiraEmulator) -> Iterator[JIRA]:
    client = client_for(jira_emulator)
    yield client
    client.close()


def test_issue_with_changelog_and_rendered_fields(jira: JIRA) -> None:
    issue = jira.issue("DEMO-1", expand="changelog,renderedFields")
    assert issue.fields.summary == "Intermittent 502s from the payments gateway"
    assert issue.fields.status.name == "In Progress"
    assert issue.fields.project.key == "DEMO"
    assert issue.fields.assignee.displayName == "Alice Adams"
    assert "{code}" in issue.fields.description
    assert issue.fields.comment.total == 200
    assert "<pre>" in issue.renderedFields.description
    assert issue.changelog.histories[1].items[0].toString == "In Progress"


def test_fields_parameter_limits_the_fields_returned(jira: JIRA) -> None:
    issue = jira.issue("DEMO-3", fields="summary,status")
    assert set(issue.raw["fields"]) == {"summary", "status"}
    everything_but = jira.issue("DEMO-3", fields="*all,-comment")
    assert "comment" not in everything_but.raw["fields"]
    assert "labels" in everything_but.raw["fields"]


def test_comments_page_through_all_200(jira: JIRA) -> None:
    seen, start = [], 0
    while True:
        page = jira.comments("DEMO-1", start_at=start, max_results=50)
        if not page:
            break
        seen.extend(page)
        start += len(page)
    assert len(seen) == 200
    assert len({c.id for c in seen}) == 200
    assert [c.created for c in seen] == sorted(c.created for c in seen)
    assert any("{code" in c.body for c in seen)
    assert any("[~" in c.body for c in seen)


def test_comment_page_reports_the_total(jira_emulator: JiraEmulator) -> None:
    page = requests.get(
        f"{jira_emulator.url}/rest/api/2/issue/DEMO-1/comment",
        params={"startAt": 190, "maxResults": 50},
        auth=("chatops", "sandbox-token"),
        timeout=5,
    ).json()
    assert (page["startAt"], page["maxResults"], page["total"]) == (190, 50, 200)
    assert len(page["comments"]) == 10


def test_add_comment_then_update_is_visible_in_a_fresh_read(
    jira: JIRA, jira_emulator: JiraEmulator
) -> None:
    comment = jira.add_comment("DEMO-2", "h3. Summary\nDraft.")
    comment.update(body="h3. Summary\nFinal.")
    fresh = client_for(jira_emulator)
    try:
        assert fresh.comment("DEMO-2", comment.id).body == "h3. Summary\nFinal."
        assert [c.body for c in fresh.comments("DEMO-2")][-1] == "h3. Summary\nFinal."
    finally:
        fresh.close()
    [*_, mine] = jira_emulator.comments("DEMO-2")
    assert (mine.author, mine.body) == ("chatops", "h3. Summary\nFinal.")
    assert len(jira_emulator.comments("DEMO-2")) == 2


def test_unknown_issue_is_a_404_with_jira_error_messages(jira: JIRA) -> None:
    with pytest.raises(JIRAError) as caught:
        jira.issue("DEMO-999")
    assert caught.value.status_code == 404
    assert "does not exist" in caught.value.text


def test_requests_without_credentials_are_refused(jira_emulator: JiraEmulator) -> None:
    reply = requests.get(f"{jira_emulator.url}/rest/api/2/myself", timeout=5)
    assert reply.status_code == 401
    assert reply.json()["errorMessages"]


def test_search_by_project_with_order_by(jira: JIRA) -> None:
    demo = jira.search_issues("project = DEMO ORDER BY created ASC")
    assert [i.key for i in demo] == ["DEMO-3", "DEMO-1", "DEMO-2"]
    assert demo.total == 3
    ops = jira.search_issues("project = OPS", fields="summary", use_post=True)
    assert sorted(i.key for i in ops) == ["OPS-1", "OPS-2"]
    assert set(ops[0].raw["fields"]) == {"summary"}
    assert [i.key for i in jira.search_issues("key = DEMO-2")] == ["DEMO-2"]


def test_search_refuses_unknown_projects_and_unsupported_jql(jira: JIRA) -> None:
    with pytest.raises(JIRAError) as unknown:
        jira.search_issues("project = NOPE")
    assert unknown.value.status_code == 400
    with pytest.raises(JIRAError):
        jira.search_issues("project = DEMO OR project = OPS")


def test_added_issues_are_served_and_searchable(jira: JIRA, jira_emulator: JiraEmulator) -> None:
    jira_emulator.add_issue(
        "LOAD-7",
        "Replayed issue",
        "Some *wiki* text",
        comments=[("bob", "first"), ("carol", "second")],
        status="Done",
    )
    issue = jira.issue("LOAD-7")
    assert issue.fields.status.name == "Done"
    assert [c.body for c in issue.fields.comment.comments] == ["first", "second"]
    assert [i.key for i in jira.search_issues("project = LOAD")] == ["LOAD-7"]


def test_throttle_is_a_429_with_retry_after(jira_emulator: JiraEmulator) -> None:
    jira_emulator.inject(Fault(kind="throttle", path="/issue/DEMO-2", retry_after=3))
    no_retries = client_for(jira_emulator, max_retries=0)
    try:
        with pytest.raises(JIRAError) as caught:
            no_retries.issue("DEMO-2")
    finally:
        no_retries.close()
    assert caught.value.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "3"


@pytest.mark.slow
def test_the_library_retries_a_503_after_retry_after(
    jira: JIRA, jira_emulator: JiraEmulator
) -> None:
    jira_emulator.inject(Fault(kind="error", status=503, path="/issue/DEMO-2", retry_after=0))
    assert jira.issue("DEMO-2").key == "DEMO-2"
    assert len(jira_emulator.requests_to("/issue/DEMO-2")) == 2


def test_a_500_is_not_retried(jira: JIRA, jira_emulator: JiraEmulator) -> None:
    jira_emulator.inject(Fault(kind="error", path="/comment"))
    with pytest.raises(JIRAError) as caught:
        jira.add_comment("DEMO-2", "hello")
    assert caught.value.status_code == 500
    assert len(jira_emulator.comments("DEMO-2")) == 1


def test_wiki_markup_renders_code_bold_mentions_and_links() -> None:
    html = render_wiki(
        "*bold* and {{mono}} by [~alice]\n{code:python}\nx = 1 < 2\n{code}\n"
        "[runbook|https://wiki.example.com/r]"
    )
    assert "<b>bold</b>" in html
    assert "<tt>mono</tt>" in html
    assert 'rel="alice"' in html
    assert "<pre>\nx = 1 &lt; 2\n</pre>" in html
    assert '<a href="https://wiki.example.com/r">runbook</a>' in html


# -- REST v3 (ADF), tokens, visibility, permissions ------------------------------------------


def test_rest_v3_serves_adf_documents(jira_emulator: JiraEmulator) -> None:
    cloud = JIRA(
        server=jira_emulator.url,
        basic_auth=("chatops", "sandbox-token"),
        options={"rest_api_version": "3"},
        get_server_info=False,
    )
    try:
        description = cloud.issue("DEMO-1").raw["fields"]["description"]
        comments = cloud.comments("DEMO-1", start_at=0, max_results=200)
    finally:
        cloud.close()
    assert description["type"] == "doc"
    kinds = {node["type"] for node in description["content"]}
    assert {"heading", "bulletList", "orderedList", "codeBlock", "paragraph"} <= kinds
    tables = [c.raw["body"] for c in comments if '"table"' in json.dumps(c.raw["body"])]
    assert tables and tables[0]["content"][1]["type"] == "table"
    mention = next(
        node
        for c in comments
        for block in c.raw["body"]["content"]
        for node in block.get("content", [])
        if node["type"] == "mention"
    )
    assert mention["attrs"]["id"].startswith("acc-") and mention["attrs"]["text"].startswith("@")


def test_an_adf_comment_reads_as_wiki_markup_through_v2(jira_emulator: JiraEmulator) -> None:
    adf = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Pool", "marks": [{"type": "strong"}]},
                    {"type": "text", "text": " back to 30"},
                ],
            }
        ],
    }
    posted = requests.post(
        f"{jira_emulator.url}/rest/api/3/issue/DEMO-2/comment",
        json={"body": adf},
        auth=("chatops", "sandbox-token"),
        timeout=5,
    )
    assert posted.status_code == 201 and posted.json()["body"] == adf
    wiki = requests.get(
        posted.json()["self"].replace("/rest/api/3/", "/rest/api/2/"),
        auth=("chatops", "sandbox-token"),
        timeout=5,
    ).json()
    assert wiki["body"] == "*Pool* back to 30"


def test_v3_refuses_a_wiki_markup_body(jira_emulator: JiraEmulator) -> None:
    reply = requests.post(
        f"{jira_emulator.url}/rest/api/3/issue/DEMO-2/comment",
        json={"body": "plain text"},
        auth=("chatops", "sandbox-token"),
        timeout=5,
    )
    assert reply.status_code == 400


def test_a_personal_access_token_signs_in_as_its_user(jira_emulator: JiraEmulator) -> None:
    token = jira_emulator.add_token("carol")
    server = JIRA(server=jira_emulator.url, token_auth=token, get_server_info=False)
    try:
        assert server.myself()["displayName"] == "Carol Chen"
        comment = server.add_comment("DEMO-2", "From a token.")
    finally:
        server.close()
    assert jira_emulator.comments("DEMO-2")[-1].author == "carol" == comment.author.name
    stranger = requests.get(
        f"{jira_emulator.url}/rest/api/2/myself",
        headers={"Authorization": "Bearer not-a-token"},
        timeout=5,
    )
    assert stranger.status_code == 401


def test_comment_visibility_is_kept_and_shown(jira: JIRA, jira_emulator: JiraEmulator) -> None:
    comment = jira.add_comment(
        "OPS-2", "Internal note", visibility={"type": "role", "value": "Dev"}
    )
    assert comment.raw["visibility"] == {"type": "role", "value": "Dev"}
    assert jira_emulator.comments("OPS-2")[-1].visibility == {"type": "role", "value": "Dev"}
    comment.update(body="Internal note, edited")
    assert jira.comment("OPS-2", comment.id).raw["visibility"]["value"] == "Dev"


def test_a_restricted_project_does_not_exist_for_others(
    jira: JIRA, jira_emulator: JiraEmulator
) -> None:
    jira_emulator.restrict("OPS", {"alice"})
    with pytest.raises(JIRAError) as caught:
        jira.issue("OPS-1")
    assert caught.value.status_code == 404
    assert [i.key for i in jira.search_issues("project = OPS")] == []
    alice = JIRA(server=jira_emulator.url, basic_auth=("alice", "x"), get_server_info=False)
    try:
        assert alice.issue("OPS-1").key == "OPS-1"
    finally:
        alice.close()


# -- signed webhooks ---------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[EmulatorServer]:
    server = EmulatorServer()
    server.route("POST", "/hooks/jira", lambda ex: ex.send_json({}, 202))
    with server:
        yield server


def test_a_webhook_is_signed_over_its_raw_body(
    jira_emulator: JiraEmulator, receiver: EmulatorServer
) -> None:
    delivery = jira_emulator.send_webhook(
        f"{receiver.url}/hooks/jira",
        "s3cret",
        "comment_created",
        "DEMO-1",
        comment_id=_first_comment_id(jira_emulator),
    )
    assert delivery.status == 202
    expected = hmac.new(b"s3cret", delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["X-Hub-Signature"] == f"sha256={expected}"
    [received] = receiver.requests_to("/hooks/jira")
    assert received.headers["x-hub-signature"] == f"sha256={expected}"
    assert received.headers["x-atlassian-webhook-identifier"] == delivery.identifier
    body = received.body
    assert (body["webhookEvent"], body["issue"]["key"]) == ("comment_created", "DEMO-1")
    assert body["comment"]["author"]["displayName"] == "Alice Adams"
    assert body["issue"]["fields"]["labels"] == ["incident", "payments", "alb"]


def test_a_redelivery_keeps_its_identifier_and_body(
    jira_emulator: JiraEmulator, receiver: EmulatorServer
) -> None:
    first = jira_emulator.send_webhook(
        f"{receiver.url}/hooks/jira", "s3cret", "jira:issue_updated", "DEMO-2", actor="erin"
    )
    again = jira_emulator.redeliver(first)
    assert (again.identifier, again.body) == (first.identifier, first.body)
    assert again.headers["X-Atlassian-Webhook-Retry"] == "1"
    assert first.payload["user"]["name"] == "erin"
    assert first.payload["issue_event_type_name"] == "issue_generic"
    assert len(receiver.requests_to("/hooks/jira")) == 2


def test_subscribers_hear_of_comments_written_through_the_api(
    jira: JIRA, jira_emulator: JiraEmulator, receiver: EmulatorServer
) -> None:
    jira_emulator.subscribe(f"{receiver.url}/hooks/jira", "s3cret", events=["comment_created"])
    jira.add_comment("DEMO-2", "A new comment")
    deadline = time.monotonic() + 10
    while not jira_emulator.deliveries and time.monotonic() < deadline:
        time.sleep(0.02)
    [delivery] = jira_emulator.deliveries
    assert delivery.payload["comment"]["body"] == "A new comment"
    assert delivery.payload["comment"]["author"]["name"] == "chatops"


def test_an_unreachable_receiver_is_recorded_not_raised(jira_emulator: JiraEmulator) -> None:
    delivery = jira_emulator.send_webhook(
        f"http://127.0.0.1:{free_port()}/hooks/jira", "s3cret", "jira:issue_created", "DEMO-3"
    )
    assert delivery.status is None and jira_emulator.deliveries == [delivery]


def _first_comment_id(emulator: JiraEmulator) -> str:
    """DEMO-1's first comment, by Alice."""
    return emulator.comments("DEMO-1")[0].id
