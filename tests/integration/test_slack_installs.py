"""The Slack emulator's workspaces, OAuth flow and surfaces through the real `slack_sdk`
client, and the worker's per-installation clients against it with a real Redis: a token
reaches only its workspace's channels (an org-wide one, every workspace of its org), a
rotating token expires and is refreshed — by one process, saved for all — an uninstalled
workspace's token is refused and the worker knows it is gone; modals open only on a fresh
trigger, and a view Slack would refuse is refused."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation

from chatops.installations import NotInstalledError, RedisInstallationStore
from chatops.settings import load_settings
from sandbox.slack import SlackEmulator
from sandbox.slack_installs import CLIENT_ID, CLIENT_SECRET
from sandbox.slack_views import TRIGGER_TTL_S
from workers.installations import InstallationClients


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator().start()
    emulator.oauth_redirect_uri = "https://bot.example/slack/oauth_redirect"
    emulator.add_workspace("T_ONE", "One", channels={"C_ONE": "one"})
    emulator.add_workspace("T_TWO", "Two", channels={"C_TWO": "two"}, token_lifetime_s=61)
    emulator.add_org("E_ACME", "Acme")
    emulator.add_workspace("T_A1", "A1", channels={"C_A1": "a1"}, enterprise_id="E_ACME")
    emulator.add_workspace("T_A2", "A2", channels={"C_A2": "a2"}, enterprise_id="E_ACME")
    try:
        yield emulator
    finally:
        emulator.stop()


def api(slack: SlackEmulator, token: str | None = None) -> WebClient:
    return WebClient(token=token, base_url=slack.url + "/api/")


def install(slack: SlackEmulator, team: str) -> dict[str, Any]:
    """Approve on Slack's authorize page (a 302 back with a code), then exchange the code."""
    query = f"client_id={CLIENT_ID}&scope=chat:write&state=s1&team={team}"

    class Stop(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(Stop)
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(f"{slack.url}/oauth/v2/authorize?{query}")
    location = redirected.value.headers["Location"]
    redirected.value.close()
    assert location.startswith("https://bot.example/slack/oauth_redirect?")
    back = parse_qs(urlsplit(location).query)
    assert back["state"] == ["s1"]
    return dict(
        api(slack)
        .oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=back["code"][0])
        .data
    )


def error_of(call: Any, **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call(**kwargs)
    return str(caught.value.response["error"])


def test_a_workspace_token_reaches_its_own_channels_only(slack: SlackEmulator) -> None:
    granted = install(slack, "T_ONE")
    one = api(slack, granted["access_token"])

    assert (granted["team"]["id"], granted["is_enterprise_install"]) == ("T_ONE", False)
    posted = one.chat_postMessage(channel="C_ONE", text="hi")
    assert slack.message("C_ONE", posted["ts"])["team"] == "T_ONE"
    assert error_of(one.chat_postMessage, channel="C_TWO", text="hi") == "channel_not_found"
    assert error_of(one.chat_postMessage, channel="C_OPS", text="hi") == "channel_not_found"
    assert error_of(
        api(slack).oauth_v2_access, client_id=CLIENT_ID, client_secret="x", code="c"
    ) == ("bad_client_secret")

    slack.installs.uninstall(team_id="T_ONE")
    assert error_of(one.chat_postMessage, channel="C_ONE", text="hi") == "token_revoked"


def test_an_org_wide_token_reaches_every_workspace_of_its_org(slack: SlackEmulator) -> None:
    granted = install(slack, "E_ACME")
    org = api(slack, granted["access_token"])

    assert (granted["team"], granted["enterprise"]["id"]) == (None, "E_ACME")
    assert org.auth_test()["is_enterprise_install"] is True
    for channel in ("C_A1", "C_A2"):
        org.chat_postMessage(channel=channel, text="hi")
    assert error_of(org.chat_postMessage, channel="C_ONE", text="hi") == "channel_not_found"
    assert slack.bot_user_for("T_A1") == slack.bot_user_for("T_A2") == "W_CHATOPS_ACME"


def test_a_rotating_token_expires_and_a_refresh_gives_a_new_one(slack: SlackEmulator) -> None:
    slack.add_workspace("T_BRIEF", "Brief", channels={"C_BRIEF": "brief"}, token_lifetime_s=0.5)
    granted = install(slack, "T_BRIEF")
    assert granted["access_token"].startswith("xoxe.xoxb-") and granted["refresh_token"]

    time.sleep(0.6)
    stale = api(slack, granted["access_token"])
    assert error_of(stale.chat_postMessage, channel="C_BRIEF", text="hi") == "token_expired"
    fresh = api(slack).oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=granted["refresh_token"],
    )
    api(slack, fresh["access_token"]).chat_postMessage(channel="C_BRIEF", text="hi")


def test_the_worker_refreshes_an_expiring_token_once_for_every_process(
    slack: SlackEmulator, redis_url: str
) -> None:
    granted = install(slack, "T_TWO")  # good for 61 s
    connection = redis.Redis.from_url(redis_url)
    store = RedisInstallationStore(connection)
    store.save(
        Installation(
            app_id="A_CHATOPS",
            enterprise_id=None,
            team_id="T_TWO",
            bot_token=granted["access_token"],
            bot_id="B_CHATOPS_TWO",
            bot_user_id=granted["bot_user_id"],
            bot_refresh_token=granted["refresh_token"],
            bot_token_expires_in=30,  # within SLACK_TOKEN_ROTATION_MINUTES=1 of expiring
            user_id="U_ALICE",
        )
    )
    settings = load_settings(
        _env_file=None,
        redis_url=redis_url,
        slack_api_url=slack.url + "/api/",
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_token_rotation_minutes=1,
    )
    first = InstallationClients(settings, connection)
    second = InstallationClients(settings, connection)

    clients = first.clients("T_TWO")
    assert clients.token != granted["access_token"] and clients.bot_user_id == "U_CHATOPS_TWO"
    assert second.clients("T_TWO").token == clients.token  # read from the store, not refreshed
    assert slack.installs.tokens("T_TWO") == [granted["access_token"], clients.token]
    clients.slack.chat_postMessage(channel="C_TWO", text="hi")

    store.delete_all(enterprise_id=None, team_id="T_TWO")
    with pytest.raises(NotInstalledError):
        first.clients("T_TWO")


def test_a_modal_opens_only_on_a_fresh_trigger_and_a_bad_view_is_refused(
    slack: SlackEmulator,
) -> None:
    client = api(slack, "xoxb-sandbox")
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Policy"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }
    opened = client.views_open(trigger_id=slack.views.issue_trigger("U_ALICE"), view=modal)
    assert slack.views.modal(opened["view"]["id"]).user == "U_ALICE"
    assert error_of(client.views_open, trigger_id="9.9.nope", view=modal) == "invalid_trigger_id"
    stale = slack.views.issue_trigger("U_ALICE")
    time.sleep(TRIGGER_TTL_S + 0.1)
    assert error_of(client.views_open, trigger_id=stale, view=modal) == "expired_trigger_id"
    too_many = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    assert error_of(client.views_publish, user_id="U_ALICE", view=too_many) == "invalid_blocks"
    header = {
        "type": "home",
        "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    assert error_of(client.views_publish, user_id="U_ALICE", view=header) == "invalid_blocks"
    assert client.users_info(user="U_ALICE")["user"]["is_owner"] is True
