"""Who may see spend (/llm-cost), and what a report shows to someone who may not see other
people's: no spend by user, every DM's row as one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.listeners.commands.llm_cost import parse, refusal
from chatops import messages
from chatops.settings import Settings, load_settings
from gateway.pricing import PriceCatalog
from tests.ledger_rows import ledger_row
from tests.unit.test_cost_render import START, make_report
from workers.cost_blocks import report_blocks
from workers.cost_report import without_people


def settings(**values: str) -> Settings:
    return load_settings(_env_file=None, **values)


def test_by_default_nobody_sees_spend() -> None:
    assert refusal(settings(), "U_ANYONE", parse("7d")) == messages.COST_NOT_ALLOWED


@pytest.mark.parametrize(
    ("text", "user", "refused"),
    [
        ("7d", "U_ALICE", None),
        ("7d", "U_CAROL", None),
        ("7d", "U_BOB", messages.COST_NOT_ALLOWED),
        ("7d <@U_ALICE|alice>", "U_ALICE", None),  # one's own spend
        ("7d <@U_BOB|bob>", "U_ALICE", messages.COST_OTHERS_NOT_ALLOWED),
        ("7d <@U_BOB|bob>", "U_CAROL", None),  # an admin
        ("7d <#C0OPS|ops> share", "U_ALICE", None),
        ("last-year", "U_ALICE", messages.COST_USAGE),
        ("last-year", "U_BOB", messages.COST_NOT_ALLOWED),  # nothing said to whom may not ask
    ],
)
def test_named_people_and_admins(text: str, user: str, refused: str | None) -> None:
    named = settings(cost_report_users="U_ALICE", cost_report_admins="U_CAROL")
    assert refusal(named, user, parse(text)) == refused


def test_with_a_user_group_the_worker_decides_after_looking_it_up() -> None:
    grouped = settings(cost_report_usergroup="S0SPEND")
    assert refusal(grouped, "U_DAVE", parse("today")) is None
    assert refusal(grouped, "U_DAVE", parse("<@U_BOB|bob>")) == messages.COST_OTHERS_NOT_ALLOWED


def test_share_is_understood() -> None:
    assert parse("today share") == {"period": "today", "share": True}
    assert parse("share 30d <#C0OPS|ops>") == {
        "period": "30d",
        "share": True,
        "only_channel": "C0OPS",
    }


def _rows(catalog: PriceCatalog) -> list[Any]:
    at = START.timestamp() + 3600
    return [
        ledger_row(catalog, at, user="U_ALICE", channel="C0OPS"),
        ledger_row(catalog, at + 1, user="U_BOB", channel="D0BOB", output_tokens=900),
        ledger_row(catalog, at + 2, user="U_CAROL", channel="D0CAROL", output_tokens=50),
    ]


def test_a_report_without_people_keeps_every_total() -> None:
    catalog = PriceCatalog.load(None)
    full = make_report(_rows(catalog), catalog)
    trimmed = without_people(full)

    assert "user" not in trimmed.breakdowns
    channels = {row.key: row for row in trimmed.breakdowns["channel"]}
    assert set(channels) == {"C0OPS", messages.COST_DIRECT_MESSAGES}
    dms = [row for row in full.breakdowns["channel"] if row.key.startswith("D")]
    merged = channels[messages.COST_DIRECT_MESSAGES]
    assert merged.spend_micro_usd == sum(row.spend_micro_usd for row in dms)
    assert merged.requests == 2 and merged.output_tokens == 950
    assert trimmed.spend_micro_usd == full.spend_micro_usd
    assert trimmed.breakdowns["model"] == full.breakdowns["model"]

    shown = json.dumps(report_blocks(trimmed))
    assert "*By user*" not in shown and "U_BOB" not in shown and "D0BOB" not in shown
    assert "*By user*" in json.dumps(report_blocks(full))
