"""The cost report as people see it: Slack blocks within Slack's limits, a real PNG, a CSV that
round-trips, and a terminal table that never shows an unpriced model as $0."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import random
import struct
import typing
from pathlib import Path
from typing import Any

import pytest

from chatops.cost_chart import render_chart
from chatops.cost_text import WINDOWING_NOTE, report_text, tokens, usd, write_csv
from gateway.instance_hours import Ec2Hours, Interval
from gateway.ledger import LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.report import CostReport, ReportFilter, build_report
from gateway.types import Route, Usage
from tests.clock import at as day_at
from tests.clock import today
from workers.cost_blocks import report_blocks

SONNET = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-micro-v1:0"
EC2_MODEL = "llama-3.1-8b-instruct"
UNKNOWN = "us.unknown-model-v9:0"
END = day_at(today(), 10, 30)
START = END - datetime.timedelta(days=7)
# The instance ran 12 h on each of five days: 60 h.
RUNNING = tuple(
    Interval("i-0123456789abcdef0", start, start + 12 * 3600)
    for start in (START.timestamp() + 86_400 * d + 3600 for d in range(5))
)
TIERS = {
    "small": (Route("bedrock", NOVA), Route("ec2", EC2_MODEL)),
    "medium": (Route("bedrock", HAIKU), Route("ec2", EC2_MODEL)),
    "large": (Route("bedrock", SONNET),),
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Slack's Block Kit limits (Block Kit reference, "Blocks").
MAX_BLOCKS, HEADER_CHARS, TEXT_CHARS, FIELD_CHARS, MAX_FIELDS, MAX_CONTEXT = (
    50,
    150,
    3000,
    2000,
    10,
    10,
)


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return PriceCatalog.load()


def record(catalog: PriceCatalog, n: int, rng: random.Random, **overrides: Any) -> LedgerRecord:
    model, backend = rng.choice([(NOVA, "bedrock"), (HAIKU, "bedrock"), (EC2_MODEL, "ec2")])
    values: dict[str, Any] = {
        "request_id": f"req-{n}",
        "at": (START + datetime.timedelta(seconds=rng.uniform(0, 7 * 86_400))).timestamp(),
        "source": "slash",
        "user": f"U{rng.randrange(12):03d}",
        "channel": rng.choice(["C0PLATFORM", "C0DEPLOYS", "D0DIRECT"]),
        "workspace": "T1",
        "task": "ask",
        "backend": backend,
        "model": model,
        "tier": "small",
        "tier_reason": "router",
        "input_tokens": rng.randrange(200, 4_000),
        "output_tokens": rng.randrange(50, 800),
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "baseline_model": SONNET,
        "ttft_ms": 300,
        "total_ms": 1_800,
    }
    values.update(overrides)
    usage = Usage(values["input_tokens"], values["output_tokens"], model=values["model"])
    if values["backend"] == "ec2":
        values.setdefault("cost_micro_usd", None)
    values.setdefault("cost_micro_usd", catalog.cost_micro_usd(usage))
    values.setdefault("baseline_micro_usd", catalog.naive_baseline_micro_usd(SONNET, usage))
    return LedgerRecord(**values)


def week(catalog: PriceCatalog, count: int = 400, **overrides: Any) -> list[LedgerRecord]:
    rng = random.Random(7)
    rows = [record(catalog, n, rng, **overrides) for n in range(count)]
    return [*rows, record(catalog, count, rng, model=UNKNOWN, backend="bedrock")]


def make_report(
    records: list[LedgerRecord], catalog: PriceCatalog, scope: ReportFilter | None = None
) -> CostReport:
    return build_report(
        records,
        catalog,
        period_start=START,
        period_end=END,
        tiers=TIERS,
        ec2_hours=Ec2Hours(
            "g5.xlarge",
            catalog.instance_hourly_micro_usd("g5.xlarge"),
            START.timestamp(),
            END.timestamp(),
            RUNNING,
            configured=True,
        ),
        title="last 7 days",
        filter=scope,
    )


def texts(block: dict[str, Any]) -> list[str]:
    """Every text object in a block, so each can be held to its limit."""
    found = [block["text"]] if "text" in block else []
    return [item["text"] for item in found + block.get("fields", []) + block.get("elements", [])]


def assert_within_slack_limits(blocks: list[dict[str, Any]]) -> None:
    json.dumps(blocks)  # what slack_sdk sends must serialize
    assert 0 < len(blocks) <= MAX_BLOCKS
    for block in blocks:
        assert block["type"] in {"header", "section", "context", "divider"}
        assert len(block.get("fields", [])) <= MAX_FIELDS
        assert len(block.get("elements", [])) <= MAX_CONTEXT
        for text in texts(block):
            limit = {"header": HEADER_CHARS}.get(block["type"], TEXT_CHARS)
            assert text and len(text) <= limit, (block["type"], len(text))
        for field in block.get("fields", []):
            assert len(field["text"]) <= FIELD_CHARS
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"


def test_blocks_show_the_report_within_slack_limits(catalog: PriceCatalog) -> None:
    report = make_report(week(catalog), catalog)
    blocks = report_blocks(report)

    assert_within_slack_limits(blocks)
    shown = "\n".join(text for block in blocks for text in texts(block))
    assert blocks[0]["text"]["text"] == "LLM cost — last 7 days"
    assert usd(report.spend_micro_usd) in shown
    assert usd(report.baseline_micro_usd) in shown
    assert "*By model*" in shown and "*By user*" in shown and "*By channel*" in shown
    assert "<#C0PLATFORM>" in shown and "`D0DIRECT`" in shown  # a DM id is not a channel link
    assert "<@" not in shown  # listing people must not notify them
    assert "Bedrock vs EC2" in shown and "EC2 cheaper above" in shown


def test_blocks_say_unpriced_never_zero(catalog: PriceCatalog) -> None:
    blocks = report_blocks(make_report(week(catalog), catalog))
    shown = "\n".join(text for block in blocks for text in texts(block))

    assert f"`{UNKNOWN}`" in shown and "*1 request unpriced*, counted in no total" in shown
    model_line = next(line for line in shown.splitlines() if line.startswith("`unknown-model`"))
    assert "*unpriced*" in model_line and "$0" not in model_line


def test_blocks_stay_within_limits_with_many_long_names(catalog: PriceCatalog) -> None:
    rng = random.Random(3)
    many = [
        record(catalog, n, rng, user="U" + "X" * 400 + str(n), model=f"us.vendor.m{n}-" + "y" * 300)
        for n in range(300)
    ]
    report = make_report(many, catalog, ReportFilter(channel="C" + "Z" * 300))
    assert_within_slack_limits(report_blocks(report))
    assert_within_slack_limits(report_blocks(make_report(many, catalog)))


def test_blocks_without_traffic_say_so_and_show_the_idle_instance(catalog: PriceCatalog) -> None:
    report = make_report([], catalog)
    blocks = report_blocks(report)
    assert_within_slack_limits(blocks)
    shown = "\n".join(text for block in blocks for text in texts(block))
    assert "_no traffic in this period_" in shown
    assert "served no requests: all of it was idle time" in shown
    assert usd(60 * 1_006_000) in shown


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("count", [400, 1, 0])
def test_the_chart_is_a_real_png_of_sensible_size(
    catalog: PriceCatalog, tmp_path: Path, count: int
) -> None:
    records = week(catalog, count)[:count]
    path = tmp_path / "cost.png"
    render_chart(make_report(records, catalog), path)

    width, height = png_size(path)
    assert 1000 <= width <= 2000 and 600 <= height <= 1400
    assert 20_000 < path.stat().st_size < 1_000_000


def test_the_text_warns_when_the_busiest_hour_is_beyond_one_instance(
    catalog: PriceCatalog,
) -> None:
    rng = random.Random(5)
    burst = [record(catalog, n, rng, output_tokens=40_000, at=START.timestamp() + 60 * n)
             for n in range(4)]  # fmt: skip
    text = report_text(make_report(burst, catalog))
    assert "One instance may not keep up: busiest hour" in text
    assert "160,000 output tokens, but one A10G decodes ~133,200" in text


def test_a_filtered_report_renders(catalog: PriceCatalog, tmp_path: Path) -> None:
    path = tmp_path / "u.png"
    render_chart(make_report(week(catalog), catalog, ReportFilter(user="U001")), path)
    assert png_size(path)[0] >= 1000


def from_csv(row: dict[str, str]) -> LedgerRecord:
    """Rebuild a record from its CSV row by the field types: what a spreadsheet user would do."""
    hints = typing.get_type_hints(LedgerRecord)
    parsers = {int: int, float: float, str: str, bool: lambda text: text == "true"}
    values: dict[str, Any] = {}
    for field in dataclasses.fields(LedgerRecord):
        text, hint = row[field.name], hints[field.name]
        if hint == int | None:
            values[field.name] = int(text) if text else None
        else:
            values[field.name] = parsers.get(hint, str)(text)
    return LedgerRecord(**values)


def test_csv_round_trips_every_field(catalog: PriceCatalog, tmp_path: Path) -> None:
    records = week(catalog, 50)
    path = tmp_path / "ledger.csv"
    write_csv(records, path)

    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
        handle.seek(0)
        rows = list(csv.DictReader(handle))
    assert [from_csv(row) for row in rows] == records
    for row, rec in zip(rows, records, strict=True):
        if rec.cost_micro_usd is None:
            assert row["cost_micro_usd"] == row["cost_usd"] == ""  # unpriced, not 0
        else:
            assert row["cost_usd"] == f"{rec.cost_micro_usd / 1_000_000:.6f}"
        assert row["at_utc"].endswith("+00:00")
    assert header[header.index("cost_micro_usd") + 1] == "cost_usd"
    assert {f.name for f in dataclasses.fields(LedgerRecord)} <= set(header)


def test_terminal_table_totals_and_unpriced(catalog: PriceCatalog) -> None:
    report = make_report(week(catalog), catalog)
    text = report_text(report)

    assert f"Spend                {usd(report.spend_micro_usd)}" in text
    assert f"Requests             {report.requests:,}" in text
    assert f"Tokens               {tokens(report.tokens)}" in text
    unknown_row = next(line for line in text.splitlines() if line.strip().startswith(UNKNOWN))
    assert unknown_row.split()[-1] == "unpriced" and "$0" not in unknown_row
    assert f"1 request not counted: {UNKNOWN} (1 request, " in text


def windowed_summary(catalog: PriceCatalog, windows: int) -> list[LedgerRecord]:
    """One long document read in `windows` windows on the small model and reduced on the
    medium one, as the summarizer records it: the reduce carries the naive baseline (the whole
    document once on the strongest model), the map calls none."""
    rng = random.Random(11)
    maps = [
        record(
            catalog,
            n,
            rng,
            task="summarize",
            model=NOVA,
            backend="bedrock",
            windows=windows,
            input_tokens=2_000,
            uncompacted_input_tokens=2_000,
            output_tokens=320,
            baseline_micro_usd=0,
        )
        for n in range(windows)
    ]
    whole = Usage(2_000 * windows, 600, model=SONNET)
    reduce_ = record(
        catalog,
        windows,
        rng,
        task="summarize",
        model=HAIKU,
        backend="bedrock",
        windows=windows,
        input_tokens=320 * windows,
        uncompacted_input_tokens=320 * windows,
        output_tokens=600,
        baseline_micro_usd=catalog.naive_baseline_micro_usd(SONNET, whole),
    )
    return [*maps, reduce_]


def test_a_negative_windowing_part_is_explained_where_it_is_shown(
    catalog: PriceCatalog, tmp_path: Path
) -> None:
    report = make_report(windowed_summary(catalog, 12), catalog)
    assert report.savings.by_lever["windowing"] < 0 < report.savings.by_lever["right_sizing"]
    shown = "\n".join(text for block in report_blocks(report) for text in texts(block))
    assert f"_{WINDOWING_NOTE}_" in shown
    assert f"({WINDOWING_NOTE})" in " ".join(report_text(report).split())
    render_chart(report, tmp_path / "chart.png")

    plain = make_report(week(catalog), catalog)
    assert WINDOWING_NOTE not in report_text(plain)


@pytest.mark.parametrize(
    ("micro_usd", "shown"),
    [
        (0, "$0.00"),
        (42, "$0.000042"),
        (12_345, "$0.0123"),
        (734_380_000, "$734.38"),
        (1_234_567_890, "$1,234.57"),
        (-51_110_000, "-$51.11"),
    ],
)
def test_money_is_formatted_from_integers(micro_usd: int, shown: str) -> None:
    assert usd(micro_usd) == shown
