"""The price catalog: packaged rows, user files, exact cost arithmetic, unpriced ids, ec2."""

from __future__ import annotations

import json
import logging
import random
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.pricing import PriceCatalog, spread_micro_usd
from gateway.types import Usage

HAIKU_GLOBAL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET_GLOBAL = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA_MICRO = "amazon.nova-micro-v1:0"

# (input, output, cache write, cache read) in USD per 1M tokens, from FACTS.md.
FACTS_PRICES = {
    HAIKU_GLOBAL: ("1.00", "5.00", "1.25", "0.10"),
    "anthropic.claude-haiku-4-5-20251001-v1:0": ("1.10", "5.50", "1.375", "0.11"),
    "us.anthropic.claude-haiku-4-5-20251001-v1:0": ("1.10", "5.50", "1.375", "0.11"),
    "eu.anthropic.claude-haiku-4-5-20251001-v1:0": ("1.10", "5.50", "1.375", "0.11"),
    SONNET_GLOBAL: ("3.00", "15.00", "3.75", "0.30"),
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0": ("3.30", "16.50", "4.125", "0.33"),
    "anthropic.claude-3-5-haiku-20241022-v1:0": ("0.80", "4.00", "1.00", "0.08"),
    NOVA_MICRO: ("0.035", "0.14", None, "0.00875"),
    "us.amazon.nova-micro-v1:0": ("0.035", "0.14", None, "0.00875"),
    "amazon.nova-lite-v1:0": ("0.06", "0.24", None, "0.015"),
    "amazon.nova-pro-v1:0": ("0.80", "3.20", None, "0.20"),
    "meta.llama3-1-8b-instruct-v1:0": ("0.22", "0.22", None, None),
    "meta.llama3-1-70b-instruct-v1:0": ("0.72", "0.72", None, None),
    "meta.llama3-3-70b-instruct-v1:0": ("0.72", "0.72", None, None),
    "mistral.mistral-7b-instruct-v0:2": ("0.15", "0.20", None, None),
}


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return PriceCatalog.load()


def _write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _row(model_id: str, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": model_id,
        "input": "2.00",
        "output": "8.00",
        "cache_write": None,
        "cache_read": None,
        "source": "negotiated",
        "date": "2026-11-01",
    }
    row.update(overrides)
    return row


@pytest.mark.parametrize("model_id", sorted(FACTS_PRICES))
def test_packaged_catalog_has_the_facts_prices(catalog: PriceCatalog, model_id: str) -> None:
    price = catalog.price(model_id)
    assert price is not None
    expected = tuple(_dec(text) for text in FACTS_PRICES[model_id])
    actual = (
        price.input_micro_usd_per_token,
        price.output_micro_usd_per_token,
        price.cache_write_micro_usd_per_token,
        price.cache_read_micro_usd_per_token,
    )
    assert actual == expected
    assert price.source and price.date


def test_every_packaged_row_names_its_source(catalog: PriceCatalog) -> None:
    assert len(catalog.model_ids) >= len(FACTS_PRICES)
    for model_id in catalog.model_ids:
        price = catalog.price(model_id)
        assert price is not None and "genai-prices" in price.source


def test_the_four_counters_are_priced_separately(catalog: PriceCatalog) -> None:
    usage = Usage(
        1_000, 200, cache_read_tokens=10_000, cache_write_tokens=5_000, model=HAIKU_GLOBAL
    )
    # 1000*1 + 200*5 + 5000*1.25 + 10000*0.10 micro-USD.
    assert catalog.cost_micro_usd(usage) == 1_000 + 1_000 + 6_250 + 1_000


def test_cost_is_rounded_once_per_call_not_per_counter(catalog: PriceCatalog) -> None:
    # 10*0.035 + 3*0.14 = 0.77 micro-USD: rounds to 1, while rounding each counter gives 0.
    assert catalog.cost_micro_usd(Usage(10, 3, model=NOVA_MICRO)) == 1
    # 0.245 rounds down to 0: a tiny call is cheap, not free-by-accident of a missing price.
    assert catalog.cost_micro_usd(Usage(3, 1, model=NOVA_MICRO)) == 0


def test_a_missing_cache_write_price_bills_the_input_rate(catalog: PriceCatalog) -> None:
    written = Usage(0, 0, cache_write_tokens=1_000_000, model=NOVA_MICRO)
    plain = Usage(1_000_000, 0, model=NOVA_MICRO)
    assert catalog.cost_micro_usd(written) == catalog.cost_micro_usd(plain) == 35_000


def test_profile_prefix_is_part_of_the_id(catalog: PriceCatalog) -> None:
    def million_each(model_id: str) -> int | None:
        return catalog.cost_micro_usd(Usage(1_000_000, 1_000_000, model=model_id))

    assert million_each(HAIKU_GLOBAL) == 6_000_000
    assert million_each("us.anthropic.claude-haiku-4-5-20251001-v1:0") == 6_600_000


def test_unknown_id_is_unpriced_and_warned_once(
    catalog: PriceCatalog, caplog: pytest.LogCaptureFixture
) -> None:
    model_id = f"us.example.unknown-{uuid.uuid4().hex}"
    with caplog.at_level(logging.WARNING, logger="gateway.pricing"):
        assert catalog.cost_micro_usd(Usage(100, 100, model=model_id)) is None
        assert catalog.cost_micro_usd(Usage(5, 5, model=model_id)) is None
        assert catalog.uncached_cost_micro_usd(model_id, 1, 1) is None
    warnings = [r for r in caplog.records if model_id in r.getMessage()]
    assert len(warnings) == 1
    assert "not zero" in warnings[0].getMessage()


def test_naive_baseline_uses_the_full_uncompacted_uncached_input(catalog: PriceCatalog) -> None:
    usage = Usage(1_000, 500, cache_read_tokens=4_000, cache_write_tokens=2_000, model=NOVA_MICRO)
    baseline = catalog.naive_baseline_micro_usd(
        SONNET_GLOBAL, usage, compaction_removed_tokens=3_000
    )
    # (1000 + 4000 + 2000 + 3000) * 3 + 500 * 15 micro-USD.
    assert baseline == 30_000 + 7_500


def test_naive_baseline_is_unpriced_when_the_strongest_model_is(catalog: PriceCatalog) -> None:
    usage = Usage(10, 10, model=NOVA_MICRO)
    assert catalog.naive_baseline_micro_usd(f"nope-{uuid.uuid4().hex}", usage) is None


def test_user_file_extends_and_replaces_rows(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "unit": "USD per 1M tokens",
            "models": [_row(NOVA_MICRO, input="0.030"), _row("custom.model-v1:0")],
            "ec2_instances": [
                {
                    "instance_type": "g6.xlarge",
                    "hourly_usd": "0.8048",
                    "region": "us-east-1",
                    "source": "our invoice",
                    "date": "2026-11-01",
                }
            ],
        },
    )
    merged = PriceCatalog.load(path)
    nova = merged.price(NOVA_MICRO)
    assert nova is not None and nova.input_micro_usd_per_token == Decimal("0.030")
    assert nova.cache_read_micro_usd_per_token is None, "a user row replaces the packaged row whole"
    assert merged.price("custom.model-v1:0") is not None
    assert merged.price(HAIKU_GLOBAL) == PriceCatalog.load().price(HAIKU_GLOBAL)
    assert merged.instance_hourly_micro_usd("g6.xlarge") == 804_800
    assert merged.instance_hourly_micro_usd("g5.xlarge") == 1_006_000


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (_row("bad.one-v1:0", input=0.5), ["'bad.one-v1:0'", "'input'"]),
        (_row("bad.two-v1:0", output="1,5"), ["'bad.two-v1:0'", "'output'"]),
        (_row("bad.three-v1:0", date="soon"), ["'bad.three-v1:0'", "'date'"]),
        ({k: v for k, v in _row("bad.four-v1:0").items() if k != "cache_read"}, ["'cache_read'"]),
        (_row("bad.five-v1:0", colour="red"), ["'bad.five-v1:0'", "'colour'"]),
    ],
)
def test_bad_row_names_the_row_and_field(
    tmp_path: Path, row: dict[str, object], expected: list[str]
) -> None:
    path = _write(tmp_path, {"unit": "USD per 1M tokens", "models": [_row("ok.model-v1:0"), row]})
    with pytest.raises(ConfigError) as excinfo:
        PriceCatalog.load(path)
    message = str(excinfo.value)
    assert str(path) in message and "models[1]" in message
    for fragment in expected:
        assert fragment in message


def test_wrong_unit_duplicate_ids_and_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unit"):
        PriceCatalog.load(_write(tmp_path, {"unit": "USD per 1K tokens", "models": []}))
    twice = {"unit": "USD per 1M tokens", "models": [_row("a.b-v1:0"), _row("a.b-v1:0")]}
    with pytest.raises(ConfigError, match=r"a\.b-v1:0 listed more than once"):
        PriceCatalog.load(_write(tmp_path, twice))
    with pytest.raises(ConfigError, match="cannot read"):
        PriceCatalog.load(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.json"):
        PriceCatalog.load(tmp_path / "broken.json")


def test_instance_prices(catalog: PriceCatalog, caplog: pytest.LogCaptureFixture) -> None:
    assert catalog.instance_hourly_micro_usd("g5.xlarge") == 1_006_000
    unknown = f"x{uuid.uuid4().hex[:6]}.large"
    with caplog.at_level(logging.WARNING, logger="gateway.pricing"):
        assert catalog.instance_hourly_micro_usd(unknown) is None
        assert catalog.ec2_cost_for_period(unknown, 1, 1) is None
    assert len([r for r in caplog.records if unknown in r.getMessage()]) == 1


def test_ec2_period_cost_and_its_spread_over_requests(catalog: PriceCatalog) -> None:
    period = catalog.ec2_cost_for_period("g5.xlarge", Decimal("7.5"), tokens_served=3_000_000)
    assert period is not None
    assert period.cost_micro_usd == 7_545_000
    assert period.micro_usd_per_million_tokens == 2_515_000
    shares = spread_micro_usd(period.cost_micro_usd, {"r1": 1_000_000, "r2": 1_999_999, "r3": 1})
    assert sum(shares.values()) == period.cost_micro_usd
    assert shares["r3"] in (2, 3)
    idle = catalog.ec2_cost_for_period("g5.xlarge", 24, tokens_served=0)
    assert idle is not None and idle.cost_micro_usd == 24_144_000
    assert idle.micro_usd_per_million_tokens is None


@pytest.mark.parametrize("seed", range(20))
def test_spread_always_sums_to_the_total(seed: int) -> None:
    rng = random.Random(seed)
    weights = {f"r{i}": rng.randint(0, 10_000) for i in range(rng.randint(1, 30))}
    total = rng.randint(0, 50_000_000)
    parts = spread_micro_usd(total, weights)
    assert sum(parts.values()) == (total if sum(weights.values()) else 0)
    assert all(part >= 0 for part in parts.values())


def test_every_bedrock_model_of_the_default_tiers_is_priced(catalog: PriceCatalog) -> None:
    from chatops.settings import load_settings

    settings = load_settings(_env_file=None)
    models = {
        r.model for routes in settings.tiers.values() for r in routes if r.backend == "bedrock"
    }
    assert models
    assert {m for m in models if catalog.price(m) is None} == set()
    assert catalog.instance_hourly_micro_usd(settings.ec2_instance_type) is not None
