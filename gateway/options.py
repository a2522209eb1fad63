"""Options a person puts at the start of an `/ask` or a mention to steer one request:
`--tier small|medium|large`, `--model <id>`, `--explain`, `--fresh`, `--post`.

Only leading options count: parsing stops at the first word that is not an option, or after a
bare `--`, so a `--flag` inside a pasted shell command stays part of the question. Slack's
smart punctuation turns a typed `--` into an em or en dash, so a leading `—tier` is `--tier`.
Bad input raises `OptionError`, whose public message is one line saying what is valid.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from gateway.errors import OptionError

# What people read when an option is wrong (one line each, Slack markdown).
UNKNOWN_OPTION = (
    "Unknown option `{option}`: use {tiers_usage}, `--model <id>`, `--explain`, `--fresh` or"
    " `--post` (start with `-- ` to ask about a flag)."
)
UNKNOWN_TIER = "Unknown tier `{value}`: use {tiers}."
MISSING_TIER = "`--tier` needs a value: use {tiers}."
UNKNOWN_MODEL = "`--model {value}` is not one of the configured models: {models}."
MISSING_MODEL = "`--model` needs a model id: one of {models}."
BAD_MODEL_ID = "`--model {value}` is not a model id."
REPEATED_OPTION = "`{option}` is given twice: give it once."
TIER_AND_MODEL = "Use `--tier` or `--model`, not both."

# Options that take a value, and switches.
VALUED = ("--tier", "--model")
SWITCHES = ("--explain", "--fresh", "--post")
# Dashes a typed `--` may arrive as: Slack and macOS "smart punctuation".
_DASH_PREFIX = re.compile(r"^(?:--|\u2014|\u2013)(?=[A-Za-z])")
_WORD = re.compile(r"\s*(\S+)")
# Bedrock ids, inference profiles and served model names: letters, digits, `.:/_@+-`.
_MODEL_ID = re.compile(r"[\w.:/@+-]{1,200}")


@dataclass(frozen=True)
class RequestOptions:
    tier: str | None = None
    model: str | None = None
    # The configured tier `model` runs in; None for a model outside them (allow_any_model).
    model_tier: str | None = None
    explain: bool = False
    fresh: bool = False
    post: bool = False

    @property
    def override_tier(self) -> str | None:
        """What the router takes as the person's tier: `--tier`, or the tier of `--model`."""
        return self.tier or self.model_tier


@dataclass(frozen=True)
class _Catalog:
    """The tiers and models a request may name, in the order people should read them."""

    tiers: tuple[str, ...]
    # Lower-cased id → (id as configured, the tier it runs in or None).
    models: dict[str, tuple[str, str | None]]

    @property
    def tier_list(self) -> str:
        *most, last = self.tiers
        return f"{', '.join(most)} or {last}" if most else last

    @property
    def model_list(self) -> str:
        return ", ".join(model for model, _ in self.models.values()) or "(none configured)"


def parse_options(
    text: str,
    *,
    tiers: Mapping[str, tuple[str, ...]] | Sequence[str],
    allowed_models: Collection[str],
    allow_any_model: bool,
) -> tuple[RequestOptions, str]:
    """The leading options of `text`, and the question after them.

    `tiers` names the tiers in order (cheapest first), optionally with each tier's model ids
    (primary first); `allowed_models` adds models a person may name. A `--model` outside both
    is refused unless `allow_any_model`. Raises `OptionError` on anything it cannot use.
    """
    catalog = _catalog(tiers, allowed_models)
    given: dict[str, str] = {}
    position = 0
    while match := _WORD.match(text, position):
        word = match.group(1)
        if word == "--":
            position = match.end()
            break
        if not _DASH_PREFIX.match(word):
            break
        name, has_value, value = _DASH_PREFIX.sub("--", word).partition("=")
        position = match.end()
        if name in VALUED and not has_value:
            following = _WORD.match(text, position)
            if following and not _DASH_PREFIX.match(following.group(1)):
                value, position = following.group(1), following.end()
        if name not in VALUED and name not in SWITCHES:
            raise OptionError(
                f"unknown option {name}",
                public_message=UNKNOWN_OPTION.format(
                    option=name, tiers_usage=f"`--tier {'|'.join(catalog.tiers)}`"
                ),
            )
        if name in given:
            raise OptionError(
                f"repeated option {name}", public_message=REPEATED_OPTION.format(option=name)
            )
        given[name] = value
    return _options(given, catalog, allow_any_model), text[position:].strip()


def _options(given: Mapping[str, str], catalog: _Catalog, allow_any_model: bool) -> RequestOptions:
    if "--tier" in given and "--model" in given:
        raise OptionError("both --tier and --model", public_message=TIER_AND_MODEL)
    tier = _tier(given["--tier"], catalog) if "--tier" in given else None
    model, model_tier = (
        _model(given["--model"], catalog, allow_any_model) if "--model" in given else (None, None)
    )
    return RequestOptions(
        tier=tier,
        model=model,
        model_tier=model_tier,
        explain="--explain" in given,
        fresh="--fresh" in given,
        post="--post" in given,
    )


def _tier(value: str, catalog: _Catalog) -> str:
    if not value:
        raise OptionError(
            "--tier without a value", public_message=MISSING_TIER.format(tiers=catalog.tier_list)
        )
    if value.lower() not in catalog.tiers:
        raise OptionError(
            f"unknown tier {value!r}",
            public_message=UNKNOWN_TIER.format(value=value, tiers=catalog.tier_list),
        )
    return value.lower()


def _model(value: str, catalog: _Catalog, allow_any_model: bool) -> tuple[str, str | None]:
    models = catalog.model_list
    if not value:
        raise OptionError(
            "--model without a value", public_message=MISSING_MODEL.format(models=models)
        )
    if value.lower() in catalog.models:
        return catalog.models[value.lower()]
    if not allow_any_model:
        raise OptionError(
            f"model {value!r} not configured",
            public_message=UNKNOWN_MODEL.format(value=value, models=models),
        )
    if not _MODEL_ID.fullmatch(value):
        raise OptionError(
            f"bad model id {value!r}", public_message=BAD_MODEL_ID.format(value=value)
        )
    return value, None


def _catalog(
    tiers: Mapping[str, tuple[str, ...]] | Sequence[str], allowed_models: Collection[str]
) -> _Catalog:
    if isinstance(tiers, str):
        raise TypeError("tiers must be tier names or a mapping of tier → model ids, not a str")
    by_tier = tiers if isinstance(tiers, Mapping) else dict.fromkeys(tiers, ())
    if not by_tier:
        raise ValueError("at least one tier is needed")
    models: dict[str, tuple[str, str | None]] = {}
    # A model runs in the tier it is primary of; a fallback-only model in the first tier
    # that lists it.
    for tier, ids in by_tier.items():
        if ids:
            models.setdefault(ids[0].lower(), (ids[0], tier))
    for tier, ids in by_tier.items():
        for model in ids:
            models.setdefault(model.lower(), (model, tier))
    for model in sorted(allowed_models):
        models.setdefault(model.lower(), (model, None))
    return _Catalog(tuple(tier.lower() for tier in by_tier), models)


__all__ = ["SWITCHES", "VALUED", "RequestOptions", "parse_options"]
