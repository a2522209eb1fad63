"""`chatops ask "question"`: stream an answer to the terminal through the gateway."""

from __future__ import annotations

import argparse
import sys
import uuid
from contextlib import AbstractContextManager, nullcontext

from chatops.local_models import local_models
from chatops.settings import BACKEND_NAMES, TIER_NAMES, Settings, load_settings
from chatops.wiring import build_gateway
from gateway import Completion, LLMRequest, Message
from gateway.errors import ConfigError

SYSTEM = "You are a concise assistant for a platform engineering team."


DESCRIPTION = """\
Ask one question from the terminal. The answer streams through the same model gateway the
bot uses (the tier's model, then its fallbacks), and ends with a line naming the model, the
tokens and the timings. With no model credentials configured (AWS_PROFILE or AWS keys,
BEDROCK_ENDPOINT_URL, EC2_LLM_BASE_URL), it answers from the offline emulators."""

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
        help="the model tier to ask (default: DEFAULT_TIER, medium unless set)",
    )
    parser.add_argument(
        "--backend", choices=BACKEND_NAMES, default=None, help="use only this backend's routes"
    )
    parser.add_argument("--max-tokens", type=int, default=400, help="the longest answer, in tokens")
    parser.set_defaults(run=run)


def footer(completion: Completion) -> str:
    usage = completion.usage
    parts = [str(completion.route), f"{usage.input_tokens} in / {usage.output_tokens} out tokens"]
    if usage.cache_read_tokens or usage.cache_write_tokens:
        parts.append(f"cache read {usage.cache_read_tokens} / write {usage.cache_write_tokens}")
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
    tier = args.tier or settings.default_tier
    request = LLMRequest(
        task="ask",
        system=SYSTEM,
        messages=(Message("user", args.question),),
        tier=tier,
        max_output_tokens=args.max_tokens,
        request_id=uuid.uuid4().hex[:12],
        source="cli",
    )
    with model_settings(settings) as active:
        if active is not settings:
            print(
                "No model credentials configured: answering from the offline emulators "
                f"(Bedrock at {active.bedrock_endpoint_url}, EC2 model at "
                f"{active.ec2_llm_base_url}).",
                file=sys.stderr,
            )
        gateway = build_gateway(active, only_backend=args.backend)
        if not gateway.routes(tier):
            raise ConfigError(f"tier {tier} has no {args.backend} route (see TIER_{tier.upper()})")
        completion = gateway.complete(request, on_delta=_print)
    print()
    print(f"— {footer(completion)}", file=sys.stderr)
    return 0


def _print(delta: str) -> None:
    sys.stdout.write(delta)
    sys.stdout.flush()
