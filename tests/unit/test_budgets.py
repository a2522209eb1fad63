"""Daily budgets on fakeredis with Lua: reserve, refuse, settle, reset, downgrade."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import fakeredis
import pytest

from gateway import keys
from gateway.budgets import BUDGET_NAMES, BudgetCaps, Budgets
from gateway.errors import BudgetExceededError, UserFacingError
from tests.clock import next_midnight, today, today_at

# Today 15:30 UTC: Redis expires keys by the real clock, so "now" follows the real day.
NOW = today_at(15, 30)
MIDNIGHT = next_midnight(today())
TODAY = today().isoformat()
TOMORROW = (today() + datetime.timedelta(days=1)).isoformat()
DOLLAR = 1_000_000
WHO = ("U1", "C1", "T1")
TIERS = ["small", "medium", "large"]
WORST_CASE = {"small": 1_000, "medium": 40_000, "large": 200_000}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client() -> Iterator[fakeredis.FakeRedis]:
    redis_client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    yield redis_client
    redis_client.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def spent(budgets: Budgets) -> tuple[int, int, int]:
    user, channel, workspace = WHO
    return (
        budgets.spent_micro_usd("user", user),
        budgets.spent_micro_usd("channel", channel),
        budgets.spent_micro_usd("workspace", workspace),
    )


def test_reserve_counts_against_all_three_scopes(client: fakeredis.FakeRedis, clock: Clock) -> None:
    budgets = Budgets(client, BudgetCaps(DOLLAR, 5 * DOLLAR, 20 * DOLLAR), clock=clock)
    budgets.reserve(*WHO, 100_000)
    budgets.reserve(*WHO, 250_000)
    assert spent(budgets) == (350_000, 350_000, 350_000)


def test_refusal_names_the_budget_what_is_left_and_when_it_resets(
    client: fakeredis.FakeRedis, clock: Clock
) -> None:
    budgets = Budgets(client, BudgetCaps(user_micro_usd=DOLLAR), clock=clock)
    budgets.reserve(*WHO, 987_700)
    with pytest.raises(BudgetExceededError) as excinfo:
        budgets.reserve(*WHO, 20_000)
    error = excinfo.value
    assert isinstance(error, UserFacingError)
    assert error.scope == "user" and error.remaining_micro_usd == 12_300
    assert error.public_message == (
        "This request would go over your daily budget: $0.0123 left."
        f" It resets at 00:00 UTC on {TOMORROW}."
    )
    assert spent(budgets) == (987_700, 987_700, 987_700), "a refusal changes nothing"


@pytest.mark.parametrize(
    ("caps", "scope"),
    [
        (BudgetCaps(channel_micro_usd=DOLLAR), "channel"),
        (BudgetCaps(workspace_micro_usd=DOLLAR), "workspace"),
        (BudgetCaps(DOLLAR, DOLLAR, DOLLAR), "user"),
    ],
)
def test_the_first_scope_that_does_not_fit_is_named(
    client: fakeredis.FakeRedis, clock: Clock, caps: BudgetCaps, scope: str
) -> None:
    budgets = Budgets(client, caps, clock=clock)
    with pytest.raises(BudgetExceededError) as excinfo:
        budgets.reserve(*WHO, DOLLAR + 1)
    assert excinfo.value.scope == scope
    assert BUDGET_NAMES[scope] in excinfo.value.public_message
    assert "$1.00 left" in excinfo.value.public_message


def test_zero_cap_means_no_cap(client: fakeredis.FakeRedis, clock: Clock) -> None:
    budgets = Budgets(client, BudgetCaps(), clock=clock)
    budgets.reserve(*WHO, 10_000 * DOLLAR)
    assert spent(budgets)[0] == 10_000 * DOLLAR


def test_exact_fit_is_granted(client: fakeredis.FakeRedis, clock: Clock) -> None:
    budgets = Budgets(client, BudgetCaps(user_micro_usd=DOLLAR), clock=clock)
    budgets.reserve(*WHO, DOLLAR)
    with pytest.raises(BudgetExceededError, match="0 micro-USD left"):
        budgets.reserve(*WHO, 1)


def test_settle_adjusts_by_the_difference_and_refunds_failures(
    client: fakeredis.FakeRedis, clock: Clock
) -> None:
    budgets = Budgets(client, BudgetCaps(user_micro_usd=DOLLAR), clock=clock)
    cheaper = budgets.reserve(*WHO, 300_000)
    dearer = budgets.reserve(*WHO, 100_000)
    failed = budgets.reserve(*WHO, 200_000)
    budgets.settle(cheaper, 120_000)
    budgets.settle(dearer, 150_000)
    budgets.settle(failed, 0)
    assert spent(budgets) == (270_000, 270_000, 270_000)


def test_settle_past_the_cap_is_never_refused(client: fakeredis.FakeRedis, clock: Clock) -> None:
    budgets = Budgets(client, BudgetCaps(user_micro_usd=DOLLAR), clock=clock)
    reservation = budgets.reserve(*WHO, 900_000)
    budgets.settle(reservation, 1_300_000)
    assert spent(budgets)[0] == 1_300_000
    with pytest.raises(BudgetExceededError) as excinfo:
        budgets.reserve(*WHO, 0)
    assert excinfo.value.remaining_micro_usd == 0
    assert "$0.00 left" in excinfo.value.public_message


def test_budgets_reset_at_utc_midnight(client: fakeredis.FakeRedis, clock: Clock) -> None:
    budgets = Budgets(client, BudgetCaps(user_micro_usd=DOLLAR), clock=clock)
    yesterday = budgets.reserve(*WHO, DOLLAR)
    clock.now = MIDNIGHT - 1
    with pytest.raises(BudgetExceededError):
        budgets.reserve(*WHO, 1)
    clock.now = MIDNIGHT
    assert spent(budgets) == (0, 0, 0)
    budgets.reserve(*WHO, 400_000)
    # A call reserved before midnight settles against the day it reserved on.
    budgets.settle(yesterday, 0)
    assert spent(budgets)[0] == 400_000
    assert int(client.get(keys.budget_spent(TODAY, "user", "U1")) or -1) == 0


def test_keys_expire_a_day_after_the_period_ends(client: fakeredis.FakeRedis, clock: Clock) -> None:
    Budgets(client, BudgetCaps(), clock=clock).reserve(*WHO, 5)
    for scope, name in zip(("user", "channel", "workspace"), WHO, strict=True):
        key = keys.budget_spent(TODAY, scope, name)
        assert client.expiretime(key) == int(MIDNIGHT) + 86_400


def test_script_is_registered_once_and_run_by_sha(
    client: fakeredis.FakeRedis, clock: Clock
) -> None:
    budgets = Budgets(client, BudgetCaps(), clock=clock)
    script = budgets._script
    assert client.script_exists(script.sha) == [False]
    budgets.reserve(*WHO, 1)
    assert client.script_exists(script.sha) == [True]
    budgets.reserve(*WHO, 1)
    assert budgets._script is script


def test_bad_amounts_and_caps_are_programming_errors(
    client: fakeredis.FakeRedis, clock: Clock
) -> None:
    budgets = Budgets(client, BudgetCaps(), clock=clock)
    with pytest.raises(ValueError, match="negative"):
        budgets.reserve(*WHO, -1)
    with pytest.raises(ValueError, match="negative"):
        budgets.settle(budgets.reserve(*WHO, 1), -5)
    with pytest.raises(ValueError, match="caps"):
        Budgets(client, BudgetCaps(user_micro_usd=-1))
    with pytest.raises(ValueError, match="scope"):
        budgets.spent_micro_usd("team", "x")


# choose_tier


def test_requested_tier_granted_when_it_fits(client: fakeredis.FakeRedis, clock: Clock) -> None:
    budgets = Budgets(client, BudgetCaps(user_micro_usd=DOLLAR), clock=clock)
    grant = budgets.choose_tier(*WHO, "large", WORST_CASE, TIERS)
    assert (grant.tier, grant.downgraded) == ("large", False)
    assert grant.reservation.amount_micro_usd == 200_000


def test_downgrade_to_the_most_capable_tier_that_fits(
    client: fakeredis.FakeRedis, clock: Clock
) -> None:
    budgets = Budgets(client, BudgetCaps(user_micro_usd=DOLLAR), clock=clock)
    budgets.reserve(*WHO, 900_000)
    grant = budgets.choose_tier(*WHO, "large", WORST_CASE, TIERS)
    assert (grant.tier, grant.downgraded) == ("medium", True)
    assert spent(budgets)[0] == 940_000
    budgets.reserve(*WHO, 59_000)
    grant = budgets.choose_tier(*WHO, "large", WORST_CASE, TIERS)
    assert (grant.tier, grant.downgraded) == ("small", True)


def test_refused_when_even_the_cheapest_tier_does_not_fit(
    client: fakeredis.FakeRedis, clock: Clock
) -> None:
    budgets = Budgets(client, BudgetCaps(channel_micro_usd=DOLLAR), clock=clock)
    budgets.reserve(*WHO, DOLLAR - 500)
    with pytest.raises(BudgetExceededError) as excinfo:
        budgets.choose_tier(*WHO, "medium", WORST_CASE, TIERS)
    assert excinfo.value.remaining_micro_usd == 500
    assert "this channel's daily budget: $0.0005 left" in excinfo.value.public_message
    assert spent(budgets)[1] == DOLLAR - 500


def test_never_upgrades_above_the_requested_tier(client: fakeredis.FakeRedis, clock: Clock) -> None:
    budgets = Budgets(client, BudgetCaps(user_micro_usd=500), clock=clock)
    with pytest.raises(BudgetExceededError):
        budgets.choose_tier(*WHO, "small", WORST_CASE, TIERS)
    with pytest.raises(ValueError, match="not in the order"):
        budgets.choose_tier(*WHO, "huge", WORST_CASE, TIERS)
    with pytest.raises(ValueError, match="worst-case"):
        budgets.choose_tier(*WHO, "large", {"large": 1}, TIERS)


@pytest.mark.parametrize(
    ("micro_usd", "text"),
    [
        (0, "$0.00"),
        (370_000, "$0.37"),
        (12_300, "$0.0123"),
        (12_345_678, "$12.3456"),
        (12_500_000, "$12.50"),
        (40, "$0.00"),
        (100, "$0.0001"),
    ],
)
def test_dollars_shown_with_two_to_four_decimals_rounded_down(micro_usd: int, text: str) -> None:
    error = BudgetExceededError(
        scope="user",
        budget_name="your daily budget",
        remaining_micro_usd=micro_usd,
        resets_at=datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC),
    )
    assert f": {text} left." in error.public_message
