"""Channel policies: what a policy may hold, how it is stored, cached and logged, and how a
channel's daily budget replaces the deployment's channel cap."""

from __future__ import annotations

import fakeredis
import pytest

from gateway.budgets import BudgetCaps
from gateway.channel_policy import MAX_PROMPT_CHARS, ChannelPolicies, ChannelPolicy, PolicyChange

TEAM = "T1"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def policies(client: fakeredis.FakeRedis, clock: Clock) -> ChannelPolicies:
    return ChannelPolicies(client, default_allowed=False, ttl_s=5.0, clock=clock)


@pytest.mark.parametrize(
    "fields",
    [
        {"min_tier": "huge"},
        {"max_tier": "xl"},
        {"min_tier": "large", "max_tier": "small"},
        {"daily_budget_micro_usd": -1},
        {"prompt_addition": "x" * (MAX_PROMPT_CHARS + 1)},
    ],
)
def test_a_policy_that_cannot_be_kept_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ChannelPolicy(**fields)  # type: ignore[arg-type]


def test_ec2_only_allows_the_self_hosted_backend_alone() -> None:
    assert ChannelPolicy(ec2_only=True).allowed_backends == ("ec2",)
    assert ChannelPolicy().allowed_backends == ()


def test_a_policy_survives_json_and_says_what_changed() -> None:
    before = ChannelPolicy(allowed=False)
    after = ChannelPolicy(allowed=True, max_tier="small", prompt_addition="Name the runbook.")

    assert ChannelPolicy.from_json(after.to_json()) == after
    assert after.changes_from(before) == {
        "allowed": (False, True),
        "max_tier": ("", "small"),
        "prompt_addition": ("", "Name the runbook."),
    }


def test_a_channel_nobody_set_has_the_default_and_is_noted_as_seen(
    policies: ChannelPolicies,
) -> None:
    assert policies.get(TEAM, "C1") == ChannelPolicy(allowed=False)
    assert policies.get(TEAM, "D_ALICE") == ChannelPolicy(allowed=False)
    assert policies.seen(TEAM) == {"C1"}  # DMs have no policy of their own


def test_a_saved_policy_is_read_back_with_who_set_it_and_logged(
    policies: ChannelPolicies,
) -> None:
    change = policies.save(TEAM, "C1", ChannelPolicy(max_tier="medium"), by="U_ADMIN", at=50.0)

    stored = policies.get(TEAM, "C1")
    assert (stored.max_tier, stored.updated_by, stored.updated_at) == ("medium", "U_ADMIN", 50.0)
    assert change == PolicyChange(
        50.0, "U_ADMIN", "C1", {"allowed": (False, True), "max_tier": ("", "medium")}
    )
    assert policies.log(TEAM) == [change]
    assert policies.stored("T2") == {}  # another workspace's channels are its own


def test_another_process_sees_a_change_once_its_cache_lapses(
    client: fakeredis.FakeRedis, policies: ChannelPolicies, clock: Clock
) -> None:
    other = ChannelPolicies(client, default_allowed=False, ttl_s=5.0, clock=clock)
    assert not other.get(TEAM, "C1").allowed

    policies.save(TEAM, "C1", ChannelPolicy(allowed=True), by="U_ADMIN", at=1.0)

    assert policies.get(TEAM, "C1").allowed  # the writer forgets what it kept
    assert not other.get(TEAM, "C1").allowed
    clock.now += 5.0
    assert other.get(TEAM, "C1").allowed


def test_refusals_are_logged_newest_first(policies: ChannelPolicies) -> None:
    policies.save(TEAM, "C1", ChannelPolicy(), by="U_ADMIN", at=1.0)
    policies.refuse(TEAM, "C1", by="U_MEMBER", at=2.0, reason="not an admin")

    assert [(c.by, c.refused) for c in policies.log(TEAM)] == [
        ("U_MEMBER", "not an admin"),
        ("U_ADMIN", ""),
    ]
    assert policies.get(TEAM, "C1").updated_by == "U_ADMIN"


def test_dropping_a_workspace_forgets_its_channels_and_only_its_own(
    policies: ChannelPolicies,
) -> None:
    policies.get(TEAM, "C_SEEN")
    policies.save(TEAM, "C_SET", ChannelPolicy(), by="U_ADMIN", at=1.0)
    policies.save("T2", "C_OTHER", ChannelPolicy(), by="U_ADMIN", at=1.0)

    assert policies.drop_team(TEAM) == ["C_SEEN", "C_SET"]

    assert (policies.stored(TEAM), policies.seen(TEAM), policies.log(TEAM)) == ({}, set(), [])
    assert policies.get(TEAM, "C_SET") == ChannelPolicy(allowed=False)
    assert list(policies.stored("T2")) == ["C_OTHER"]


def test_a_channel_budget_replaces_the_deployments_channel_cap(
    policies: ChannelPolicies,
) -> None:
    base = BudgetCaps(user_micro_usd=1_000_000, channel_micro_usd=5_000_000)
    policies.save(TEAM, "C_CAPPED", ChannelPolicy(daily_budget_micro_usd=250_000), by="U", at=1.0)
    caps = policies.budget_caps(base)

    assert caps("U1", "C_CAPPED", TEAM) == BudgetCaps(1_000_000, 250_000, 0)
    assert caps("U1", "C_FREE", TEAM) == base
    assert caps("U1", "", TEAM) == base
