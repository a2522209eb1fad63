"""API tokens as `chatops api-token` and the API use them: shown once, kept only as a hash,
found by the token a client presents, revoked for good."""

from __future__ import annotations

import fakeredis
import pytest

from api.tokens import TOKEN_PREFIX, TokenStore
from gateway.errors import ConfigError


@pytest.fixture
def client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


def _everything_stored(client: fakeredis.FakeRedis) -> bytes:
    dump = b""
    for key in client.keys("*"):
        kind = client.type(key)
        value = client.hgetall(key) if kind == b"hash" else {b"": client.get(key)}
        dump += key + b"".join(k + (v or b"") for k, v in value.items())
    return dump


def test_a_token_is_never_stored_only_its_hash(client: fakeredis.FakeRedis) -> None:
    token, record = TokenStore(client).create("platform", "alice@example.com", 5_000_000)

    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    stored = _everything_stored(client)
    assert token.encode() not in stored
    assert token[len(TOKEN_PREFIX) :].encode() not in stored
    assert record.token_id.encode() in stored


def test_the_presented_token_finds_who_it_speaks_for(client: fakeredis.FakeRedis) -> None:
    store = TokenStore(client)
    token, record = store.create("platform", "alice", 5_000_000)
    other, _ = store.create("data", "bob")

    found = store.find(token)
    assert found == record
    assert (found.team, found.user, found.daily_budget_micro_usd) == (
        "platform",
        "alice",
        5_000_000,
    )
    assert store.find(other).team == "data"
    assert store.find(token + "x") is None
    assert store.find("sk-not-ours") is None


def test_revoked_by_id_or_by_token_it_stays_revoked(client: fakeredis.FakeRedis) -> None:
    times = iter([100.0, 200.0, 300.0, 400.0, 500.0])
    store = TokenStore(client, clock=lambda: next(times))
    first, first_record = store.create("platform", "alice")
    second, _ = store.create("platform", "bob")

    revoked = store.revoke(first_record.token_id)
    again = store.revoke(first)
    by_token = store.revoke(second)

    assert revoked.revoked_at == 300.0 and again.revoked_at == 300.0
    assert store.find(first).is_revoked and store.find(second).is_revoked
    assert by_token.user == "bob" and by_token.revoked_at == 400.0


def test_list_is_every_token_oldest_first(client: fakeredis.FakeRedis) -> None:
    times = iter([30.0, 10.0, 20.0])
    store = TokenStore(client, clock=lambda: next(times))
    for user in ("carol", "alice", "bob"):
        store.create("platform", user)

    assert [record.user for record in store.all()] == ["alice", "bob", "carol"]
    assert TokenStore(fakeredis.FakeRedis()).all() == []


@pytest.mark.parametrize(
    ("team", "user", "budget", "named"),
    [
        ("", "alice", None, "--team"),
        ("a team", "alice", None, "--team"),
        ("team:x", "alice", None, "--team"),
        ("platform", "", None, "--user"),
        ("platform", "a b", None, "--user"),
        ("platform", "alice", -1, "--daily-budget-usd"),
    ],
)
def test_bad_names_and_budgets_are_refused_in_one_line(
    client: fakeredis.FakeRedis, team: str, user: str, budget: int | None, named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        TokenStore(client).create(team, user, budget)
    assert client.keys("*") == []


def test_revoking_an_unknown_token_names_it(client: fakeredis.FakeRedis) -> None:
    with pytest.raises(ConfigError, match="no API token 'tok_nope'"):
        TokenStore(client).revoke("tok_nope")
