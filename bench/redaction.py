"""Secret redaction's time at the edge (`python -m bench.redaction`, prints JSON).

Inputs: a 40,000-character paste built from the team-week trace's pasted logs with five fake
secrets spread through it, the same paste without them, and a 300-character question with one
secret. Also the one-off import (detect-secrets' plugins, paid once per process), and how many
of the traces' ordinary messages and Jira texts lose anything (false positives).
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatops.percentiles import summary_ms
from chatops.trace import load_trace

TRACES = Path(__file__).parent / "traces"
PASTE_CHARS = 40_000
RUNS = 300
SECRETS = (
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "DATABASE_URL=postgres://app:EXAMPLEpassword@db:5432/payments",
    "SLACK_BOT_TOKEN=xoxb-000000000000-0000000000000-EXAMPLEexampleEXAMPLEexampl",
    "VAULT_TOKEN=hvs.CAESIEXAMPLEexampleEXAMPLEexample0123",
)
QUESTION = (
    "why does the deploy of payments-api to staging fail with 403 since this morning? I set "
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY in the pipeline variables "
    "and the role trust policy looks right to me; the pod is payments-api-7d9f8b6c4-x2x9q on "
    "the 14:05 build from main, any idea?"
)


def _trace_texts() -> Iterator[str]:
    for name in ("team-week", "smoke"):
        for event in load_trace(TRACES / f"{name}.jsonl").events:
            if event.text:
                yield event.text


def _jira_texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _jira_texts(item)


def _paste(with_secrets: bool) -> str:
    """The longest pasted logs of the trace, one after another, PASTE_CHARS long; the
    secrets, if any, on lines of their own spread through it."""
    logs = sorted((t for t in _trace_texts() if "```" in t), key=len, reverse=True)
    lines = "\n".join(logs).splitlines()
    secrets = SECRETS if with_secrets else ()
    budget, kept = PASTE_CHARS - sum(len(s) + 1 for s in secrets), 0
    while budget > 0:
        budget -= len(lines[kept]) + 1
        kept += 1
    lines = lines[:kept]
    for n, secret in enumerate(secrets, start=1):
        lines.insert(n * kept // (len(secrets) + 1) + n - 1, secret)
    return "\n".join(lines)[:PASTE_CHARS]


def _timed(redact: Any, text: str) -> dict[str, Any]:
    seconds = []
    redact(text)  # one warm-up call, not timed
    for _ in range(RUNS):
        started = time.perf_counter()
        result = redact(text)
        seconds.append(time.perf_counter() - started)
    return {"chars": len(text), "findings": len(result.findings), **summary_ms(seconds)}


def run() -> dict[str, Any]:
    started = time.perf_counter()
    redaction = importlib.import_module("gateway.redaction")
    import_ms = round((time.perf_counter() - started) * 1000, 1)
    redact = redaction.redact
    ordinary = list(_trace_texts())
    for path in sorted(TRACES.glob("*.jira.json")):
        ordinary += _jira_texts(json.loads(path.read_text(encoding="utf-8")))
    return {
        "import_ms": import_ms,
        "paste_40k_with_secrets": _timed(redact, _paste(with_secrets=True)),
        "paste_40k_clean": _timed(redact, _paste(with_secrets=False)),
        "question_300": _timed(redact, QUESTION),
        "ordinary_texts": len(ordinary),
        "ordinary_texts_changed": sum(1 for text in ordinary if redact(text).findings),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
