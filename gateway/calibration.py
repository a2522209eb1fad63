"""Token estimates calibrated per model family from the usage the backends report.

`estimate_tokens` counts one token per four characters; real tokenizers differ by family
(Claude, Nova, Llama, …) and by text (logs and code run denser than prose). Every call whose
backend reported usage is a sample of `reported / estimated` input tokens for the family of
the model that ran; `TokenCalibration` keeps a running ratio per family and multiplies
estimates by it — for budgets, windows, the compaction budget and the cachePoint minimum.

The ratio is a mean over the first `1 / WEIGHT` samples, then an exponentially weighted one
(`WEIGHT` for the newest sample), each sample clamped to `RATIO_MIN`..`RATIO_MAX`. Samples of
fewer than `MIN_SAMPLE_TOKENS` estimated tokens are ignored: there the fixed overhead of a
request (role markers, the chat template) swamps the text's own count. One Lua script makes
the update atomic across workers.

Layout (builder in `gateway.keys`), in the cache Redis: losing it costs accuracy, never
correctness, and the ratios are rebuilt from the next calls.

    chatops:calibration:tokens   HASH  {family} → ratio, "{family}:n" → samples seen

Reading is cheap: the hash is fetched at most once per `CACHE_S` seconds per process; with
nothing observed yet, or Redis unreachable, the ratio is 1.0. Nothing here raises.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable

import redis

from gateway import keys
from gateway.tokens import estimate_tokens

log = logging.getLogger(__name__)

RATIO_MIN, RATIO_MAX = 0.5, 3.0
MIN_SAMPLE_TOKENS = 200
WEIGHT = 0.05
CACHE_S = 5.0
_EXPIRE_S = 30 * 86_400

# Inference-profile prefixes Bedrock puts before a model id.
_PROFILE_PREFIX = re.compile(r"^(?:us|eu|apac|global|us-gov|jp|au|ca)\.")
# Keyword in a model id → family, first match wins (`mixtral` before `mistral` is harmless:
# both are the Mistral tokenizer).
_FAMILIES = (
    ("claude", "claude"),
    ("nova", "nova"),
    ("titan", "titan"),
    ("llama", "llama"),
    ("mixtral", "mistral"),
    ("mistral", "mistral"),
    ("qwen", "qwen"),
    ("gemma", "gemma"),
    ("deepseek", "deepseek"),
    ("gpt", "gpt"),
    ("cohere", "cohere"),
    ("command", "cohere"),
    ("jamba", "jamba"),
)
# A version at the end of an unknown id: `-v1:0`, `:2`, `-20240620`, `-2.1`.
_VERSION = re.compile(r"(?:[-:@]v?\d[\w.]*)+$")

# KEYS: the hash. ARGV: family, sample ratio, weight, expiry in seconds. Returns the new ratio.
_OBSERVE_LUA = """
local ratio = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
local n = (tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':n')) or 0) + 1
local sample = tonumber(ARGV[2])
local weight = math.max(tonumber(ARGV[3]), 1 / n)
if ratio == nil then ratio = sample else ratio = ratio + weight * (sample - ratio) end
local text = string.format('%.6f', ratio)
redis.call('HSET', KEYS[1], ARGV[1], text, ARGV[1] .. ':n', n)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return text
"""


def family_of(model_id: str) -> str:
    """`us.anthropic.claude-haiku-4-5-20251001-v1:0` → `claude`; an id of no known family
    → the id without its profile prefix and version (its own family)."""
    lowered = _PROFILE_PREFIX.sub("", model_id.strip().lower())
    for keyword, family in _FAMILIES:
        if keyword in lowered:
            return family
    return _VERSION.sub("", lowered) or lowered


class TokenCalibration:
    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        clock: Callable[[], float] = time.monotonic,
        cache_s: float = CACHE_S,
    ) -> None:
        self._redis = redis_client
        self._clock = clock
        self._cache_s = cache_s
        self._ratios: dict[str, float] = {}
        self._fetched_at = -math.inf
        self._script = redis_client.register_script(_OBSERVE_LUA)

    def observe(self, model: str, estimated_tokens: int, reported_tokens: int) -> None:
        """One call's input tokens: our estimate of its prompt, and what the backend billed
        (`Usage.total_input_tokens`, cached tokens included)."""
        if estimated_tokens < MIN_SAMPLE_TOKENS or reported_tokens <= 0:
            return
        family = family_of(model)
        sample = _clamp(reported_tokens / estimated_tokens)
        try:
            raw = self._script(
                keys=[keys.token_calibration()], args=[family, f"{sample:.6f}", WEIGHT, _EXPIRE_S]
            )
        except redis.RedisError as exc:
            log.warning("calibration_not_saved family=%s: %s", family, exc)
            return
        ratio = _parse(raw)
        if ratio is not None:
            self._ratios[family] = ratio

    def ratio(self, model: str) -> float:
        """Reported tokens per estimated token for the model's family (1.0 when unknown)."""
        self._refresh()
        return self._ratios.get(family_of(model), 1.0)

    def estimate(self, model: str, text_or_tokens: str | int) -> int:
        """Input tokens the model will likely count for a text, or for an estimate of one."""
        if isinstance(text_or_tokens, str):
            tokens = estimate_tokens(text_or_tokens)
        else:
            tokens = max(0, text_or_tokens)
        return math.ceil(tokens * self.ratio(model)) if tokens else 0

    def _refresh(self) -> None:
        now = self._clock()
        if now - self._fetched_at < self._cache_s:
            return
        # Set before asking: while Redis is down, one attempt per period, not one per call.
        self._fetched_at = now
        try:
            raw = self._redis.hgetall(keys.token_calibration())
        except redis.RedisError as exc:
            log.warning("calibration_unavailable: %s", exc)
            return
        ratios: dict[str, float] = {}
        for field, value in raw.items():
            name = field.decode() if isinstance(field, bytes) else str(field)
            ratio = _parse(value)
            if not name.endswith(":n") and ratio is not None:
                ratios[name] = ratio
        self._ratios = ratios


def _parse(raw: object) -> float | None:
    """A ratio read back from Redis, clamped; None when it is not a finite number."""
    try:
        value = float(raw.decode() if isinstance(raw, bytes) else str(raw))
    except (UnicodeDecodeError, ValueError):
        return None
    return _clamp(value) if math.isfinite(value) else None


def _clamp(ratio: float) -> float:
    return min(RATIO_MAX, max(RATIO_MIN, ratio))


__all__ = [
    "CACHE_S",
    "MIN_SAMPLE_TOKENS",
    "RATIO_MAX",
    "RATIO_MIN",
    "WEIGHT",
    "TokenCalibration",
    "family_of",
]
