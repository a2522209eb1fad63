"""Core values of the gateway: requests, usage, routes, and the backend protocol."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["user", "assistant"]
Delta = str


@dataclass(frozen=True)
class Message:
    role: Role
    text: str


@dataclass(frozen=True)
class Route:
    """One place a request can run: a backend name and the model id it knows."""

    backend: str
    model: str

    def __str__(self) -> str:
        return f"{self.backend}:{self.model}"


@dataclass(frozen=True)
class BatchTag:
    """Marks a call made for a batch of items (`gateway.batching`), for its ledger row.

    `items` is how many items the call carries (1 for an item run alone). For a packed call,
    `single_prompt_tokens[n - 1]` is item n's prompt run alone — the shared instruction
    repeated — as `gateway.tokens` estimates it: what the batching counterfactual is built from.
    """

    batch_id: str
    items: int = 1
    single_prompt_tokens: tuple[int, ...] = ()
    # An item sent alone because its packed answer came back missing, garbled or duplicated.
    rerun: bool = False


@dataclass(frozen=True)
class LLMRequest:
    """What a job asks of a model. Everything here is plain data, safe to put in a job payload."""

    task: str
    messages: tuple[Message, ...]
    system: str = ""
    tier: str = "medium"
    max_output_tokens: int = 512
    temperature: float = 0.2
    # Cache hints: the system text, and the prefixes ending after each message counted in
    # `cache_points` (1 = after the first message), are repeated byte for byte by later
    # requests, so a backend may mark them for prompt caching (at most 3 points).
    cache_system: bool = False
    cache_points: tuple[int, ...] = ()
    request_id: str = ""
    user: str = ""
    channel: str = ""
    workspace: str = ""
    source: str = ""
    # Set when the call serves a batch of items (`gateway.batching`); the ledger row says so.
    batch: BatchTag | None = None
    # Who may share what this request produces (response caches, batches): `user:U1` for a
    # DM, `channel:C1` for a private channel, `workspace:T1` for a public one, `team:acme` for
    # an API token's team. Empty: nothing is shared.
    scope: str = ""
    # The person's say over the cost levers (`--tier`, `--model`, `--fresh`, `--explain`).
    override_tier: str = ""
    override_model: str = ""
    fresh: bool = False
    explain: bool = False
    # The least capable tier this channel accepts (channel policy); empty: none.
    channel_min_tier: str = ""
    # The most capable tier this channel accepts (channel policy); empty: none.
    channel_max_tier: str = ""
    # The only backends this request may run on, fallbacks included (a channel kept off
    # Bedrock: `("ec2",)`); empty: any.
    allowed_backends: tuple[str, ...] = ()
    # At least this tier: the thread's last answer was cut short or marked not helpful.
    escalated_tier: str = ""
    # Why, for the ledger (`not helpful`); empty: the router's own word for it.
    escalation_reason: str = ""
    # A windowed document's calls (`gateway.windowing`): how many windows the job has, and what
    # the naive way — the whole document in one call — would have sent: None, this request is
    # itself the naive call; 0, the naive way makes no such call (a map step); N, the whole
    # document's input tokens (the final step, which carries the job's naive baseline).
    windows: int = 0
    naive_input_tokens: int | None = None
    # Secrets the edge removed from the text before anything else saw it (for the ledger).
    redactions: int = 0


@dataclass(frozen=True)
class Usage:
    """Token counters as the provider bills them. `input_tokens` excludes cached tokens."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    model: str = ""
    # True when the stream was cut before the provider reported usage and we counted locally.
    estimated: bool = False
    # Why the model stopped, in Bedrock's words: `end_turn`, `max_tokens`, `stop_sequence`, …;
    # empty when the provider did not say (a cut stream). `max_tokens` means a truncated answer.
    stop_reason: str = ""

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass
class CallProgress:
    """Where a call stands while it runs, for whoever must account for it if it never returns
    (an exception from the caller's own callback, a job timeout, a cancellation).

    The gateway fills it in: the route being tried, and the text that route has produced.
    """

    route: Route | None = None
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass(frozen=True)
class Failover:
    """A route that was tried and given up before its first token, and why."""

    route: Route
    reason: str


@dataclass(frozen=True)
class Completion:
    """The outcome of one streamed model call."""

    text: str
    usage: Usage
    route: Route
    ttft_ms: float
    duration_ms: float
    failovers: tuple[Failover, ...] = field(default=())


class Backend(Protocol):
    """A model backend: yields text deltas, then exactly one `Usage`, last."""

    name: str

    def stream(self, request: LLMRequest, model: str) -> Iterator[Delta | Usage]: ...

    def close(self) -> None: ...
