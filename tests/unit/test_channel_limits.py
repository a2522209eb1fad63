"""A channel's most capable tier (its policy's `max_tier`) caps the router's choice — scores,
overrides and escalations alike — and moving off a tier no allowed backend serves never climbs
past it."""

from __future__ import annotations

from gateway.router import TIERS, Decision, RouteInput, avoid_unavailable, route

DESIGN = (
    "Should we move the queue from Kafka to SQS, and what would we lose in ordering and replay"
    " for the payments consumers? Which would you pick?"
)


def _ask(question: str, **fields: object) -> Decision:
    defaults: dict[str, object] = {"task": "ask", "question": question, "task_tier": "medium"}
    return route(RouteInput(**(defaults | fields)))  # type: ignore[arg-type]


def test_the_channel_maximum_lowers_a_scored_tier_and_says_so() -> None:
    assert _ask(DESIGN).tier == "large"
    capped = _ask(DESIGN, channel_max_tier="medium")
    assert (capped.tier, capped.reason) == ("medium", "channel maximum")
    assert capped.signals[-1] == "channel maximum medium"
    assert _ask("who is on call?", channel_max_tier="medium").tier == "small"  # never raises


def test_the_channel_maximum_caps_a_persons_override_and_drops_a_model_above_it() -> None:
    tier = _ask("who is on call?", override_tier="large", channel_max_tier="small")
    assert (tier.tier, tier.reason) == ("small", "channel maximum")
    model = _ask("who?", override_model="sonnet", override_tier="large", channel_max_tier="medium")
    assert (model.tier, model.model, model.reason) == ("medium", None, "channel maximum")


def test_the_channel_maximum_caps_an_escalation() -> None:
    escalated = _ask("and the secondary?", escalated_tier="large", channel_max_tier="medium")
    assert (escalated.tier, escalated.reason) == ("medium", "channel maximum")


def test_moving_off_an_unavailable_tier_never_passes_the_channel_maximum() -> None:
    decision = _ask(
        "who is on call for platform?",
        unavailable=frozenset({"small"}),
        channel_max_tier="small",
    )
    assert decision.tier == "small"  # no way up within the channel's limit: the gateway says so
    moved = _ask(DESIGN, unavailable=frozenset({"large"}), channel_max_tier="large")
    assert (moved.tier, moved.reason) == ("medium", "large unavailable → medium")


def test_a_decision_the_router_did_not_score_moves_off_an_unavailable_tier() -> None:
    document_step = Decision("large", "task default")
    moved = avoid_unavailable(document_step, frozenset({"large"}))
    assert (moved.tier, moved.reason) == ("medium", "large unavailable → medium")
    assert avoid_unavailable(document_step, frozenset()) == document_step
    assert avoid_unavailable(document_step, frozenset(TIERS)) == document_step
