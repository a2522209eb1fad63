"""Every sentence the bot shows a person, in one place."""

from __future__ import annotations

ASK_USAGE = (
    "Ask me anything about your systems: `/ask <question>` — "
    "for example `/ask how do I rotate the staging DB password?`"
)
MENTION_USAGE = "Yes? Mention me with a question, e.g. `@ChatOps Bot why did the deploy fail?`"
QUESTION_TOO_LONG = (
    "That question is {length:,} characters; I can take {limit:,}. "
    "Shorten it, or attach long logs as a file and ask about them."
)
BUSY = "I can't take requests right now (my queue is unavailable). Please try again in a minute."
ROOT_MESSAGE = "<@{user}> asked: {question}"
FOOTER = "_{model} · {input_tokens:,} in / {output_tokens:,} out tokens · {cost}_"
COST_SELF_HOSTED = "EC2 instance hours"
COST_UNPRICED = "unpriced"
DOWNGRADED = "downgraded to the {tier} tier to stay within {budget}"
REFUSED = ":no_entry: {reason}"
JOB_FAILED = ":warning: Sorry, I couldn't finish this answer: {reason} (error id `{error_id}`)"
UNEXPECTED = "something went wrong on my side"


def usd(micro_usd: int) -> str:
    """`$0.000499` for fractions of a cent, `$0.0123` and `$1.2346` above."""
    dollars = micro_usd / 1_000_000
    return f"${dollars:.6f}" if micro_usd < 10_000 else f"${dollars:.4f}"


__all__ = [
    "ASK_USAGE",
    "BUSY",
    "COST_SELF_HOSTED",
    "COST_UNPRICED",
    "DOWNGRADED",
    "FOOTER",
    "JOB_FAILED",
    "MENTION_USAGE",
    "QUESTION_TOO_LONG",
    "REFUSED",
    "ROOT_MESSAGE",
    "UNEXPECTED",
    "usd",
]
