"""`/llm-cost` and `chatops cost` show the API's spend beside Slack's: by edge, and the API's
by team and by token — only when the period has API requests."""

from __future__ import annotations

import datetime

import pytest

from chatops.cost_text import report_text
from gateway.instance_hours import Ec2Hours
from gateway.ledger import LedgerRecord
from gateway.pricing import PriceCatalog
from gateway.report import CostReport, build_report
from gateway.types import Route
from tests.clock import today_at
from tests.ledger_rows import HAIKU, SONNET, ledger_row
from workers.cost_blocks import report_blocks

NOVA = "amazon.nova-micro-v1:0"
TIERS = {
    "small": (Route("bedrock", NOVA),),
    "medium": (Route("bedrock", HAIKU),),
    "large": (Route("bedrock", SONNET),),
}


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return PriceCatalog.load()


def _report(rows: list[LedgerRecord], catalog: PriceCatalog) -> CostReport:
    start = datetime.datetime.fromtimestamp(today_at(0), datetime.UTC)
    end = start + datetime.timedelta(days=1)
    hours = Ec2Hours("g5.xlarge", None, start.timestamp(), end.timestamp(), (), configured=False)
    return build_report(
        rows,
        catalog,
        period_start=start,
        period_end=end,
        tiers=TIERS,
        ec2_hours=hours,
        title="today",
    )


def _rows(catalog: PriceCatalog) -> list[LedgerRecord]:
    at = today_at(9)
    return [
        ledger_row(catalog, at, request_id="s1", source="slash", output_tokens=100),
        ledger_row(catalog, at, request_id="s2", source="mention", output_tokens=300),
        ledger_row(catalog, at, request_id="a1", source="api", user="tok_a", workspace="platform"),
        ledger_row(catalog, at, request_id="a2", source="api", user="tok_a", workspace="platform",
                   output_tokens=900),
        ledger_row(catalog, at, request_id="a3", source="api", user="tok_b", workspace="data",
                   model=NOVA, tier="small"),
    ]  # fmt: skip


def _spend(rows: list[LedgerRecord]) -> int:
    return sum(rec.cost_micro_usd or 0 for rec in rows)


def test_api_spend_by_team_and_token_beside_slacks(catalog: PriceCatalog) -> None:
    rows = _rows(catalog)
    edges = _report(rows, catalog).edges
    by_id = {rec.request_id: rec for rec in rows}

    assert {row.key: row.spend_micro_usd for row in edges.by_edge} == {
        "slack": _spend([by_id["s1"], by_id["s2"]]),
        "api": _spend([by_id["a1"], by_id["a2"], by_id["a3"]]),
    }
    assert [(row.key, row.requests) for row in edges.api_by_team] == [("platform", 2), ("data", 1)]
    assert {row.key: row.spend_micro_usd for row in edges.api_by_token} == {
        "tok_a": _spend([by_id["a1"], by_id["a2"]]),
        "tok_b": by_id["a3"].cost_micro_usd,
    }
    assert edges.without_tokens().api_by_token == ()


def test_the_terminal_and_slack_show_the_api_tables(catalog: PriceCatalog) -> None:
    report = _report(_rows(catalog), catalog)
    text = report_text(report)
    blocks = "\n".join(
        block["text"]["text"]
        for block in report_blocks(report)
        if block.get("type") == "section" and "text" in block
    )

    for heading in ("by edge", "by API team", "by API token"):
        assert heading in text
    for heading in ("*By edge*", "*API by team*", "*API by token*"):
        assert heading in blocks
    for name in ("platform", "data", "tok_a", "tok_b"):
        assert name in text and f"`{name}`" in blocks


def test_no_api_requests_no_api_tables(catalog: PriceCatalog) -> None:
    report = _report([r for r in _rows(catalog) if r.source != "api"], catalog)
    assert not report.edges.has_api
    assert "API team" not in report_text(report)
    assert "API by team" not in str(report_blocks(report))
