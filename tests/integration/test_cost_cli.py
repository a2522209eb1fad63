"""`chatops cost` as an operator runs it: rows written by the real Ledger (and instance state
changes as the instance controller records them) to a real redis-server, the command run as a
process with REDIS_URL set, its printed totals and the files it writes."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis

from chatops.cost_text import usd
from gateway.instance_hours import InstanceHours
from gateway.ledger import Ledger, LedgerRecord
from gateway.pricing import PriceCatalog
from tests.ledger_rows import ledger_row

NOVA = "amazon.nova-micro-v1:0"
EC2_MODEL = "llama-3.1-8b-instruct"
UNKNOWN = "us.unknown-model-v9:0"
HOUR = 3600
# Settings the machine's environment must not change for this test: tiers, EC2, prices.
OWN_PREFIXES = ("AWS_", "EC2_", "TIER_", "PRICING_", "LEDGER_", "REDIS_", "CACHE_REDIS_")


def row(catalog: PriceCatalog, n: int, ago_s: float, **overrides: Any) -> LedgerRecord:
    values = {"request_id": f"req-{n}", "input_tokens": 2_000, "output_tokens": 400}
    return ledger_row(catalog, time.time() - ago_s, **{**values, "ttft_ms": 350, **overrides})


def chatops_cost(
    redis_url: str, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    return subprocess.run(
        [sys.executable, "-m", "chatops.cli", "cost", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**inherited, "REDIS_URL": redis_url, **(env or {})},
        cwd=cwd,  # no .env from the checkout
        check=False,
    )


def test_cost_prints_the_ledger_totals_and_writes_csv_and_png(
    redis_url: str, tmp_path: Path
) -> None:
    catalog = PriceCatalog.load()
    in_period = [
        row(catalog, 1, HOUR),
        row(catalog, 2, 2 * 86_400, model=NOVA, tier="small", user="U2", channel="C2"),
        row(catalog, 3, 3 * 86_400, backend="ec2", model=EC2_MODEL, user="U2"),
        row(catalog, 4, 4 * 86_400, model=UNKNOWN),
    ]
    too_old = row(catalog, 5, 10 * 86_400)
    client = redis.Redis.from_url(redis_url)
    ledger = Ledger(client)
    for rec in [*in_period, too_old]:
        ledger.record(rec)
    client.close()

    png, table = tmp_path / "cost.png", tmp_path / "ledger.csv"
    result = chatops_cost(
        redis_url, tmp_path, "--period", "7d", "--png", str(png), "--csv", str(table)
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    # No EC2 instance is configured: no instance hours are charged, and the ec2 row's cost is
    # unknown rather than a g5.xlarge the bot never ran.
    bedrock = sum(r.cost_micro_usd or 0 for r in in_period if r.backend == "bedrock")
    assert f"Spend                {usd(bedrock)}\n" in out
    assert "Requests             4\n" in out
    assert "2 requests not counted: " in out
    assert f"{EC2_MODEL} (1 request" in out and f"{UNKNOWN} (1 request" in out
    assert "ec2: no EC2 instance is configured (EC2_INSTANCE_IDS or EC2_INSTANCE_TAG)" in out
    assert "ran" not in out and "as run" not in out
    always_on = next(line for line in out.splitlines() if "one always on" in line)
    assert always_on.startswith("  EC2 g5.xlarge one always on (168 h)")
    assert always_on.split()[-2:] == ["$169.01", "$734.38"]
    assert "Bedrock small (nova-micro)" in out
    assert f"wrote 4 ledger rows to {table}" in result.stderr

    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    with table.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["request_id"] for r in rows) == ["req-1", "req-2", "req-3", "req-4"]
    ec2_row = next(r for r in rows if r["backend"] == "ec2")
    assert ec2_row["cost_micro_usd"] == ec2_row["cost_usd"] == ""


def test_cost_prices_the_hours_the_instance_really_ran(redis_url: str, tmp_path: Path) -> None:
    """The instance ran twice, 2 h and 1 h, in the last day: 3 h at $1.006, spread over the
    two requests it served (by tokens: 2,400 and 1,200); an instance not configured is not
    charged."""
    catalog = PriceCatalog.load()
    client = redis.Redis.from_url(redis_url)
    ledger = Ledger(client)
    served = [
        row(catalog, 1, 5 * HOUR, backend="ec2", model=EC2_MODEL),
        row(catalog, 2, 2 * HOUR, backend="ec2", model=EC2_MODEL, input_tokens=800),
    ]
    for rec in [*served, row(catalog, 3, HOUR)]:
        ledger.record(rec)
    hours = InstanceHours(client)
    now = time.time()
    for ago_h, state in [(6, "running"), (4, "stopping"), (2.5, "running"), (1.5, "stopped")]:
        hours.record("i-0aaaaaaaaaaaaaaaa", state, now - ago_h * HOUR)
    hours.record("i-0notours00000000", "running", now - 6 * HOUR)  # not configured: not charged
    client.close()

    result = chatops_cost(
        redis_url, tmp_path, "--period", "7d", env={"EC2_INSTANCE_IDS": "i-0aaaaaaaaaaaaaaaa"}
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "EC2 g5.xlarge: ran 3 h at $1.006/h = $3.02\n" in out
    assert "  served 3.6k tokens: $838.33 per 1M\n" in out
    bedrock = sum(
        r.cost_micro_usd or 0 for r in ledger_rows_in(redis_url) if r.backend == "bedrock"
    )
    spend_line = next(line for line in out.splitlines() if line.startswith("  Spend "))
    spend, shown_bedrock, instance = (
        Decimal(amount) for amount in re.findall(r"\$([\d.]+)", spend_line)
    )
    # Bedrock's few cents beside $3.02 of instance hours: shown finer, so the parts add up.
    assert spend_line.endswith(f"(Bedrock ${shown_bedrock} + EC2 instance hours ${instance})")
    assert spend == shown_bedrock + instance
    assert instance == Decimal("3.018")
    assert abs(spend - Decimal(bedrock + 3_018_000) / 1_000_000) < Decimal("0.0001")
    assert "EC2 g5.xlarge as run (3 h)" in out
    assert "not counted" not in out


def ledger_rows_in(redis_url: str) -> list[LedgerRecord]:
    client = redis.Redis.from_url(redis_url)
    try:
        return Ledger(client).records(0, time.time())
    finally:
        client.close()


def test_cost_for_one_user(redis_url: str, tmp_path: Path) -> None:
    catalog = PriceCatalog.load()
    client = redis.Redis.from_url(redis_url)
    ledger = Ledger(client)
    mine = row(catalog, 1, HOUR, user="U2")
    for rec in (mine, row(catalog, 2, 2 * HOUR), row(catalog, 3, 3 * HOUR, channel="C9")):
        ledger.record(rec)
    client.close()

    result = chatops_cost(redis_url, tmp_path, "--period", "7d", "--user", "U2")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith("· user U2")
    assert "Requests             1\n" in result.stdout
    assert f"Spend                {usd(mine.cost_micro_usd or 0)}\n" in result.stdout


def test_an_unreachable_ledger_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    result = chatops_cost("redis://127.0.0.1:1/0", tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("chatops: REDIS_URL: cannot read the cost ledger")
    assert len(result.stderr.strip().splitlines()) == 1
