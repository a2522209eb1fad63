"""The one token estimator the project uses where no provider count is available.

Rule: one token per four characters of text, rounded up (the rule of thumb OpenAI and
Anthropic both publish for English). The sandbox emulators count with this same function, so an
estimate made after a cut stream matches what the emulator would have reported; against real
models it is an estimate, calibrated with Bedrock's CountTokens where that is available.
"""

from __future__ import annotations

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


__all__ = ["CHARS_PER_TOKEN", "estimate_tokens"]
