"""Batch items for tests — digest lines of made-up Jira issues, each with a code word a reader
can look for in its answer — and sinks that record what each item was given."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.batching import BatchItem
from gateway.dispatch import ItemResult
from gateway.engine import Metered
from gateway.ledger import LedgerRecord
from gateway.tokens import estimate_prompt_tokens, estimate_tokens
from gateway.types import Completion, LLMRequest, Route, Usage
from sandbox import packed_reply
from sandbox.llm import emulated_deltas

MODEL = "amazon.nova-micro-v1:0"

WORDS = (
    "amber", "birch", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo",
    "juniper", "kestrel", "lagoon", "magenta", "nimbus", "onyx", "pewter", "quartz", "russet",
    "saffron", "tundra", "umber", "violet", "willow", "xenon", "yarrow", "zephyr", "acorn",
    "basalt", "cedar", "dune", "elm", "flint",
)  # fmt: skip
STATUSES = ("In Progress", "Blocked", "In Review", "To Do", "Done")


def code_word(n: int) -> str:
    return f"{WORDS[n % len(WORDS)]}{n}"


def digest_text(n: int) -> str:
    """A changed issue as a digest item: the code word comes first, so answers echo it."""
    return (
        f"OPS-{100 + n} {code_word(n)}: {STATUSES[n % len(STATUSES)]} · assignee user{n % 7}\n"
        f"Summary: queue lag on shard {n} after the pool resize\n"
        f"Changed since yesterday: status moved, {n % 4 + 1} new comments; "
        f"user{(n + 3) % 7} asked user{n % 7} for the consumer logs and is waiting."
    )


def digest_item(n: int, scope: str = "workspace:T1", **fields: str) -> BatchItem:
    values = {
        "item_id": f"item-{n}",
        "task": "digest_item",
        "kind": "digest_line",
        "text": digest_text(n),
        "scope": scope,
        "request_id": f"req-{n}",
        "user": "U_ALICE",
        "channel": "C_OPS",
        "workspace": "T1",
        "source": "jira",
        **fields,
    }
    return BatchItem(**values)  # type: ignore[arg-type]


@dataclass
class RecordingSink:
    """Every result each item was given, in order."""

    got: dict[str, list[ItemResult]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, item: BatchItem, result: ItemResult) -> None:
        with self._lock:
            self.got.setdefault(item.item_id, []).append(result)

    def answers(self) -> dict[str, str]:
        return {item_id: results[-1].text for item_id, results in self.got.items()}


class EmulatedModel:
    """`CostEngine.complete` for unit tests (no sockets): answers as the model emulators do —
    packed prompts with a JSON array, in which `reply_faults` script breakage — and raises
    the exceptions queued in `errors` first. Records every request."""

    def __init__(self) -> None:
        self.requests: list[LLMRequest] = []
        self.errors: list[Exception] = []
        self.reply_faults: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: LLMRequest, on_delta: Callable[[str], None]) -> Metered:
        with self._lock:
            self.requests.append(request)
            error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        question = request.messages[-1].text
        prompt = "\n".join([request.system, *(m.text for m in request.messages)])
        items = packed_reply.items_in(question)
        if items:
            with self._lock:
                fault = self.reply_faults.pop(0) if self.reply_faults else ""
            deltas = packed_reply.packed_deltas(
                MODEL,
                prompt.removesuffix(question),
                items,
                request.max_output_tokens,
                fault,
                emulated_deltas,
            )
        else:
            deltas = emulated_deltas(MODEL, prompt, question, request.max_output_tokens)
        text = "".join(deltas)
        usage = Usage(estimate_prompt_tokens(request), estimate_tokens(text), model=MODEL)
        completion = Completion(text, usage, Route("bedrock", MODEL), 1.0, 2.0)
        return Metered(completion, 0, _row(request))


def _row(request: LLMRequest) -> LedgerRecord:
    return LedgerRecord(
        request_id=request.request_id,
        at=0.0,
        source="cli",
        user=request.user,
        channel=request.channel,
        workspace=request.workspace,
        task=request.task,
        backend="bedrock",
        model=MODEL,
        tier=request.tier,
        tier_reason="test",
        input_tokens=0,
        output_tokens=0,
        cache_read_tokens=0,
        cache_write_tokens=0,
        cost_micro_usd=0,
        baseline_micro_usd=0,
        baseline_model=MODEL,
        ttft_ms=0,
        total_ms=0,
    )


__all__ = [
    "MODEL",
    "EmulatedModel",
    "RecordingSink",
    "code_word",
    "digest_item",
    "digest_text",
]
