"""What a model call costs: the price catalog and the arithmetic on it.

Prices live in `prices.json` beside this module (package data), one row per model id including
inference-profile variants (`us.`, `eu.`, `global.`), because Bedrock bills by the full id and a
profile can cost 10% more than its global twin. Rates are USD per 1M tokens, which is the same
number as micro-USD per token, so a cost is `tokens * rate` with no unit conversion.

A user price file (`PriceCatalog.load(path)`) extends the packaged one: its rows replace
packaged rows with the same id whole and add the rest; packaged rows it does not name stay. That
lets an operator add a negotiated price or a new model without copying the whole catalog.

An id the catalog does not know is unpriced: costs come back `None` and one warning per id per
process says so. It is never treated as free.

The self-hosted `ec2` backend is not priced per token. Its ledger rows carry
`cost_micro_usd=None`; a later pass prices a period with `ec2_cost_for_period` (instance hours
times the hourly price) and spreads that over the requests served with `spread_micro_usd`, in
proportion to their tokens. Do not ask `cost_micro_usd` about an ec2 model: it would warn as
unpriced.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from gateway.errors import ConfigError
from gateway.types import Usage

logger = logging.getLogger(__name__)

PACKAGED_PRICES = "prices.json"
# The self-hosted backend: priced per instance hour over a period, never per token.
EC2_BACKEND = "ec2"
MICRO_USD_PER_USD = 1_000_000

# A price is a decimal string so that "0.00875" stays exactly 0.00875 (a JSON float would not).
_PriceText = Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)?$")]
_Text = Annotated[str, StringConstraints(min_length=1)]

_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


class _ModelRow(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: _Text
    input: _PriceText
    output: _PriceText
    # Required but nullable: a row must say outright that a model has no cache price.
    cache_write: _PriceText | None
    cache_read: _PriceText | None
    source: _Text
    date: datetime.date


class _InstanceRow(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    instance_type: _Text
    hourly_usd: _PriceText
    region: _Text
    source: _Text
    date: datetime.date


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # Required so that a file in another unit (per 1K tokens is common) fails loudly.
    unit: Literal["USD per 1M tokens"]
    models: list[_ModelRow] = Field(default_factory=list)
    ec2_instances: list[_InstanceRow] = Field(default_factory=list)


@dataclass(frozen=True)
class ModelPrice:
    """One model id's on-demand rates, in micro-USD per token (= USD per 1M tokens)."""

    model: str
    input_micro_usd_per_token: Decimal
    output_micro_usd_per_token: Decimal
    # None: the model has no such price. Bedrock bills tokens that are not read from (or not
    # written to) a cache at the input rate, so a missing cache rate falls back to it.
    cache_write_micro_usd_per_token: Decimal | None
    cache_read_micro_usd_per_token: Decimal | None
    source: str
    date: datetime.date

    def exact_cost(self, usage: Usage) -> Decimal:
        """The four counters priced separately: Bedrock's input count excludes cached tokens."""
        cache_write = _or_input(self.cache_write_micro_usd_per_token, self)
        cache_read = _or_input(self.cache_read_micro_usd_per_token, self)
        return (
            usage.input_tokens * self.input_micro_usd_per_token
            + usage.output_tokens * self.output_micro_usd_per_token
            + usage.cache_write_tokens * cache_write
            + usage.cache_read_tokens * cache_read
        )


def _or_input(rate: Decimal | None, price: ModelPrice) -> Decimal:
    return price.input_micro_usd_per_token if rate is None else rate


@dataclass(frozen=True)
class InstancePrice:
    instance_type: str
    hourly_micro_usd: int
    region: str
    source: str
    date: datetime.date


@dataclass(frozen=True)
class Ec2PeriodCost:
    """What a self-hosted instance cost over a period, and the tokens it served meanwhile."""

    instance_type: str
    hours_up: Decimal
    cost_micro_usd: int
    tokens_served: int

    @property
    def micro_usd_per_million_tokens(self) -> int | None:
        """Comparable with a Bedrock per-1M price; None when nothing was served."""
        if self.tokens_served == 0:
            return None
        return round_micro_usd(Decimal(self.cost_micro_usd) * 1_000_000 / self.tokens_served)


def round_micro_usd(amount: Decimal) -> int:
    """The one rounding step: exact decimals in, whole micro-USD out (half up)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def spread_micro_usd(total_micro_usd: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split a total over keys in proportion to integer weights; the parts sum to the total.

    Largest-remainder rounding, ties broken by key, so the split is deterministic. Used to
    attribute an ec2 period's cost to the requests it served, weighted by their tokens.
    """
    weight_sum = sum(weights.values())
    if weight_sum <= 0:
        return dict.fromkeys(weights, 0)
    shares = {k: divmod(total_micro_usd * w, weight_sum) for k, w in weights.items()}
    parts = {k: quotient for k, (quotient, _) in shares.items()}
    leftover = total_micro_usd - sum(parts.values())
    by_remainder = sorted(shares, key=lambda k: (-shares[k][1], k))
    for k in by_remainder[:leftover]:
        parts[k] += 1
    return parts


def _warn_once(kind: str, name: str) -> None:
    """Log loudly, but once per id per process: a busy worker must not flood the log."""
    with _warned_lock:
        if (kind, name) in _warned:
            return
        _warned.add((kind, name))
    logger.warning(
        "unpriced %s %r: not in the price catalog, so its cost is recorded as unknown, not zero;"
        " add a row to a price file (see gateway/pricing.py)",
        kind,
        name,
    )


class PriceCatalog:
    """Model and instance prices, looked up by exact id (a profile prefix is part of the id)."""

    def __init__(
        self, models: Mapping[str, ModelPrice], instances: Mapping[str, InstancePrice]
    ) -> None:
        self._models = dict(models)
        self._instances = dict(instances)

    @classmethod
    def load(cls, path: Path | None = None) -> PriceCatalog:
        """The packaged catalog, extended by the price file at `path` if one is given.

        Rows in `path` replace packaged rows with the same id and add new ones. Any invalid row
        raises `ConfigError` naming the file, the row and the field.
        """
        packaged = resources.files("gateway").joinpath(PACKAGED_PRICES).read_text("utf-8")
        models, instances = _parse(packaged, f"gateway/{PACKAGED_PRICES}")
        if path is not None:
            try:
                text = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
                raise ConfigError(f"PRICING_FILE {path}: cannot read it ({why})") from exc
            extra_models, extra_instances = _parse(text, f"PRICING_FILE {path}")
            models |= extra_models
            instances |= extra_instances
        return cls(models, instances)

    @property
    def model_ids(self) -> frozenset[str]:
        return frozenset(self._models)

    def price(self, model_id: str) -> ModelPrice | None:
        """A plain lookup; None for an unknown id (use the cost methods to have it warned)."""
        return self._models.get(model_id)

    def cost_micro_usd(self, usage: Usage) -> int | None:
        """What Bedrock bills for `usage` on `usage.model`, rounded once; None when unpriced."""
        price = self._known_price(usage.model)
        if price is None:
            return None
        return round_micro_usd(price.exact_cost(usage))

    def uncached_cost_micro_usd(
        self, model_id: str, input_tokens: int, output_tokens: int
    ) -> int | None:
        """The cost with every input token billed at the plain input rate: no prompt caching."""
        return self.cost_micro_usd(Usage(input_tokens, output_tokens, model=model_id))

    def naive_baseline_micro_usd(
        self, strongest_model: str, usage: Usage, compaction_removed_tokens: int = 0
    ) -> int | None:
        """The counterfactual cost of one call done the naive way.

        Strongest tier's model, the full uncompacted input (billed input + cache reads + cache
        writes + what compaction removed), the same output, no prompt caching. For a response
        cache hit pass the usage the call would have had (prompt tokens, the cached answer's
        output tokens): the baseline is what answering would have cost.
        """
        full_input_tokens = usage.total_input_tokens + compaction_removed_tokens
        return self.uncached_cost_micro_usd(strongest_model, full_input_tokens, usage.output_tokens)

    def instance_hourly_micro_usd(self, instance_type: str) -> int | None:
        instance = self._instances.get(instance_type)
        if instance is None:
            _warn_once("instance type", instance_type)
            return None
        return instance.hourly_micro_usd

    def ec2_cost_for_period(
        self, instance_type: str, hours_up: Decimal | int, tokens_served: int
    ) -> Ec2PeriodCost | None:
        """Hours up times the hourly price: the whole self-hosted backend cost for a period.

        The GPU costs the same busy or idle, so per-request cost is this total spread over the
        requests served (`spread_micro_usd`), not a per-token rate.
        """
        hourly_micro_usd = self.instance_hourly_micro_usd(instance_type)
        if hourly_micro_usd is None:
            return None
        hours = Decimal(hours_up)
        return Ec2PeriodCost(
            instance_type=instance_type,
            hours_up=hours,
            cost_micro_usd=round_micro_usd(hours * hourly_micro_usd),
            tokens_served=tokens_served,
        )

    def _known_price(self, model_id: str) -> ModelPrice | None:
        price = self._models.get(model_id)
        if price is None:
            _warn_once("model", model_id)
        return price


def _rate(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _model_price(row: _ModelRow) -> ModelPrice:
    return ModelPrice(
        model=row.id,
        input_micro_usd_per_token=Decimal(row.input),
        output_micro_usd_per_token=Decimal(row.output),
        cache_write_micro_usd_per_token=_rate(row.cache_write),
        cache_read_micro_usd_per_token=_rate(row.cache_read),
        source=row.source,
        date=row.date,
    )


def _instance_price(row: _InstanceRow) -> InstancePrice:
    return InstancePrice(
        instance_type=row.instance_type,
        hourly_micro_usd=round_micro_usd(Decimal(row.hourly_usd) * MICRO_USD_PER_USD),
        region=row.region,
        source=row.source,
        date=row.date,
    )


def _parse(text: str, label: str) -> tuple[dict[str, ModelPrice], dict[str, InstancePrice]]:
    try:
        doc = _PriceFile.model_validate_json(text)
    except ValidationError as exc:
        raise ConfigError(f"{label}: {_describe(exc, text)}") from exc
    models = {row.id: _model_price(row) for row in doc.models}
    instances = {row.instance_type: _instance_price(row) for row in doc.ec2_instances}
    for section, rows, unique in (
        ("models", [row.id for row in doc.models], models),
        ("ec2_instances", [row.instance_type for row in doc.ec2_instances], instances),
    ):
        if len(rows) != len(unique):
            twice = sorted({name for name in rows if rows.count(name) > 1})
            raise ConfigError(f"{label}: {section}: {', '.join(twice)} listed more than once")
    return models, instances


def _describe(exc: ValidationError, text: str) -> str:
    """The first error as `models[3] ('us.x…') field 'input': why (got …)`."""
    error = exc.errors()[0]
    loc = error["loc"]
    if not loc:
        return str(error["msg"])
    where = str(loc[0])
    if len(loc) >= 2 and isinstance(loc[1], int):
        where = f"{loc[0]}[{loc[1]}]{_row_name(text, str(loc[0]), loc[1])}"
    if len(loc) >= 3:
        where += f" field {'.'.join(str(part) for part in loc[2:])!r}"
    return f"{where}: {error['msg']} (got {error.get('input')!r})"


def _row_name(text: str, section: str, index: int) -> str:
    """The row's id, to name it in an error; best effort, the file is already known bad."""
    try:
        row = json.loads(text)[section][index]
        name = row.get("id", row.get("instance_type"))
    except (ValueError, LookupError, TypeError, AttributeError):
        return ""
    return f" ({name!r})" if isinstance(name, str) else ""


__all__ = [
    "EC2_BACKEND",
    "Ec2PeriodCost",
    "InstancePrice",
    "ModelPrice",
    "PriceCatalog",
    "round_micro_usd",
    "spread_micro_usd",
]
