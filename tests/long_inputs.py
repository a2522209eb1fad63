"""Long and bad input as people paste and attach it: service logs that compaction cannot
fold away entirely, a log that is one line repeated, minified JSON, binary bytes, and text
sprinkled with characters nobody sees."""

from __future__ import annotations

import json
import random

_WORDS = (
    "checkout", "ledger", "replica", "invoice", "cart", "tax", "webhook", "refund", "coupon",
    "shipment", "warehouse", "session", "token", "quota", "partition", "consumer", "offset",
    "lag", "snapshot", "migration", "schema", "index", "lock", "deadlock", "pool", "socket",
    "handshake", "certificate", "resolver", "upstream", "gateway", "sidecar", "probe",
)  # fmt: skip
_LOGGERS = ("c.a.checkout.CartService", "c.a.pay.LedgerClient", "c.a.ship.Dispatcher")
# The one line of the log a reader must still see after compaction.
ERROR_LINE = (
    "2026-11-30T09:14:07.512Z ERROR [pool-7] c.a.pay.LedgerClient: ledger write failed:"
    " deadlock detected on relation ledger_entries (txn 884213)"
)


def service_log(chars: int, seed: int = 7) -> str:
    """A service's log of `chars` characters or a little more: lines of many shapes (their
    messages are made of different words, so few collapse), with `ERROR_LINE` in the middle."""
    rng = random.Random(seed)
    lines: list[str] = []
    size = 0
    millis = 0
    while size < chars:
        millis += rng.randint(3, 900)
        words = " ".join(rng.sample(_WORDS, rng.randint(4, 9)))
        level = rng.choice(("INFO", "INFO", "INFO", "DEBUG", "WARN"))
        line = (
            f"2026-11-30T09:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}."
            f"{millis % 1000:03d}Z {level} [pool-{rng.randint(1, 9)}] {rng.choice(_LOGGERS)}:"
            f" {words}"
        )
        if size < chars // 2 <= size + len(line) + 1:
            lines.append(ERROR_LINE)
            size += len(ERROR_LINE) + 1
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def repeated_line(chars: int) -> str:
    """One log line over and over, exactly `chars` characters."""
    line = "2026-11-30T09:14:07Z WARN retrying connection to db-primary:5432 (attempt 3)\n"
    return (line * (chars // len(line) + 1))[:chars]


def minified_json(size_bytes: int, seed: int = 11) -> bytes:
    """A JSON array on one line, no spaces, about `size_bytes` long (never more)."""
    rng = random.Random(seed)
    items: list[str] = []
    size = 2
    while True:
        item = json.dumps(
            {"id": len(items), "svc": rng.choice(_WORDS), "p99_ms": rng.randint(1, 9000)},
            separators=(",", ":"),
        )
        if size + len(item) + 1 > size_bytes:
            break
        items.append(item)
        size += len(item) + 1
    return ("[" + ",".join(items) + "]").encode()


def binary_bytes(size: int, seed: int = 3) -> bytes:
    """Bytes a core dump or a gzip might hold: every value, NULs included."""
    return random.Random(seed).randbytes(size)


# Zero-width space, word joiner, byte-order mark, no-break and narrow no-break spaces.
INVISIBLE = "\u200b\u2060\ufeff"
NO_BREAK = "\u00a0\u202f"


def sprinkled(text: str) -> str:
    """`text` with zero-width characters inside its words and no-break spaces between them."""
    words = text.split(" ")
    return (
        NO_BREAK[0]
        .join(
            word[:2] + INVISIBLE[i % len(INVISIBLE)] + word[2:] if len(word) > 3 else word
            for i, word in enumerate(words)
        )
        .replace("?", NO_BREAK[1] + "?")
    )
