"""What the router and the caches decided, as the reports count it from ledger rows: spend by
routing reason (a message that needed no model apart), hits and saving per cache that add up
to the response cache's lever, the semantic guards' refusals, and answers cut short — and
that `/llm-cost` and `chatops cost` show them."""

from __future__ import annotations

import datetime
import json

import pytest

from chatops.cost_text import report_text
from chatops.replay import RunResult
from chatops.replay_audit import lever_decisions
from gateway.instance_hours import Ec2Hours
from gateway.ledger import LedgerRecord
from gateway.lever_counts import (
    by_cache,
    by_reason,
    guard_refusals,
    semantic_misses,
    tier_mix,
    truncated,
)
from gateway.pricing import PriceCatalog
from gateway.report import build_report
from gateway.savings import savings_by_lever
from gateway.types import Route
from tests.clock import today_at
from tests.ledger_rows import HAIKU, SONNET, ledger_row
from workers.cost_blocks import report_blocks

NOVA = "amazon.nova-micro-v1:0"
NOON = today_at(12)


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return PriceCatalog.load()


@pytest.fixture
def rows(catalog: PriceCatalog) -> list[LedgerRecord]:
    def row(n: int, **fields: object) -> LedgerRecord:
        return ledger_row(catalog, NOON + n, request_id=f"r{n}", call_id=f"c{n}", **fields)

    return [
        row(1, model=NOVA, tier="small", tier_reason="short lookup → small"),
        row(2, model=NOVA, tier="small", tier_reason="short lookup → small"),
        row(3, tier_reason="why + symptom → medium", cache_note="guard:number 3≠5"),
        row(4, tier_reason="why + symptom → medium", stop_reason="max_tokens"),
        row(5, model=SONNET, tier="large", tier_reason="override", cache_note="fresh"),
        row(6, cache_hit=True, cache_kind="exact", tier_reason="short lookup → small"),
        row(7, cache_hit=True, cache_kind="semantic", cache_note="similarity 0.97"),
        row(8, cache_hit=True, cache_kind="flight", cache_note=""),
        row(9, tier_reason="task default", cache_note="guard:env staging≠prod"),
        row(10, tier_reason="task default", cache_note="similarity 0.61 < 0.85"),
        row(11, tier_reason="task default", cache_note="guard:number 7≠9"),
        row(
            12,
            model="none",
            backend="none",
            tier="none",
            tier_reason="thanks",
            no_call=True,
            cost_micro_usd=0,
            output_tokens=0,
        ),
    ]


def test_spend_and_model_mix_by_reason(rows: list[LedgerRecord]) -> None:
    mixes = {mix.reason: mix for mix in by_reason(rows)}

    assert mixes["short lookup → small"].models == {NOVA: 2, HAIKU: 1}
    assert mixes["no call: thanks"].requests == 1
    assert mixes["no call: thanks"].spend_micro_usd == 0
    assert mixes["override"].spend_micro_usd == rows[4].cost_micro_usd
    spends = [mix.spend_micro_usd for mix in by_reason(rows)]
    assert spends == sorted(spends, reverse=True)
    assert sum(spends) == sum(r.cost_micro_usd or 0 for r in rows)


def test_cache_savings_add_up_to_the_response_cache_lever(
    rows: list[LedgerRecord], catalog: PriceCatalog
) -> None:
    uses = {use.kind: use for use in by_cache(rows)}

    assert {kind: use.hits for kind, use in uses.items()} == {
        "exact": 1,
        "semantic": 1,
        "flight": 1,
        "summary": 0,
    }
    assert uses["exact"].saved_micro_usd == rows[5].baseline_micro_usd
    lever = savings_by_lever(rows, catalog).by_lever["response_cache"]
    assert sum(use.saved_micro_usd for use in uses.values()) == lever > 0


def test_semantic_misses_and_guard_refusals(rows: list[LedgerRecord]) -> None:
    # Hits, `--fresh` and questions about the present are not semantic misses.
    assert semantic_misses(rows) == {"guard:number": 2, "guard:env": 1, "similarity": 1}
    assert guard_refusals(rows) == {"number": 2, "env": 1}


def test_truncated_answers_and_calls_per_tier(rows: list[LedgerRecord]) -> None:
    assert truncated(rows) == 1
    assert tier_mix(rows) == {"medium": 5, "small": 2, "large": 1}


def test_the_cost_report_shows_spend_by_reason_and_the_caches(
    rows: list[LedgerRecord], catalog: PriceCatalog
) -> None:
    end = datetime.datetime.fromtimestamp(NOON + 3600, datetime.UTC)
    start = end - datetime.timedelta(days=1)
    report = build_report(
        rows,
        catalog,
        period_start=start,
        period_end=end,
        tiers={"small": (Route("bedrock", NOVA),), "large": (Route("bedrock", SONNET),)},
        ec2_hours=Ec2Hours(
            "g5.xlarge", None, start.timestamp(), end.timestamp(), (), configured=False
        ),
        title="today",
    )

    text = report_text(report)
    assert "by routing reason" in text
    assert "no call: thanks" in text
    assert "exact answer cache" in text and "semantic cache" in text
    shown = "\n".join(str(block.get("text", {}).get("text", "")) for block in report_blocks(report))
    assert "*By routing reason*" in shown
    assert "*Caches*" in shown
    assert "same question in flight: *1* hits" in shown


def test_the_replay_reports_what_the_levers_decided(
    rows: list[LedgerRecord], catalog: PriceCatalog
) -> None:
    naive = [
        ledger_row(catalog, NOON, model=SONNET, tier="large", stop_reason="max_tokens"),
        ledger_row(catalog, NOON + 1, model=SONNET, tier="large", stop_reason="end_turn"),
    ]
    report = lever_decisions(RunResult("all", records=rows), RunResult("none", records=naive))

    assert report["model_mix_by_reason"]["short lookup → small"] == {NOVA: 2, HAIKU: 1}
    assert report["truncated"] == {"levers": 1, "naive": 1}
    assert report["caches"]["exact"]["hits"] == 1
    assert report["caches"]["exact"]["saved_usd"] == rows[5].baseline_micro_usd / 1e6
    assert report["semantic_guard_refusals"] == {"number": 2, "env": 1}
    assert report["tier_mix"] == {"medium": 5, "small": 2, "large": 1}
    json.dumps(report)  # `chatops replay --json` prints it
    alone = lever_decisions(RunResult("all", records=rows), None)
    assert alone["truncated"] == {"levers": 1, "naive": None}
