"""Where a channel's policy keeps the bot out, a request gets one sentence naming who can let
it in — and only where Redis can say so (with Redis gone nothing is queued, and the person is
told that instead)."""

from __future__ import annotations

import fakeredis

from bot.channel_gate import refusal
from bot.deps import BotDeps
from bot.jobs import JobQueue
from chatops import messages
from chatops.settings import load_settings
from gateway.channel_policy import ChannelPolicy


def deps_for(client: fakeredis.FakeRedis, **settings: object) -> BotDeps:
    loaded = load_settings(_env_file=None, **settings)
    return BotDeps(loaded, client, JobQueue(client, loaded))


def test_a_channel_kept_out_is_told_who_can_let_it_in() -> None:
    deps = deps_for(fakeredis.FakeRedis(), policy_admin_usergroup="S_ADMINS")
    deps.policies.save("T1", "C_OUT", ChannelPolicy(allowed=False), by="U_ADMIN", at=1.0)

    assert refusal(deps, "T1", "C_OUT") == (
        "I'm not switched on in this channel. A workspace admin or someone in"
        " <!subteam^S_ADMINS> can allow it from my App Home (open my profile, then *Home*)."
    )
    assert refusal(deps, "T1", "C_ELSEWHERE") is None


def test_channels_nobody_set_follow_the_deployments_default() -> None:
    deps = deps_for(fakeredis.FakeRedis(), channels_allowed_by_default=False)
    assert refusal(deps, "T1", "C_NEW") == messages.CHANNEL_NOT_ALLOWED.format(also="")


def test_with_redis_gone_the_gate_stands_aside() -> None:
    server = fakeredis.FakeServer()
    deps = deps_for(fakeredis.FakeRedis(server=server), channels_allowed_by_default=False)
    server.connected = False
    assert refusal(deps, "T1", "C_NEW") is None
