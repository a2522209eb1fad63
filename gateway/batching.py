"""Packing: several small, independent items of one task in one model call, and their answers
back out, validated.

Wire format. The task's instruction comes first (the stable prefix prompt caches reuse), then
`PACKING_INSTRUCTION`; the user turn holds the items, numbered from 1:

    <item id="1">
    …the item's own prompt…
    </item>

and the model answers with one JSON array, `[{"id": 1, "answer": "…"}, …]`, in any order.

Rules this module keeps (each has a test):
- Items of different privacy scopes, or of different tasks, are never packed together
  (`pack` raises `ValueError`): one person's private data never reaches another's call.
- An item's text cannot open or close another item: `<item` and `</item` inside it are broken.
- `unpack` trusts ids, never positions. An id answered exactly once with non-empty text is
  answered; an id absent is *missing*; present with anything but text is *garbled*; present
  twice or more is *duplicated* (no way to tell which one is right). Those three are re-run
  alone. Entries naming no item are *strays*, counted and ignored.
- A reply cut short (the output cap) keeps every entry that was complete.
- `batch_fields` gives a packed call's ledger row the tokens the items it answered would have
  taken run singly; see its docstring for the counterfactual.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from gateway.tokens import estimate_prompt_tokens, estimate_tokens
from gateway.types import BatchTag, LLMRequest, Message, Usage

PACKING_INSTRUCTION = (
    'You will get several items, each between <item id="N"> and </item>. Treat each item on '
    "its own, as if it were the only one: never carry a fact from one item into the answer to "
    "another.\n"
    'Reply with only a JSON array holding one object per item, {"id": N, "answer": "<your '
    'answer to that item>"}, every id exactly once, and nothing before or after the array.'
)
# How a backend runs a batch (`gateway.dispatch`): one packed call, or concurrent requests.
Strategy = Literal["packed", "concurrent"]
ITEM_OPEN = '<item id="{number}">'
ITEM_CLOSE = "</item>"
# Output tokens one item's JSON wrapping takes — `{"id": 12, "answer": ""}, ` and the escapes
# inside its answer — on top of the answer itself.
ENVELOPE_TOKENS_PER_ITEM = 12
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class BatchItem:
    """One unit of batchable work, as it waits in a batch group (plain JSON in Redis)."""

    # Unique and stable across retries: answers and deliveries are keyed by it.
    item_id: str
    task: str
    # Which sink delivers the answer (the collector holds one callable per kind).
    kind: str
    # The item's own prompt: its template's user part, rendered.
    text: str
    # Privacy scope (`gateway.response_cache.Scope.name`): never packed with another scope.
    scope: str
    request_id: str = ""
    user: str = ""
    channel: str = ""
    workspace: str = ""
    source: str = ""
    # Where the sink delivers the answer (e.g. a channel and a digest id); the sink's business.
    target: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.item_id or not self.scope:
            raise ValueError("a batch item needs an item_id and a privacy scope")

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> BatchItem:
        data = json.loads(raw)
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["target"] = dict(values.get("target") or {})
        return cls(**values)


@dataclass(frozen=True)
class BatchGroup:
    """Items that may share a call: one task, one model (`backend:model`), one privacy scope."""

    task: str
    model: str
    scope: str

    @property
    def digest(self) -> str:
        raw = json.dumps([self.task, self.model, self.scope], ensure_ascii=False)
        return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()

    @property
    def backend(self) -> str:
        return self.model.partition(":")[0]

    def to_payload(self) -> dict[str, str]:
        return {"task": self.task, "model": self.model, "scope": self.scope}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> BatchGroup:
        return cls(str(payload["task"]), str(payload["model"]), str(payload["scope"]))


@dataclass(frozen=True)
class BatchPrompt:
    """What a batchable task's template declares (the gateway does not read templates)."""

    task: str
    system: str
    tier: str
    # For one item's answer.
    max_output_tokens: int


@dataclass(frozen=True)
class Unpacked:
    """A packed reply read back: answers by item number, and what went wrong for the rest."""

    answers: Mapping[int, str]
    missing: tuple[int, ...] = ()
    garbled: tuple[int, ...] = ()
    duplicated: tuple[int, ...] = ()
    strays: int = 0

    @property
    def rerun(self) -> tuple[int, ...]:
        """Item numbers to run alone."""
        return tuple(sorted((*self.missing, *self.garbled, *self.duplicated)))


def pack(prompt: BatchPrompt, items: Sequence[BatchItem], batch_id: str) -> LLMRequest:
    """One request for all `items`; who/where of the ledger row from the first item."""
    if not items:
        raise ValueError("nothing to pack")
    if len({item.scope for item in items}) > 1:
        raise ValueError("items of different privacy scopes are never packed together")
    if any(item.task != prompt.task for item in items):
        raise ValueError(f"only {prompt.task} items can be packed with the {prompt.task} prompt")
    body = "\n\n".join(
        f"{ITEM_OPEN.format(number=n)}\n{_contained(item.text)}\n{ITEM_CLOSE}"
        for n, item in enumerate(items, start=1)
    )
    singles = tuple(estimate_prompt_tokens(single(prompt, item, batch_id)) for item in items)
    first = items[0]
    return LLMRequest(
        task=prompt.task,
        system=f"{prompt.system}\n\n{PACKING_INSTRUCTION}",
        messages=(Message("user", body),),
        tier=prompt.tier,
        max_output_tokens=len(items) * (prompt.max_output_tokens + ENVELOPE_TOKENS_PER_ITEM),
        cache_system=True,
        request_id=batch_id,
        user=first.user,
        channel=first.channel,
        workspace=first.workspace,
        source=first.source,
        batch=BatchTag(batch_id, len(items), singles),
    )


def single(
    prompt: BatchPrompt, item: BatchItem, batch_id: str, *, rerun: bool = False
) -> LLMRequest:
    """The item alone, as it would run without batching: the task's instruction and its text."""
    return LLMRequest(
        task=prompt.task,
        system=prompt.system,
        messages=(Message("user", item.text),),
        tier=prompt.tier,
        max_output_tokens=prompt.max_output_tokens,
        cache_system=True,
        request_id=item.request_id or item.item_id,
        user=item.user,
        channel=item.channel,
        workspace=item.workspace,
        source=item.source,
        batch=BatchTag(batch_id, 1, rerun=rerun),
    )


def _contained(text: str) -> str:
    """An item's text cannot close its item or open another: the tags inside it are broken
    with a zero-width space."""
    return text.replace("<item", "<\u200bitem").replace("</item", "</\u200bitem")


def unpack(text: str, count: int) -> Unpacked:
    """Read a packed reply for items 1..count (see the module docstring for the rules)."""
    found: dict[int, list[Any]] = {}
    strays = 0
    for entry in _entries(text):
        number = _entry_number(entry)
        if number is None or not 1 <= number <= count:
            strays += 1
            continue
        found.setdefault(number, []).append(entry.get("answer"))
    answers: dict[int, str] = {}
    garbled: list[int] = []
    duplicated: list[int] = []
    for number, values in sorted(found.items()):
        if len(values) > 1:
            duplicated.append(number)
        elif isinstance(values[0], str) and values[0].strip():
            answers[number] = values[0].strip()
        else:
            garbled.append(number)
    missing = tuple(n for n in range(1, count + 1) if n not in found)
    return Unpacked(answers, missing, tuple(garbled), tuple(duplicated), strays)


def _entries(text: str) -> list[Any]:
    """The array's elements; text around it (a code fence, a preamble) is ignored. A reply
    that is not one valid array yields the objects that are complete before it breaks."""
    start = text.find("[")
    if start < 0:
        return []
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError:
        return _complete_objects(text, start + 1)
    return value if isinstance(value, list) else []


def _complete_objects(text: str, position: int) -> list[Any]:
    objects: list[Any] = []
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] != "{":
            return objects
        try:
            value, position = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError:
            return objects
        objects.append(value)


def _entry_number(entry: Any) -> int | None:
    if not isinstance(entry, dict):
        return None
    number = entry.get("id")
    if isinstance(number, int) and not isinstance(number, bool):
        return number
    if isinstance(number, str) and number.strip().isdigit():
        return int(number)
    return None


def batch_fields(
    tag: BatchTag | None, usage: Usage, *, prompt_tokens: int, output_text: str | None
) -> dict[str, Any]:
    """The ledger row's batch fields for a call made with `tag` ({} without one).

    Counterfactual of a packed call: what the items it answered would have taken run singly —
    each item alone, the shared instruction repeated, the same answer without its JSON
    wrapping. Only items whose answers came back usable count: an item re-run alone has its
    own row, and a reply that could not be used at all (`output_text` None: the call did not
    complete) has no counterfactual, so its whole cost is batching's loss. Both counts are
    the local estimator's, scaled by how the provider's count of this very call compares with
    the estimate (`prompt_tokens`: the engine's estimate of the packed prompt).
    """
    if tag is None:
        return {}
    row: dict[str, Any] = {
        "batch_id": tag.batch_id,
        "batch_items": tag.items,
        "batch_rerun": tag.rerun,
    }
    if tag.items <= 1:
        return row
    answers = unpack(output_text, tag.items).answers if output_text is not None else {}
    singles = sum(tag.single_prompt_tokens[n - 1] for n in answers)
    single_output = sum(estimate_tokens(answer) for answer in answers.values())
    output_estimate = estimate_tokens(output_text or "")
    row["single_input_tokens"] = _scaled(singles, usage.total_input_tokens, prompt_tokens)
    row["single_output_tokens"] = _scaled(single_output, usage.output_tokens, output_estimate)
    return row


def _scaled(estimate: int, reported: int, estimated: int) -> int:
    return round(estimate * reported / estimated) if estimated > 0 else estimate


__all__ = [
    "ENVELOPE_TOKENS_PER_ITEM",
    "ITEM_CLOSE",
    "ITEM_OPEN",
    "PACKING_INSTRUCTION",
    "BatchGroup",
    "BatchItem",
    "BatchPrompt",
    "Strategy",
    "Unpacked",
    "batch_fields",
    "pack",
    "single",
    "unpack",
]
