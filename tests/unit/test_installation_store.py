"""Installations in the queue Redis, as Bolt and the workers read them: a workspace's own, an
Enterprise Grid org's found from any of its workspaces, a revoked bot token gone, an uninstall
forgetting the org's workspaces; OAuth states usable once; and the scopes an install asks for
are the manifest's."""

from __future__ import annotations

from pathlib import Path

import fakeredis
import pytest
import yaml
from slack_sdk.oauth.installation_store import Installation

from bot.app import BOT_SCOPES
from chatops.installations import RedisInstallationStore, RedisOAuthStateStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture
def store(client: fakeredis.FakeRedis) -> RedisInstallationStore:
    return RedisInstallationStore(client)


def installation(team: str | None, enterprise: str | None = None, **fields: object) -> Installation:
    return Installation(
        app_id="A1",
        enterprise_id=enterprise,
        team_id=team,
        bot_token=f"xoxb-{team or enterprise}",
        bot_id="B1",
        bot_user_id=f"U_BOT_{team or enterprise}",
        bot_scopes="chat:write,commands",
        user_id="U_INSTALLER",
        is_enterprise_install=team is None,
        **fields,  # type: ignore[arg-type]
    )


def test_each_workspace_finds_its_own_installation(store: RedisInstallationStore) -> None:
    store.save(installation("T1"))
    store.save(installation("T2"))

    bot = store.find_bot(enterprise_id=None, team_id="T2")
    assert (bot.bot_token, bot.bot_user_id) == ("xoxb-T2", "U_BOT_T2")  # type: ignore[union-attr]
    found = store.find_installation(enterprise_id=None, team_id="T1")
    assert found is not None and found.bot_token == "xoxb-T1"
    assert store.find_installation(enterprise_id=None, team_id="T1", user_id="U_INSTALLER")
    assert store.find_bot(enterprise_id=None, team_id="T3") is None
    assert store.installed() == [(None, "T1"), (None, "T2")]


def test_an_org_wide_install_is_found_from_any_workspace_of_the_org(
    store: RedisInstallationStore,
) -> None:
    store.save(installation(None, "E1"))

    from_workspace = store.find_bot(enterprise_id="E1", team_id="T_A")
    as_org = store.find_installation(enterprise_id="E1", team_id="T_A", is_enterprise_install=True)
    assert from_workspace is not None and from_workspace.bot_token == "xoxb-E1"
    assert as_org is not None and as_org.bot_token == "xoxb-E1"
    # Once seen with its org, a workspace's own id is enough (a daily digest's job).
    assert store.find_bot(enterprise_id=None, team_id="T_A").bot_token == "xoxb-E1"  # type: ignore[union-attr]
    assert store.find_bot(enterprise_id=None, team_id="T_B") is None
    assert store.org_members("E1") == ["T_A"]


def test_a_revoked_bot_token_is_never_handed_out(store: RedisInstallationStore) -> None:
    store.save(installation("T1"))
    store.delete_bot(enterprise_id=None, team_id="T1")

    assert store.find_bot(enterprise_id=None, team_id="T1") is None
    found = store.find_installation(enterprise_id=None, team_id="T1")
    assert found is not None and found.bot_token is None


def test_a_rotated_token_replaces_the_one_the_install_saved(store: RedisInstallationStore) -> None:
    store.save(installation("T1", bot_refresh_token="r1", bot_token_expires_in=60))
    bot = store.find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None
    bot.bot_token, bot.bot_refresh_token = "xoxe.xoxb-new", "r2"
    store.save_bot(bot)

    found = store.find_installation(enterprise_id=None, team_id="T1")
    assert found is not None and (found.bot_token, found.bot_refresh_token) == (
        "xoxe.xoxb-new",
        "r2",
    )


def test_uninstalling_an_org_forgets_its_workspaces_and_nothing_else(
    store: RedisInstallationStore,
) -> None:
    store.save(installation(None, "E1"))
    store.save(installation("T_OTHER"))
    store.find_bot(enterprise_id="E1", team_id="T_A")

    store.delete_all(enterprise_id="E1", team_id=None)

    assert store.find_bot(enterprise_id="E1", team_id="T_A") is None
    assert store.find_bot(enterprise_id=None, team_id="T_A") is None
    assert store.org_members("E1") == []
    assert store.installed() == [(None, "T_OTHER")]


def test_an_oauth_state_is_good_once(client: fakeredis.FakeRedis) -> None:
    states = RedisOAuthStateStore(client, expiration_s=60)
    state = states.issue()

    assert states.consume(state) is True
    assert states.consume(state) is False
    assert states.consume("never-issued") is False
    assert client.ttl(f"chatops:oauth-state:{states.issue()}") == 60


def test_an_install_asks_for_the_scopes_the_manifest_grants() -> None:
    manifest = yaml.safe_load((ROOT / "slack-manifest.yml").read_text(encoding="utf-8"))
    assert set(BOT_SCOPES) == set(manifest["oauth_config"]["scopes"]["bot"])
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "app_uninstalled", "tokens_revoked", "message.channels"} <= events
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
