"""`chatops ask "question"`: stream an answer to the terminal through the cost engine, which
writes its ledger row (source `cli`) like every other model call."""

from __future__ import annotations

import argparse
import getpass
import sys
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext

import redis

from chatops import messages
from chatops.local_models import local_models
from chatops.settings import BACKEND_NAMES, TIER_NAMES, Settings, load_settings
from chatops.wiring import build_engine, build_gateway, connect_queue_redis
from gateway import LLMRequest, Message
from gateway.engine import Metered
from gateway.errors import ConfigError
from gateway.pricing import EC2_BACKEND

SYSTEM = "You are a concise assistant for a platform engineering team."
REDIS_TIMEOUT_S = 3.0


DESCRIPTION = """\
Ask one question from the terminal. The answer streams through the same cost engine the bot
uses — the router picks the tier unless --tier says, then the tier's model and its fallbacks —
and ends with a line naming the model, the tokens, the cost and the timings. Its ledger row
(source cli) goes to REDIS_URL; with neither REDIS_URL nor Slack configured, to the local
sandbox's ledger in .chatops/sandbox/, which `chatops cost` then reports on. With no model
credentials configured (AWS_PROFILE or AWS keys, BEDROCK_ENDPOINT_URL, EC2_LLM_BASE_URL), it
answers from the offline emulators."""

EXAMPLES = """\
Examples:
  chatops ask "how do I rotate the staging DB password?"
  chatops ask --tier small "what does HTTP 502 mean?"
  chatops ask --backend ec2 --max-tokens 200 "summarize: the deploy failed on a lock timeout"
  AWS_PROFILE=bedrock chatops ask "hello"     against Bedrock with a profile from ~/.aws"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ask",
        help="ask one question; the answer streams to the terminal",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument("question", help="what to ask (quote it)")
    parser.add_argument(
        "--tier",
        choices=TIER_NAMES,
        default=None,
        help="the model tier to ask (default: the router's choice, as for /ask in Slack)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKEND_NAMES,
        default=None,
        help="only this backend's model in the tier answers (the tier: --tier, else DEFAULT_TIER)",
    )
    parser.add_argument("--max-tokens", type=int, default=400, help="the longest answer, in tokens")
    parser.set_defaults(run=run)


def footer(metered: Metered) -> str:
    """The route, tokens, cost (what the ledger row says), timings and any fallback."""
    completion, record = metered.completion, metered.record
    usage = completion.usage
    parts = [str(completion.route), f"{usage.input_tokens} in / {usage.output_tokens} out tokens"]
    if usage.cache_read_tokens or usage.cache_write_tokens:
        parts.append(f"cache read {usage.cache_read_tokens} / write {usage.cache_write_tokens}")
    if record.backend == EC2_BACKEND:
        parts.append(messages.COST_SELF_HOSTED)
    elif record.cost_micro_usd is None:
        parts.append(messages.COST_UNPRICED)
    else:
        parts.append(messages.usd(record.cost_micro_usd))
    parts.append(f"first token {completion.ttft_ms:.0f} ms, total {completion.duration_ms:.0f} ms")
    parts += [f"fell back from {f.route} ({f.reason})" for f in completion.failovers]
    return " · ".join(parts)


def model_settings(settings: Settings) -> AbstractContextManager[Settings]:
    """The settings to call models with: as configured, or pointed at offline emulators."""
    if settings.has_model_credentials:
        return nullcontext(settings)
    return local_models(settings)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    with ExitStack() as scope:
        active = scope.enter_context(model_settings(settings))
        if active is not settings:
            print(
                "No model credentials configured: answering from the offline emulators "
                f"(Bedrock at {active.bedrock_endpoint_url}, EC2 model at "
                f"{active.ec2_llm_base_url}).",
                file=sys.stderr,
            )
        request = _request(args, active)
        # Model clients first: a bad AWS setting is said before anything else starts.
        gateway = build_gateway(active)
        queue_redis, where = scope.enter_context(_ledger(settings))
        engine = build_engine(active, queue_redis, gateway=gateway)
        metered = engine.complete(request, on_delta=_print)
    print()
    print(f"(its ledger row, source cli: {where})", file=sys.stderr)
    print(f"— {footer(metered)}", file=sys.stderr)
    return 0


def _request(args: argparse.Namespace, settings: Settings) -> LLMRequest:
    """The question as the engine takes a person's: routed by its words unless `--tier` says;
    `--backend` names that backend's model in the tier, which then alone answers."""
    tier = args.tier or settings.default_tier
    model = ""
    if args.backend:
        routes = [r for r in settings.tiers.get(tier, ()) if r.backend == args.backend]
        if not routes:
            raise ConfigError(f"tier {tier} has no {args.backend} route (see TIER_{tier.upper()})")
        model = routes[0].model
    return LLMRequest(
        task="ask",
        system=SYSTEM,
        messages=(Message("user", args.question),),
        tier=settings.default_tier,
        max_output_tokens=args.max_tokens,
        request_id=f"cli-{uuid.uuid4().hex[:12]}",
        user=_who(),
        source="cli",
        override_tier=args.tier or (tier if model else ""),
        override_model=model,
    )


@contextmanager
def _ledger(settings: Settings) -> Iterator[tuple[redis.Redis, str]]:
    """The queue Redis the row goes to, and where that is in words: REDIS_URL when it is set
    (or Slack is: the bot's own ledger); else the sandbox's (`chatops cost` reads it then)."""
    from chatops.sandbox_data import SandboxData, sandbox_redis, uses_sandbox_ledger

    if uses_sandbox_ledger(settings):
        data = SandboxData.here()
        with sandbox_redis(data, keep=True) as url:
            client = redis.Redis.from_url(url)
            try:
                yield client, f"{data.shown}, which `chatops cost` reports on"
            finally:
                client.close()
        return
    client = connect_queue_redis(settings.redis_url, timeout_s=REDIS_TIMEOUT_S)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ConfigError(
            f"REDIS_URL: {settings.redis_url} does not answer; the answer's ledger row goes there"
        ) from exc
    try:
        yield client, "REDIS_URL"
    finally:
        client.close()


def _who() -> str:
    """The person at the terminal, for the ledger's by-user table."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _print(delta: str) -> None:
    sys.stdout.write(delta)
    sys.stdout.flush()
