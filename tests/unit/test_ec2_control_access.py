"""Who may run /llm-ec2: nobody unless named, like /llm-cost — starting a GPU spends money."""

from __future__ import annotations

import pytest

from bot.listeners.commands.llm_ec2 import allowed_users
from chatops.settings import Settings, load_settings


def settings(**values: str) -> Settings:
    return load_settings(_env_file=None, **values)


def test_by_default_nobody_controls_the_instances() -> None:
    assert allowed_users(settings()) == frozenset()


@pytest.mark.parametrize(
    ("values", "allowed"),
    [
        ({"cost_report_users": "U_ALICE, U_BOB"}, {"U_ALICE", "U_BOB"}),
        # A list of its own replaces the cost report's; admins are always in.
        ({"cost_report_users": "U_ALICE", "ec2_control_users": "U_OPS"}, {"U_OPS"}),
        ({"ec2_control_users": "U_OPS", "cost_report_admins": "U_CAROL"}, {"U_OPS", "U_CAROL"}),
        ({"cost_report_admins": "U_CAROL"}, {"U_CAROL"}),
        # A user group sees spend once the worker checks membership; it does not start GPUs.
        ({"cost_report_usergroup": "S_FINANCE"}, set()),
    ],
)
def test_the_people_named(values: dict[str, str], allowed: set[str]) -> None:
    assert allowed_users(settings(**values)) == allowed
