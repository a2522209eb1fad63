"""The ledger's record of instance state changes and the fleet state requests read, on fakeredis:
what is kept, in what order, for how long; what a request is told and what it leaves for the
controller; how calls in flight are counted and lapse."""

from __future__ import annotations

import dataclasses
import datetime

import fakeredis
import pytest

from chatops.settings import load_settings
from gateway import keys
from gateway.ec2_client import DEFAULT_BOT_TAG, Ec2Instance, FleetSpec, InstanceUrls
from gateway.ec2_fleet import Ec2Fleet, FleetStatus, FleetStore, InstanceRecord
from gateway.ec2_policy import EC2_STARTING, EC2_STOPPED, EC2_UNAVAILABLE
from gateway.errors import ConfigError
from gateway.instance_hours import Ec2Hours, InstanceHours, Interval
from gateway.pricing import PriceCatalog
from gateway.types import Route
from tests.clock import today_at

T0 = today_at(0)
HOUR = 3600.0
EC2 = Route("ec2", "llama-3.1-8b-instruct")


@pytest.fixture
def client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


def test_only_changes_are_kept_in_the_order_they_were_seen(client: fakeredis.FakeRedis) -> None:
    hours = InstanceHours(client)
    seen = [(T0, "stopped"), (T0, "pending"), (T0, "running"), (T0 + 60, "running")]
    assert [hours.record("i-a", state, at) for at, state in seen] == [True, True, True, False]
    # An observation older than the last one arrives late: it changes nothing.
    assert not hours.record("i-a", "stopped", T0 - 1)
    assert hours.intervals(["i-a"], T0 - HOUR, T0 + HOUR) == (Interval("i-a", T0, T0 + HOUR),)
    assert hours.instance_ids() == frozenset({"i-a"})


def test_changes_older_than_the_retention_go_but_the_state_they_left_stays(
    client: fakeredis.FakeRedis,
) -> None:
    hours = InstanceHours(client, retention_days=1)
    for n, state in enumerate(["running", "stopped", "running"]):
        hours.record("i-a", state, T0 - 3 * 86_400 + n * HOUR)
    hours.record("i-a", "stopped", T0)  # trims what is older than a day, but the last of it
    assert client.zcard(keys.ec2_instance_states("i-a")) == 2
    # It was running from 3 days ago until T0: the last hour of that is still billed.
    assert hours.intervals(["i-a"], T0 - HOUR, T0 + HOUR) == (Interval("i-a", T0 - HOUR, T0),)


def test_prices_round_once_and_days_get_their_running_share() -> None:
    intervals = (Interval("i-a", T0 - 2 * HOUR, T0 + 6 * HOUR), Interval("i-b", T0, T0 + HOUR))
    hours = Ec2Hours("g5.xlarge", 1_006_000, T0 - 86_400, T0 + 86_400, intervals, True)
    assert hours.hours == 9
    assert hours.cost_micro_usd == 9 * 1_006_000
    assert hours.always_on_micro_usd == 48 * 1_006_000
    assert hours.hours_by_instance() == {"i-a": 8, "i-b": 1}
    day = datetime.datetime.fromtimestamp(T0, datetime.UTC).date()
    yesterday = day - datetime.timedelta(days=1)
    assert hours.by_day(9 * 1_006_000, [yesterday, day]) == {
        yesterday: 2 * 1_006_000,
        day: 7 * 1_006_000,
    }
    unpriced = dataclasses.replace(hours, hourly_micro_usd=None)
    assert unpriced.cost_micro_usd is None and unpriced.always_on_micro_usd is None


def test_a_tag_named_fleet_is_every_instance_the_ledger_has(client: fakeredis.FakeRedis) -> None:
    hours = InstanceHours(client)
    for instance in ("i-a", "i-b"):
        hours.record(instance, "running", T0)
    catalog = PriceCatalog.load()
    assert len(hours.period(catalog, "g5.xlarge", (), T0, T0 + HOUR).intervals) == 2
    assert len(hours.period(catalog, "g5.xlarge", ("i-b",), T0, T0 + HOUR).intervals) == 1
    unconfigured = hours.period(catalog, "g5.xlarge", None, T0, T0 + HOUR)
    assert unconfigured.intervals == () and not unconfigured.configured


def saved(client: fakeredis.FakeRedis, *records: InstanceRecord) -> Ec2Fleet:
    store = FleetStore(client)
    store.save(FleetStatus(observed_at=T0, instances=records))
    return Ec2Fleet(store, clock=lambda: T0, lease_s=600)


def test_a_request_that_finds_nothing_ready_leaves_one_demand_and_one_wake(
    client: fakeredis.FakeRedis,
) -> None:
    fleet = saved(client, InstanceRecord("i-a", "stopped"))
    assert fleet.availability(EC2) == EC2_STOPPED
    assert fleet.availability(EC2) == EC2_STOPPED
    assert fleet.availability(Route("bedrock", "m")) is None
    assert client.get(keys.ec2_demand()) == repr(T0).encode()
    assert client.llen(keys.ec2_wake()) == 1
    assert fleet.store.take_demand() == T0 and fleet.store.take_demand() is None


def test_a_booting_instance_is_starting_and_wants_nothing_more(
    client: fakeredis.FakeRedis,
) -> None:
    fleet = saved(client, InstanceRecord("i-a", "pending", start_requested_at=T0 - 5))
    assert fleet.availability(EC2) == EC2_STARTING
    assert client.get(keys.ec2_demand()) is None
    # No controller has looked yet: nothing is known to be up.
    assert Ec2Fleet(FleetStore(fakeredis.FakeRedis())).availability(EC2) == EC2_UNAVAILABLE


def test_calls_in_flight_spread_and_lapse(client: fakeredis.FakeRedis) -> None:
    ready = {"state": "running", "healthy": True}
    fleet = saved(
        client,
        InstanceRecord("i-a", url="http://a/v1", up_since=T0 - HOUR, **ready),  # type: ignore[arg-type]
        InstanceRecord("i-b", url="http://b/v1", up_since=T0 - 60, **ready),  # type: ignore[arg-type]
    )
    assert fleet.availability(EC2) is None
    taken = [fleet.acquire() for _ in range(3)]
    assert [(a.instance_id, a.url) for a in taken if a] == [
        ("i-a", "http://a/v1"),
        ("i-b", "http://b/v1"),
        ("i-a", "http://a/v1"),
    ]
    assert fleet.store.in_flight(["i-a", "i-b"], T0) == {"i-a": 2, "i-b": 1}
    first = taken[0]
    assert first is not None
    fleet.release(first, served=True)
    day = datetime.datetime.fromtimestamp(T0, datetime.UTC).date()
    assert fleet.store.served(day) == {"i-a": 1}
    # A killed worker's call stops counting once its lease lapses.
    assert fleet.store.in_flight(["i-a", "i-b"], T0 + 601) == {"i-a": 0, "i-b": 0}
    assert fleet.store.last_sent() == {"i-a": T0, "i-b": T0}


def test_the_settings_that_name_the_fleet_and_its_urls() -> None:
    assert FleetSpec.parse("", "") is None
    assert FleetSpec.parse("i-1, i-2,", "") == FleetSpec(("i-1", "i-2"), "chatops-bot", "llm")
    assert FleetSpec.parse("", "team=ml").tag == "team=ml"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match=f"expected Key=Value, e.g. {DEFAULT_BOT_TAG}"):
        FleetSpec.parse("", "team")
    urls = InstanceUrls.parse("i-1=http://gpu-1:8000/v1", "http://{private_ip}:8000/v1/")
    assert urls.url(Ec2Instance("i-1", "running", private_ip="10.0.0.5")) == "http://gpu-1:8000/v1"
    assert (
        urls.url(Ec2Instance("i-2", "running", private_ip="10.0.0.6")) == "http://10.0.0.6:8000/v1"
    )
    with pytest.raises(ValueError, match=r"unknown field\(s\) ip"):
        InstanceUrls.parse("", "http://{ip}:8000/v1")
    with pytest.raises(ValueError, match="expected instance-id=URL pairs"):
        InstanceUrls.parse("http://gpu-1:8000/v1", "")


def test_the_fleet_exists_only_when_instances_are_configured(client: fakeredis.FakeRedis) -> None:
    assert Ec2Fleet.from_settings(load_settings(_env_file=None), client) is None
    configured = load_settings(_env_file=None, ec2_instance_ids="i-0abc123def4567890")
    assert Ec2Fleet.from_settings(configured, client) is not None
    with pytest.raises(ConfigError, match="EC2_INSTANCE_TAG: expected Key=Value"):
        Ec2Fleet.from_settings(load_settings(_env_file=None, ec2_instance_tag="team"), client)
