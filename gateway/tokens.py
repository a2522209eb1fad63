"""The one token estimator the project uses where no provider count is available.

Rule: one token per four characters of text, rounded up (the rule of thumb OpenAI and
Anthropic both publish for English). The sandbox emulators count with this same function, so an
estimate made after a cut stream matches what the emulator would have reported; against real
models it is an estimate, calibrated with Bedrock's CountTokens where that is available.
"""

from __future__ import annotations

from gateway.types import LLMRequest, Usage

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def estimate_prompt_tokens(request: LLMRequest) -> int:
    """Counted per text block, as the emulators count: the system text, then each message."""
    blocks = [request.system] if request.system else []
    blocks += [message.text for message in request.messages]
    return sum(estimate_tokens(block) for block in blocks)


def estimate_usage(request: LLMRequest, output_text: str, model: str) -> Usage:
    """Usage for a call whose provider count was lost (a cut stream). Assumes no cache hit."""
    return Usage(
        input_tokens=estimate_prompt_tokens(request),
        output_tokens=estimate_tokens(output_text),
        model=model,
        estimated=True,
    )


__all__ = ["CHARS_PER_TOKEN", "estimate_prompt_tokens", "estimate_tokens", "estimate_usage"]
