"""Jira webhooks: only a correctly signed body is taken, a retry has the same identity, and
the trigger rules decide — the bot's own comments and edits never start a summary."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from typing import Any

import pytest

from chatops.settings import load_settings
from gateway.errors import ConfigError
from integrations.jira.errors import WebhookPayloadError
from integrations.jira.webhook import (
    Triggers,
    WebhookEvent,
    identity,
    parse,
    should_summarize,
    verify,
)

SECRET = "whsec-7f3a0c"
BOT = "557058:bot-0001"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def cloud_user(account_id: str, name: str) -> dict[str, Any]:
    return {"accountId": account_id, "displayName": name, "active": True}


def payload(
    event: str = "comment_created",
    *,
    author: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
    labels: list[str] | None = None,
    issue_type: str = "Incident",
    key: str = "OPS-1435",
) -> dict[str, Any]:
    """Shaped like Jira Cloud's documented webhook bodies."""
    fields: dict[str, Any] = {
        "summary": "Checkout 502s",
        "project": {"id": "10000", "key": key.split("-")[0], "name": "Operations"},
        "issuetype": {"id": "10005", "name": issue_type},
    }
    if labels is not None:
        fields["labels"] = labels
    body: dict[str, Any] = {
        "timestamp": 1_764_000_000_000,
        "webhookEvent": event,
        "issue": {"id": "10231", "key": key, "fields": fields},
    }
    if event.startswith("comment_") or author is not None:
        writer = author or cloud_user("557058:dana", "Dana Lee")
        body["comment"] = {"id": "30001", "author": writer, "updateAuthor": writer, "body": "x"}
    if user is not None:
        body["user"] = user
    if event == "jira:issue_updated" and "comment" in body:
        body["issue_event_type_name"] = "issue_commented"
    return body


# -- signature and identity ------------------------------------------------------------------


def test_a_correctly_signed_body_verifies() -> None:
    body = json.dumps(payload()).encode()
    assert verify(body, sign(body), SECRET)
    assert verify(body, "SHA256=" + sign(body).split("=", 1)[1].upper(), SECRET)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha256=" + "0" * 64,
        "sha1=" + hmac.new(SECRET.encode(), b"{}", hashlib.sha1).hexdigest(),
        "sha512=" + hmac.new(SECRET.encode(), b"{}", hashlib.sha512).hexdigest(),
        "sha256=é-not-hex",
    ],
)
def test_missing_forged_or_other_algorithm_signatures_fail(header: str | None) -> None:
    assert not verify(b"{}", header, SECRET)


def test_a_body_changed_after_signing_fails() -> None:
    body = json.dumps(payload()).encode()
    assert not verify(body.replace(b"OPS-1435", b"OPS-1436"), sign(body), SECRET)
    assert not verify(body, sign(body, "another-secret"), SECRET)


def test_without_a_configured_secret_nothing_verifies() -> None:
    body = b"{}"
    assert not verify(body, sign(body, ""), "")


def test_identity_is_the_atlassian_identifier_whatever_the_header_case() -> None:
    assert identity({"x-atlassian-webhook-identifier": " 8f4c-11 "}) == "8f4c-11"
    assert identity({"X-Atlassian-Webhook-Identifier": "8f4c-11"}) == "8f4c-11"
    assert identity({"X-Hub-Signature": "sha256=00"}) is None
    assert identity({"X-Atlassian-Webhook-Identifier": "x" * 500}) is None


# -- parsing -----------------------------------------------------------------------------------


def test_a_comment_event_names_its_issue_and_who_wrote_it() -> None:
    event = parse(payload(labels=["incident"]))
    assert (event.event, event.issue_key, event.project, event.issue_type) == (
        "comment_created",
        "OPS-1435",
        "OPS",
        "Incident",
    )
    assert event.labels == ("incident",) and event.comment_id == "30001"
    assert [p.account_id for p in event.people] == ["557058:dana", "557058:dana"]
    assert event.is_comment


def test_server_payloads_identify_people_by_name_and_key() -> None:
    server_user = {"name": "chatops", "key": "JIRAUSER10100", "displayName": "ChatOps Bot"}
    event = parse(payload("jira:issue_updated", author=server_user, user=server_user))
    assert event.issue_event == "issue_commented" and event.is_comment
    assert event.actor is not None
    assert {"chatops", "JIRAUSER10100"} <= event.actor.ids


@pytest.mark.parametrize(
    "body", [{}, {"webhookEvent": "comment_created"}, {"webhookEvent": 3, "issue": {}}]
)
def test_a_body_that_is_not_an_issue_event_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(WebhookPayloadError):
        parse(body)


# -- trigger rules -----------------------------------------------------------------------------


def event(**changes: Any) -> WebhookEvent:
    return replace(parse(payload(labels=["incident"])), **changes)


def test_a_comment_on_a_watched_issue_triggers() -> None:
    decision = should_summarize(event(), Triggers(), BOT)
    assert decision == (True, "comment_created on OPS-1435")


def test_the_bots_own_comment_never_triggers() -> None:
    mine = parse(payload(author=cloud_user(BOT, "ChatOps Bot")))
    assert should_summarize(mine, Triggers(), BOT) == (
        False,
        "caused by the bot's own Jira account",
    )


def test_the_bots_own_edit_never_triggers() -> None:
    edited = parse(payload("jira:issue_updated", user=cloud_user(BOT, "ChatOps Bot")))
    triggers = Triggers(events=frozenset({"jira:issue_updated"}))
    assert not should_summarize(edited, triggers, BOT).summarize
    by_dana = parse(payload("jira:issue_updated", user=cloud_user("557058:dana", "Dana")))
    assert should_summarize(by_dana, triggers, BOT).summarize


@pytest.mark.parametrize(
    ("triggers", "reason"),
    [
        (Triggers(events=frozenset({"jira:issue_created"})), "event comment_created is not"),
        (Triggers(projects=frozenset({"PLAT"})), "project OPS is not a trigger"),
        (Triggers(allowed_projects=frozenset({"PLAT"})), "project OPS is outside JIRA_PROJECTS"),
        (Triggers(issue_types=frozenset({"story"})), "issue type Incident is not"),
        (Triggers(labels=frozenset({"sev1"})), "no trigger label"),
        (Triggers(min_new_comments=5), "1 of 5 new comments"),
    ],
)
def test_events_outside_the_triggers_do_not_summarize(triggers: Triggers, reason: str) -> None:
    decision = should_summarize(event(), triggers, BOT)
    assert not decision.summarize and decision.reason.startswith(reason)


def test_enough_new_comments_trigger_and_names_compare_without_case() -> None:
    triggers = Triggers(
        projects=frozenset({"OPS"}),
        labels=frozenset({"incident"}),
        issue_types=frozenset({"incident"}),
        min_new_comments=5,
    )
    assert should_summarize(event(labels=("Incident",)), triggers, BOT, new_comments=5).summarize
    created = event(event="jira:issue_created", comment_id=None, comment_people=())
    assert should_summarize(created, triggers, BOT, new_comments=0).summarize


def test_labels_the_payload_does_not_carry_cannot_match() -> None:
    decision = should_summarize(event(labels=None), Triggers(labels=frozenset({"x"})), BOT)
    assert decision == (False, "the event does not say the issue's labels")


def test_triggers_come_from_settings_within_the_allowlist() -> None:
    settings = load_settings(
        _env_file=None,
        jira_projects="ops, plat",
        jira_trigger_projects="OPS",
        jira_trigger_labels="Incident, sev1",
        jira_trigger_events="comment_created",
        jira_trigger_min_new_comments=3,
    )
    triggers = Triggers.from_settings(settings)
    assert triggers.projects == {"OPS"} and triggers.allowed_projects == {"OPS", "PLAT"}
    assert triggers.labels == {"incident", "sev1"}
    assert triggers.events == {"comment_created"} and triggers.min_new_comments == 3


def test_an_unknown_trigger_event_stops_start_up_with_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^JIRA_TRIGGER_EVENTS: unknown event\(s\) issue_moved"):
        load_settings(_env_file=None, jira_trigger_events="comment_created, issue_moved")
