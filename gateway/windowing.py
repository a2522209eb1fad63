"""Token windowing: a long document summarized map-reduce, with window summaries cached.

A document is a list of `Section`s in time order (an issue's description, then its comments;
a thread's messages). `split_windows` packs them greedily into windows of at most
`WindowPlan.window_tokens`, cutting only between sections (a section larger than a window is
cut between its lines first). Each window after the first opens with the tail of the one before
(`overlap_tokens`, whole sections where they fit) so a decision and its context are not cut apart.

Greedy packing from the start is what keeps windows stable: a window's text depends only on
the sections up to its end, so appending comments changes the last window and adds new ones,
while every earlier window stays byte-identical — and is served from the cache.

`summarize_windows` maps the windows that are not cached concurrently (a bounded pool; the map
function is injected, so the caller decides model, prompt and ledger), reduces the partial
summaries in time order — in rounds of `fan_in` while there are too many for one call, each
group cached like a window — and returns the final reduce's input for the caller to stream.
A document that fits one window is returned whole: no map step at all.

Cache (the cache Redis; builder in `gateway.keys`):

    chatops:window:{sha256(step, version, text)}   STRING  the summary, with a TTL

`version` names the models and prompt versions: changing either starts a fresh cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import redis

from gateway import keys
from gateway.tokens import CHARS_PER_TOKEN, estimate_tokens

T = TypeVar("T")
MapFn = Callable[[str], str]
ReduceFn = Callable[[Sequence[str]], str]

SEPARATOR = "\n\n"
# Between two sections: `estimate_tokens` of the separator, counted once per join.
_SEPARATOR_TOKENS = 1


@dataclass(frozen=True)
class Section:
    """One piece of a document in time order, e.g. a comment, with a stable id."""

    id: str
    text: str

    @property
    def digest(self) -> str:
        return _sha256(self.text)

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text)


@dataclass(frozen=True)
class Window:
    text: str
    first_id: str
    last_id: str

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text)


@dataclass(frozen=True)
class WindowPlan:
    window_tokens: int
    overlap_tokens: int = 0
    concurrency: int = 4
    fan_in: int = 8

    def __post_init__(self) -> None:
        if self.window_tokens < 2 or not 0 <= self.overlap_tokens <= self.window_tokens // 2:
            raise ValueError("a window needs tokens, and an overlap of at most half of them")
        if self.concurrency < 1 or self.fan_in < 2:
            raise ValueError("concurrency must be at least 1 and fan_in at least 2")

    @classmethod
    def for_model(
        cls,
        context_tokens: int,
        *,
        max_window_tokens: int,
        overlap: float = 0.1,
        reserved_tokens: int = 0,
        concurrency: int = 4,
        fan_in: int = 8,
    ) -> WindowPlan:
        """The plan for a model with `context_tokens` of context: windows of at most
        `max_window_tokens`, less if the model has less room once `reserved_tokens` (the
        prompt around a window and its answer) are set aside."""
        window = max(min(max_window_tokens, context_tokens - reserved_tokens), 2)
        return cls(window, int(window * overlap), concurrency, fan_in)


@dataclass(frozen=True)
class WindowedSummary:
    """What one run did. `reduce_parts` is the final reduce's input, in time order: the partial
    summaries, or — when `single_window` — the whole document, to be summarized in one call."""

    windows: int
    mapped: int
    cached: int
    document_tokens: int
    map_input_tokens: int
    reduce_calls: int
    reduce_cached: int
    reduce_input_tokens: int
    reduce_parts: tuple[str, ...]
    single_window: bool


class WindowCache:
    """Window and reduce-group summaries in the cache Redis, by content hash."""

    def __init__(self, client: redis.Redis, *, ttl_s: int, version: str) -> None:
        self._redis = client
        self._ttl_s = ttl_s
        self.version = version

    def key(self, step: str, text: str) -> str:
        return keys.window_summary(_sha256(f"{step}\0{self.version}\0{text}"))

    def get_many(self, step: str, texts: Sequence[str]) -> list[str | None]:
        if not texts:
            return []
        values = self._redis.mget([self.key(step, text) for text in texts])
        return [v.decode() if isinstance(v, bytes) else v for v in values]

    def put(self, step: str, text: str, summary: str) -> None:
        self._redis.set(self.key(step, text), summary, ex=self._ttl_s)


def split_windows(sections: Sequence[Section], plan: WindowPlan) -> list[Window]:
    pieces = [p for s in sections for p in _pieces(s, plan.window_tokens)]
    windows: list[Window] = []
    current: list[Section] = []
    for piece in pieces:
        if current and _cost(current) + _cost([piece]) > plan.window_tokens:
            windows.append(_window(current))
            current = _overlap(current, plan.overlap_tokens)
            while current and _cost(current) + _cost([piece]) > plan.window_tokens:
                current.pop(0)
        current.append(piece)
    if current:
        windows.append(_window(current))
    return windows


def summarize_windows(
    sections: Sequence[Section],
    plan: WindowPlan,
    *,
    map_fn: MapFn,
    reduce_fn: ReduceFn,
    cache: WindowCache | None = None,
) -> WindowedSummary:
    document = SEPARATOR.join(section.text for section in sections)
    document_tokens = estimate_tokens(document)
    if document_tokens <= plan.window_tokens:
        return WindowedSummary(1, 0, 0, document_tokens, 0, 0, 0, 0, (document,), True)
    windows = split_windows(sections, plan)
    mapped = _run_cached("map", [w.text for w in windows], _identity, map_fn, plan, cache)
    parts = mapped.results
    reduce = _Run([], 0, 0, 0)
    while len(parts) > plan.fan_in or _tokens(parts) > plan.window_tokens:
        merged = _reduce_round(parts, plan, reduce_fn, cache, reduce)
        if merged is None:
            break  # nothing left to merge: each part alone fills a window
        parts = merged
    return WindowedSummary(
        windows=len(windows),
        mapped=mapped.computed,
        cached=mapped.cached,
        document_tokens=document_tokens,
        map_input_tokens=mapped.input_tokens,
        reduce_calls=reduce.computed,
        reduce_cached=reduce.cached,
        reduce_input_tokens=reduce.input_tokens,
        reduce_parts=tuple(parts),
        single_window=False,
    )


@dataclass
class _Run:
    results: list[str]
    computed: int
    cached: int
    input_tokens: int

    def add(self, other: _Run) -> None:
        self.computed += other.computed
        self.cached += other.cached
        self.input_tokens += other.input_tokens


def _reduce_round(
    parts: Sequence[str],
    plan: WindowPlan,
    reduce_fn: ReduceFn,
    cache: WindowCache | None,
    tally: _Run,
) -> list[str] | None:
    """One level of the hierarchy: each group of consecutive parts reduced to one (a group of
    one passes through); None when no group has two parts to merge."""
    groups = _groups(parts, plan)
    merging = [group for group in groups if len(group) > 1]
    if not merging:
        return None
    run = _run_cached("reduce", merging, SEPARATOR.join, reduce_fn, plan, cache)
    tally.add(run)
    merged = iter(run.results)
    return [next(merged) if len(group) > 1 else group[0] for group in groups]


def _run_cached(
    step: str,
    items: Sequence[T],
    text_of: Callable[[T], str],
    fn: Callable[[T], str],
    plan: WindowPlan,
    cache: WindowCache | None,
) -> _Run:
    """`fn` over `items`, concurrently, skipping what the cache holds; each result is cached
    as soon as it is made, so a job retried after a failure pays only for what is missing."""
    texts = [text_of(item) for item in items]
    results: list[str | None] = [None] * len(items)
    if cache is not None:
        results = cache.get_many(step, texts)
    missing = [n for n, result in enumerate(results) if result is None]

    def compute(n: int) -> str:
        summary = fn(items[n])
        if cache is not None:
            cache.put(step, texts[n], summary)
        return summary

    if missing:
        with ThreadPoolExecutor(max_workers=min(plan.concurrency, len(missing))) as pool:
            for n, summary in zip(missing, pool.map(compute, missing), strict=True):
                results[n] = summary
    return _Run(
        [r for r in results if r is not None],
        len(missing),
        len(items) - len(missing),
        sum(estimate_tokens(texts[n]) for n in missing),
    )


def _pieces(section: Section, window_tokens: int) -> Iterable[Section]:
    """The section, or — when it alone is over a window — runs of its lines that fit (a line
    longer than a window is cut by characters)."""
    if _cost([section]) <= window_tokens:
        yield section
        return
    limit_chars = (window_tokens - _SEPARATOR_TOKENS) * CHARS_PER_TOKEN
    lines = [
        line[start : start + limit_chars]
        for line in section.text.split("\n")
        for start in range(0, max(len(line), 1), limit_chars)
    ]
    chunk: list[str] = []
    chars = -1  # the first line needs no newline before it
    number = 0
    for line in lines:
        if chunk and chars + 1 + len(line) > limit_chars:
            number += 1
            yield Section(f"{section.id}#{number}", "\n".join(chunk))
            chunk, chars = [], -1
        chunk.append(line)
        chars += 1 + len(line)
    yield Section(f"{section.id}#{number + 1}", "\n".join(chunk))


def _overlap(window: list[Section], overlap_tokens: int) -> list[Section]:
    """The trailing sections of a window that fit in `overlap_tokens`; when even the last one
    does not, the end of it that does: its last lines, else its last words after an `…`."""
    tail: list[Section] = []
    for piece in reversed(window):
        if _cost([piece, *tail]) > overlap_tokens:
            break
        tail.insert(0, piece)
    if tail or overlap_tokens <= _SEPARATOR_TOKENS:
        return tail
    budget_chars = (overlap_tokens - _SEPARATOR_TOKENS) * CHARS_PER_TOKEN
    lines = window[-1].text.split("\n")
    kept = _fitting_from_end(lines, budget_chars)
    if kept:
        end = "\n".join(lines[-kept:])
    else:
        words = lines[-1].split(" ")
        kept = _fitting_from_end(words, budget_chars - 1)
        end = "…" + " ".join(words[-kept:]) if kept else ""
    return [Section(f"{window[-1].id}~tail", end)] if end else []


def _fitting_from_end(items: Sequence[str], budget_chars: int) -> int:
    """How many of the last `items`, joined by one character each, fit in `budget_chars`."""
    used, count = -1, 0
    for item in reversed(items):
        if used + 1 + len(item) > budget_chars:
            break
        used += 1 + len(item)
        count += 1
    return count


def _window(pieces: Sequence[Section]) -> Window:
    return Window(SEPARATOR.join(p.text for p in pieces), pieces[0].id, pieces[-1].id)


def _groups(parts: Sequence[str], plan: WindowPlan) -> list[list[str]]:
    """Consecutive parts, at most `fan_in` and one window's tokens a group, filled from the
    start so that early groups stay the same when parts are added at the end."""
    groups: list[list[str]] = [[]]
    used = 0
    for part in parts:
        cost = estimate_tokens(part) + _SEPARATOR_TOKENS
        if groups[-1] and (len(groups[-1]) == plan.fan_in or used + cost > plan.window_tokens):
            groups.append([])
            used = 0
        groups[-1].append(part)
        used += cost
    return groups


def _tokens(parts: Sequence[str]) -> int:
    return sum(estimate_tokens(part) + _SEPARATOR_TOKENS for part in parts)


def _cost(pieces: Sequence[Section]) -> int:
    """Tokens a run of sections takes in a window, a separator counted for each."""
    return sum(piece.tokens + _SEPARATOR_TOKENS for piece in pieces)


def _identity(text: str) -> str:
    return text


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = [
    "MapFn",
    "ReduceFn",
    "Section",
    "Window",
    "WindowCache",
    "WindowPlan",
    "WindowedSummary",
    "split_windows",
    "summarize_windows",
]
