"""The cost report as a terminal table, the ledger rows as CSV, and the wording both share.

The amount formatters live here because the terminal, the Slack blocks and the chart must show
the same money the same way; the report itself (`gateway.report`) holds only numbers.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from chatops.messages import usd
from gateway.break_even import (
    ALWAYS_ON,
    AS_RUN,
    SINGLE_STREAM_DECODE_TOKENS_PER_S,
    BreakEven,
    InstanceOption,
)
from gateway.ledger import LedgerRecord
from gateway.pricing import EC2_BACKEND
from gateway.report import (
    CostReport,
    SpendRow,
)
from gateway.savings import EC2_IDLE

UNPRICED = "unpriced"
NO_TRAFFIC = "no traffic in this period"
SAVINGS_SUM = "they add up to the naive baseline minus the spend"
NOT_APPLICABLE = "n/a"
LEVER_LABELS = {
    "response_cache": "response cache",
    "compaction": "token optimization",
    "right_sizing": "right-sizing",
    "prompt_caching": "prompt caching",
    EC2_IDLE: "EC2 idle time",
}
DIMENSIONS = ("backend", "model", "user", "channel")
# The caches as people know them (`gateway.lever_counts.CACHE_KINDS`).
CACHE_LABELS = {
    "exact": "exact answer cache",
    "semantic": "semantic cache",
    "flight": "same question in flight",
    "summary": "unchanged Jira summary",
}
# Spend by edge, and the API's by team and token: shown when the period has API requests.
EDGE_TABLES = (("edge", "by_edge"), ("API team", "api_by_team"), ("API token", "api_by_token"))
INSTANCE_LABELS = {
    AS_RUN: "as run",
    ALWAYS_ON: "one always on",
}
NO_INSTANCE = (
    "no EC2 instance is configured (EC2_INSTANCE_IDS or EC2_INSTANCE_TAG), so its hours are unknown"
)
TABLE_ROWS = 10
RIGHT_SIZING_NOTE = "right-sizing counts the EC2 instance hours spread over the requests it served"
WINDOWING_NOTE = (
    "windowing is below zero when a document is first read in windows: its window calls, priced"
    " on the largest model, cost more than one whole call; right-sizing counts the small model"
    " that read them, and a changed document reads only its new windows"
)
_MICRO = Decimal(1_000_000)
# `global.anthropic.claude-haiku-4-5-20251001-v1:0` -> `claude-haiku-4-5`.
_PROFILE_AND_VENDOR = re.compile(r"^(?:(?:global|us|eu|apac)\.)?(?:[a-z]+\.(?=[a-z]))?")
_DATE_AND_VERSION = re.compile(r"(?:-\d{8})?(?:-v\d+(?::\d+)?)?$")
# Extra CSV columns for people reading the file in a spreadsheet, placed after their source.
_CSV_EXTRAS: dict[str, tuple[str, Callable[[LedgerRecord], str]]] = {
    "at": ("at_utc", lambda rec: _iso(rec.at)),
    "cost_micro_usd": ("cost_usd", lambda rec: _usd6(rec.cost_micro_usd)),
    "baseline_micro_usd": ("baseline_usd", lambda rec: _usd6(rec.baseline_micro_usd)),
}


def hourly(micro_usd: int) -> str:
    """An instance's price as listed, every digit: `$1.006/h`."""
    return f"${Decimal(micro_usd) / _MICRO:f}/h"


def usd_or_unpriced(micro_usd: int | None) -> str:
    return UNPRICED if micro_usd is None else usd(micro_usd)


def tokens(count: int) -> str:
    """`950`, `12.3k`, `4.5M`, `12.0B`."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if count >= size:
            return f"{count / size:.1f}{suffix}"
    return str(count)


def hours(count: Decimal) -> str:
    """`168 h`, `10.5 h`: one decimal only when the hours are not whole; under an hour in
    minutes (`12 min`), under a minute in seconds (`45 s`), never `0.0 h` for a short run."""
    if count == count.to_integral_value():
        return f"{count:.0f} h"
    if count >= 1:
        return f"{count:.1f} h"
    if count * 60 >= 1:
        return f"{count * 60:.0f} min"
    return f"{count * 3600:.0f} s"


def requests(count: int) -> str:
    """`1 request`, `1,400 requests`."""
    return f"{count:,} request{'' if count == 1 else 's'}"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else NOT_APPLICABLE


def short_model(model_id: str) -> str:
    """A model id without its profile prefix, vendor, date and version, for narrow places."""
    short = _DATE_AND_VERSION.sub("", _PROFILE_AND_VENDOR.sub("", model_id))
    return short or model_id


def lever_label(name: str) -> str:
    return LEVER_LABELS.get(name, name.replace("_", " "))


def period_label(report: CostReport) -> str:
    """`2026-11-20 10:30 → 2026-11-27 10:30 UTC`."""
    start, end = (at.astimezone(datetime.UTC) for at in (report.period_start, report.period_end))
    return f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC"


def headline(report: CostReport) -> list[tuple[str, str]]:
    """The few numbers every view leads with, as (label, value). Spend is Bedrock plus the
    instance hours, each shown when there are instance hours; saved is the baseline minus
    spend, with the reason in words when it is negative."""
    saved = report.savings.saved_micro_usd
    hit_rate = report.cache_hit_rate
    spend, bedrock, instance, baseline, saved_text = _adding_up(_headline_amounts(report))
    if report.instance_micro_usd:
        spend += f" (Bedrock {bedrock} + EC2 instance hours {instance})"
    reason = saved_reason(report)
    return [
        ("Spend", spend),
        ("Naive baseline", baseline),
        (
            "Saved",
            f"{saved_text} ({percent(saved, report.baseline_micro_usd)})"
            + (f": {reason}" if reason else ""),
        ),
        ("Requests", f"{report.requests:,}"),
        ("Tokens", tokens(report.tokens)),
        ("Response-cache hits", NOT_APPLICABLE if hit_rate is None else f"{hit_rate:.1%}"),
    ]


def _headline_amounts(report: CostReport) -> tuple[int, ...]:
    return (
        report.spend_micro_usd,
        report.per_token_micro_usd,
        report.instance_micro_usd,
        report.baseline_micro_usd,
        report.savings.saved_micro_usd,
    )


def _headline_decimals(amounts: Sequence[int]) -> int:
    """Spend, Bedrock, instance hours, baseline and saved are shown to the decimals the
    smallest needs — more, up to every micro-dollar, if rounding would make the shown figures
    not add up (spend = Bedrock + instance hours, saved = baseline - spend)."""
    smallest = min((abs(a) for a in amounts if a), default=0)
    first = len(usd(smallest).rpartition(".")[2]) if smallest else 2
    for decimals in (d for d in (2, 4, 6) if d >= first):
        shown = [_rounded(amount, decimals) for amount in amounts]
        if shown[0] == shown[1] + shown[2] and shown[4] == shown[3] - shown[0]:
            return decimals
    return 6


def _adding_up(amounts: Sequence[int]) -> list[str]:
    decimals = _headline_decimals(amounts)
    return [_usd_to(_rounded(amount, decimals)) for amount in amounts]


def savings_parts(report: CostReport) -> list[tuple[str, str]]:
    """Each lever's part as (label, amount), to the decimals that make the shown parts add up
    to the saving the headline shows — never fewer than the headline's own."""
    parts = report.savings.by_lever
    saved = report.savings.saved_micro_usd
    least = _headline_decimals(_headline_amounts(report))
    decimals = next(
        (
            d
            for d in (2, 4, 6)
            if d >= least
            and sum(_rounded(amount, d) for amount in parts.values()) == _rounded(saved, d)
        ),
        6,
    )
    return [
        (lever_label(name), _usd_to(_rounded(amount, decimals)) if amount else usd(0))
        for name, amount in parts.items()
    ]


def _rounded(micro_usd: int, decimals: int) -> Decimal:
    return (Decimal(micro_usd) / _MICRO).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


def _usd_to(dollars: Decimal) -> str:
    return f"{'-' if dollars < 0 else ''}${abs(dollars):,}"


def saved_reason(report: CostReport) -> str:
    """Why the levers saved less than nothing, in words: the part that cost the most — the
    instances' hours (idle, or spread over the few requests they served, which makes
    right-sizing to them negative), or another lever — or "" when the saving is not negative."""
    savings = report.savings
    if savings.saved_micro_usd >= 0 or not savings.by_lever:
        return ""
    worst, amount = min(savings.by_lever.items(), key=lambda item: item[1])
    ec2 = report.ec2
    if worst in (EC2_IDLE, "right_sizing") and ec2 is not None and report.instance_micro_usd:
        count = len(ec2.hours.hours_by_instance())
        who = "the EC2 instance was" if count <= 1 else f"the {count} EC2 instances were"
        return f"{who} up {hours(ec2.hours.hours)} and served {requests(ec2.requests)}"
    return f"{lever_label(worst)} cost {usd(-amount)} more than the naive way"


def ec2_lines(report: CostReport) -> list[str]:
    """The instances' period: the hours they really ran, their price, what they served, and
    the same requests on Bedrock and on one instance always on."""
    ec2 = report.ec2
    if ec2 is None:
        return []
    hours_ = ec2.hours
    head = f"EC2 {ec2.instance_type}: ran {hours(hours_.hours)}"
    if hours_.cost_micro_usd is None or hours_.hourly_micro_usd is None:
        return [f"{head}, {UNPRICED}: add the instance type to a price file (PRICING_FILE)"]
    lines = [f"{head} at {hourly(hours_.hourly_micro_usd)} = {usd(hours_.cost_micro_usd)}"]
    by_instance = hours_.hours_by_instance()
    if len(by_instance) > 1:
        lines.append("  " + " · ".join(f"{iid} {hours(h)}" for iid, h in by_instance.items()))
    per_million = ec2.micro_usd_per_million_tokens
    if per_million is None:
        lines.append("  it served no requests: all of it was idle time")
    else:
        lines.append(f"  served {tokens(ec2.tokens_served)} tokens: {usd(per_million)} per 1M")
    if report.filter.is_filtered:
        lines.append(
            f"  {report.filter}: {requests(ec2.requests)}, {tokens(ec2.tokens)} tokens,"
            f" {usd(ec2.attributed_micro_usd)} of it"
        )
    always_on = usd_or_unpriced(hours_.always_on_micro_usd)
    bedrock = usd_or_unpriced(ec2.bedrock_micro_usd)
    lines.append(
        f"  the same {requests(ec2.requests)}: {bedrock} on Bedrock,"
        f" {always_on} with one instance always on ({hours(hours_.always_on_hours)})"
    )
    return lines


def instance_label(option: InstanceOption, break_even: BreakEven) -> str:
    """`EC2 g5.xlarge as run (12.5 h)`, `EC2 g5.xlarge one always on (168 h)`."""
    how = INSTANCE_LABELS[option.kind]
    return f"EC2 {break_even.instance_type} {how} ({hours(option.hours)})"


def break_even_lines(report: CostReport) -> list[tuple[str, str, str]]:
    """(option, what this traffic cost on it, its monthly figure), Bedrock tiers then EC2.

    A tier's monthly figure is the volume above which the instance always on is cheaper.
    """
    be = report.break_even
    rows = [
        (
            f"Bedrock {tier.tier} ({short_model(tier.model)})",
            usd_or_unpriced(tier.traffic_micro_usd),
            NOT_APPLICABLE
            if tier.break_even_tokens_per_month is None
            else f"EC2 cheaper above {tokens(tier.break_even_tokens_per_month)} tokens",
        )
        for tier in be.tiers
    ]
    monthly = {ALWAYS_ON: usd_or_unpriced(be.monthly_always_on_micro_usd)}
    rows += [
        (
            instance_label(option, be),
            usd_or_unpriced(option.cost_micro_usd),
            monthly.get(option.kind, ""),
        )
        for option in be.instance_options
    ]
    return rows


def break_even_summary(report: CostReport) -> str:
    """`g5.xlarge always on costs $734.38/month, as much as 12.0B tokens/month on …`."""
    be = report.break_even
    volumes = [
        f"{tokens(tier.break_even_tokens_per_month)} on {short_model(tier.model)}"
        for tier in be.tiers
        if tier.break_even_tokens_per_month is not None
    ]
    if not volumes or be.monthly_always_on_micro_usd is None:
        return ""
    return (
        f"{be.instance_type} always on: {usd(be.monthly_always_on_micro_usd)}/month, as much as"
        f" {', '.join(volumes)} tokens/month on Bedrock ({mix_note(report)})"
    )


def mix_note(report: CostReport) -> str:
    """The input:output mix break-even volumes are blended at, and where it came from."""
    be = report.break_even
    if not be.mix_is_observed:
        return "no traffic, so at a 3:1 input:output mix"
    return f"at this traffic's mix, {percent(be.input_tokens, be.tokens)} input tokens"


def capacity_note(report: CostReport) -> str:
    """The assumption behind the EC2 figures, and whether this traffic strains it."""
    be = report.break_even
    one = (
        f"one A10G decodes ~{be.one_instance_output_tokens_per_hour:,} output tokens an hour"
        f" single-stream (~{SINGLE_STREAM_DECODE_TOKENS_PER_S} tok/s)"
    )
    if be.peak_hour is None:
        return f"Assumes one instance can serve the load: {one}"
    peak = f"busiest hour ({be.peak_hour:%Y-%m-%d %H:00} UTC) {be.peak_hour_output_tokens:,}"
    if be.exceeds_one_instance:
        return (
            f"One instance may not keep up: {peak} output tokens, but {one}; batching raises"
            " that, so measure before relying on one instance"
        )
    return f"Assumes one instance serves the load: {peak} output tokens; {one}"


def lever_notes(report: CostReport) -> list[str]:
    """What a reader needs to make sense of the savings' parts: where the instance hours went,
    and why windowing can be negative."""
    notes = []
    if report.ec2 and report.ec2.attributed_micro_usd:
        notes.append(RIGHT_SIZING_NOTE)
    if report.savings.by_lever.get("windowing", 0) < 0:
        notes.append(WINDOWING_NOTE)
    return notes


def report_text(report: CostReport) -> str:
    """The whole report for a terminal: headline, savings, breakdowns, unpriced, EC2."""
    lines = [
        f"LLM cost — {report.title} ({period_label(report)}) · {report.filter}",
        *([] if report.requests else ["", NO_TRAFFIC]),
        "",
        *(f"  {label:<20} {value}" for label, value in headline(report)),
        *_unpriced_lines(report),
        "",
        f"Savings by lever ({SAVINGS_SUM})",
        *(f"  {label:<20} {amount:>12}" for label, amount in savings_parts(report)),
        *(
            textwrap.fill(f"({note})", 96, initial_indent="  ", subsequent_indent="   ")
            for note in lever_notes(report)
        ),
    ]
    for dimension in DIMENSIONS if report.requests else ():
        lines += ["", *_spend_table(dimension, report.breakdowns[dimension])]
    if report.requests and report.by_reason:
        lines += ["", *_spend_table("routing reason", report.by_reason)]
    if report.requests and report.caches:
        lines += ["", *_table(("answered by a cache", "hits", "saved"), cache_rows(report))]
    for label, field in EDGE_TABLES if report.edges.has_api else ():
        rows = getattr(report.edges, field)
        lines += ["", *_spend_table(label, rows)] if rows else []
    lines += ["", *ec2_lines(report)] if report.ec2 else []
    comparison = _table(("for this traffic", "cost", "a month"), break_even_lines(report))
    lines += ["", "Bedrock vs EC2", *comparison, f"  {capacity_note(report)}"]
    return "\n".join(lines) + "\n"


def cache_rows(report: CostReport) -> list[tuple[str, str, str]]:
    """(cache, hits, saved) per kind of cache: what answered without a model call."""
    return [
        (CACHE_LABELS.get(use.kind, use.kind), f"{use.hits:,}", usd(use.saved_micro_usd))
        for use in report.caches
    ]


def _unpriced_lines(report: CostReport) -> list[str]:
    if not report.unpriced:
        return []
    models = ", ".join(
        f"{m.model} ({requests(m.requests)}, {tokens(m.tokens)} tokens)" for m in report.unpriced
    )
    lines = [f"  {'Unpriced':<20} {requests(report.unpriced_requests)} not counted: {models}"]
    if any(m.backend == EC2_BACKEND for m in report.unpriced) and report.ec2 is None:
        lines.append(f"  {'':<20} ec2: {NO_INSTANCE}")
    if any(m.backend != EC2_BACKEND for m in report.unpriced):
        lines.append(f"  {'':<20} add them to a price file (PRICING_FILE) to count them")
    return lines


def _spend_table(label: str, rows: Sequence[SpendRow]) -> list[str]:
    shown = [
        (
            row.key or "(none)",
            f"{row.requests:,}",
            tokens(row.tokens),
            spend_cell(row),
            _partly_unpriced(row),
        )
        for row in rows[:TABLE_ROWS]
    ]
    table = _table((f"by {label}", "requests", "tokens", "spend", ""), shown)
    more = len(rows) - TABLE_ROWS
    return table + ([f"  … and {more} more"] if more > 0 else [])


def spend_cell(row: SpendRow) -> str:
    """A row whose every request is unpriced has no spend to show: say so, never `$0.00`."""
    everything_unpriced = row.unpriced_requests == row.requests and not row.spend_micro_usd
    return UNPRICED if everything_unpriced else usd(row.spend_micro_usd)


def _partly_unpriced(row: SpendRow) -> str:
    """`3 unpriced` beside a spend that leaves them out; nothing when all or none are."""
    if not row.unpriced_requests or spend_cell(row) == UNPRICED:
        return ""
    return f"{row.unpriced_requests} {UNPRICED}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Left-aligned first column, right-aligned numbers, two spaces between columns."""
    all_rows = [tuple(headers), *(tuple(row) for row in rows)]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(headers))]
    return [
        "  "
        + "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in all_rows
    ]


def write_csv(records: Iterable[LedgerRecord], path: Path) -> None:
    """One row per ledger record, every field, plus UTC time and money in USD (6 decimals).

    An unpriced cost stays an empty cell, never 0.
    """
    columns = _csv_columns()
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for rec in records:
            writer.writerow(_csv_row(rec))


def _csv_columns() -> list[str]:
    columns = []
    for field in dataclasses.fields(LedgerRecord):
        columns.append(field.name)
        if field.name in _CSV_EXTRAS:
            columns.append(_CSV_EXTRAS[field.name][0])
    return columns


def _csv_row(rec: LedgerRecord) -> dict[str, str]:
    row = {name: _cell(value) for name, value in dataclasses.asdict(rec).items()}
    row |= {column: value_of(rec) for column, value_of in _CSV_EXTRAS.values()}
    return row


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, float) else str(value)


def _usd6(micro_usd: int | None) -> str:
    return "" if micro_usd is None else f"{Decimal(micro_usd) / _MICRO:.6f}"


def _iso(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(timespec="seconds")


__all__ = [
    "CACHE_LABELS",
    "EDGE_TABLES",
    "INSTANCE_LABELS",
    "LEVER_LABELS",
    "NOT_APPLICABLE",
    "NO_INSTANCE",
    "NO_TRAFFIC",
    "RIGHT_SIZING_NOTE",
    "SAVINGS_SUM",
    "UNPRICED",
    "WINDOWING_NOTE",
    "break_even_lines",
    "break_even_summary",
    "cache_rows",
    "capacity_note",
    "ec2_lines",
    "headline",
    "hourly",
    "hours",
    "instance_label",
    "lever_label",
    "lever_notes",
    "mix_note",
    "percent",
    "period_label",
    "report_text",
    "requests",
    "saved_reason",
    "savings_parts",
    "short_model",
    "spend_cell",
    "tokens",
    "usd",
    "usd_or_unpriced",
    "write_csv",
]
