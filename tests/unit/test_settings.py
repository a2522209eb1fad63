"""Settings: defaults parse, and a bad value stops start-up with one line naming it."""

from __future__ import annotations

import pytest

from chatops.settings import load_settings, parse_routes
from gateway.errors import ConfigError
from gateway.types import Route


def test_tier_entries_split_on_the_first_colon_only() -> None:
    assert parse_routes("bedrock:amazon.nova-micro-v1:0, ec2:llama-3.1-8b") == (
        Route("bedrock", "amazon.nova-micro-v1:0"),
        Route("ec2", "llama-3.1-8b"),
    )


def test_default_tiers_parse() -> None:
    tiers = load_settings(_env_file=None).tiers
    assert set(tiers) == {"small", "medium", "large"}
    assert all(routes for routes in tiers.values())


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"tier_small": "openai:gpt"}, "TIER_SMALL: expected backend:model"),
        ({"tier_large": "bedrock"}, "TIER_LARGE: expected backend:model"),
        ({"default_tier": "huge"}, "DEFAULT_TIER: expected one of small, medium, large"),
        ({"model_read_timeout_s": "-1"}, "MODEL_READ_TIMEOUT_S: Input should be greater than 0"),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(
    overrides: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, **overrides)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_bad_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIER_MEDIUM", "nowhere:model")
    with pytest.raises(ConfigError, match=r"^TIER_MEDIUM: .*\(got 'nowhere:model'\)"):
        load_settings(_env_file=None)


def test_no_model_credentials_means_sandbox() -> None:
    assert not load_settings(_env_file=None).has_model_credentials
    assert load_settings(
        _env_file=None, ec2_llm_base_url="http://gpu:8000/v1"
    ).has_model_credentials
