"""The cost report as one PNG: spend per day, savings by lever, and Bedrock vs EC2.

Drawn on matplotlib's Agg canvas directly (no pyplot): nothing global changes, no display is
needed, and a worker can render while other threads run. Every `$` in a label is escaped,
because matplotlib reads text between two dollar signs as math.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from chatops.cost_text import (
    NO_TRAFFIC,
    UNPRICED,
    break_even_summary,
    capacity_note,
    headline,
    instance_label,
    lever_label,
    lever_notes,
    period_label,
    short_model,
    tokens,
    usd,
)
from gateway.report import CostReport, DaySpend

SIZE_INCHES = (13.0, 9.0)
DPI = 100
MODELS_SHOWN = 5
MIN_DAYS_WIDE = 7
OTHER = "other models"
BASELINE_COLOUR = "#222222"
MODEL_COLOURS = ("#4e79a7", "#a0cbe8", "#59a14f", "#b07aa1", "#76b7b2")
OTHER_COLOUR = "#bab0ac"
SAVED_COLOUR, LOST_COLOUR = "#59a14f", "#e15759"
BEDROCK_COLOUR, EC2_COLOUR = "#4e79a7", "#f28e2b"
MUTED = "#666666"
OPTIONS_NOTE = (
    "Each option: this period's model calls (response-cache hits left out) at the model's plain"
    " input/output prices, or instance hours at the hourly price: as the instances really ran,"
    " and one instance kept up all period."
)


def render_chart(report: CostReport, path: Path) -> None:
    """Write the report's chart as a PNG at `path` (1300 x 900 pixels)."""
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(3, 2, height_ratios=(1.15, 1, 0.12), width_ratios=(1, 1.3))
    figure.suptitle(
        _text(f"LLM cost — {report.title}  ·  {period_label(report)}  ·  {report.filter}"),
        fontsize=15,
        fontweight="bold",
    )
    daily = figure.add_subplot(grid[0, :])
    savings = figure.add_subplot(grid[1, 0])
    options = figure.add_subplot(grid[1, 1])
    if report.requests or report.spend_micro_usd:
        _draw_daily(daily, report)
    else:
        _say(daily, NO_TRAFFIC, fontsize=14)
    if report.requests:
        _draw_savings(savings, report)
    else:
        _say(savings, f"{NO_TRAFFIC}:\nnothing to save", fontsize=14)
    _draw_options(options, report)
    _say(figure.add_subplot(grid[2, :]), _footnote(report), fontsize=9)
    figure.savefig(path, format="png")


def _draw_daily(axes: Axes, report: CostReport) -> None:
    """Each day's Bedrock spend as bars stacked by model, the naive baseline as a line over
    them; the instance hours, when there are any, as bars of their own beside them on a scale
    of their own (the right axis), so cents of Bedrock stay visible next to a GPU's day."""
    positions = list(range(len(report.daily)))
    ec2 = _ec2_amounts(report)
    width, shift = (0.7, 0.0) if ec2 is None else (0.38, 0.2)
    bedrock_x = [x - shift for x in positions]
    bottoms = [0.0] * len(report.daily)
    for label, colour, amounts in _bands(report):
        heights = [_dollars(amount) for amount in amounts]
        axes.bar(bedrock_x, heights, bottom=bottoms, color=colour, width=width, label=_text(label))
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    baseline = [_dollars(day.baseline_micro_usd) for day in report.daily]
    axes.plot(
        positions,
        baseline,
        color=BASELINE_COLOUR,
        linestyle="--",
        marker="o",
        markersize=4,
        label="naive baseline (strongest model, no levers)",
    )
    if len(positions) <= 10:
        # Beside the instance's bars, Bedrock's own amount; alone, the day's whole spend.
        for x, day in zip(bedrock_x, report.daily, strict=True):
            amount = day.spend_micro_usd - (day.ec2_micro_usd if ec2 is not None else 0)
            _amount_label(axes, x, amount)
    axes.set_xticks(positions, _day_labels(report.daily))
    # A day or two would otherwise stretch into bars as wide as the figure.
    half_width = max(len(positions), MIN_DAYS_WIDE) / 2
    middle = (len(positions) - 1) / 2
    axes.set_xlim(middle - half_width, middle + half_width)
    title = _headline_line(report) + ("" if report.requests else f"  ·  {NO_TRAFFIC}")
    axes.set_title(_text(title), fontsize=11, loc="left", wrap=True)
    axes.set_ylabel("Bedrock spend per day (UTC)" if ec2 is not None else "spend per day (UTC)")
    _money_axis(axes, "y")
    handles, labels = axes.get_legend_handles_labels()
    if ec2 is not None:
        right = _draw_instance_hours(axes, [x + shift for x in positions], ec2, width, report)
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    axes.legend(handles, labels, loc="upper left", fontsize=8, ncols=3, frameon=False)
    axes.margins(y=0.2)


def _draw_instance_hours(
    axes: Axes, positions: list[float], amounts: list[int], width: float, report: CostReport
) -> Axes:
    """The instance hours per day on a right axis of their own, in the instance's orange."""
    assert report.ec2 is not None
    right = axes.twinx()
    heights = [_dollars(amount) for amount in amounts]
    label = f"EC2 {report.ec2.instance_type} (hours it ran, right axis)"
    right.bar(positions, heights, color=EC2_COLOUR, width=width, label=_text(label))
    if len(positions) <= 10:
        for x, amount in zip(positions, amounts, strict=True):
            if amount:
                _amount_label(right, x, amount)
    right.set_ylabel("EC2 instance hours per day (UTC)", color=EC2_COLOUR)
    right.yaxis.set_major_locator(MaxNLocator(nbins=5))
    right.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _text(_tick_usd(value))))
    right.tick_params(axis="y", colors=EC2_COLOUR)
    right.spines[["top", "left"]].set_visible(False)
    right.spines["right"].set_color(EC2_COLOUR)
    right.set_ylim(0, max(heights, default=0) * 1.25 or 1)
    return right


def _amount_label(axes: Axes, x: float, amount: int) -> None:
    axes.annotate(
        _text(usd(amount)),
        (x, _dollars(amount)),
        ha="center",
        va="bottom",
        fontsize=8,
        xytext=(0, 2),
        textcoords="offset points",
    )


def _draw_savings(axes: Axes, report: CostReport) -> None:
    """One bar per lever; a lever that cost money (a negative saving) is drawn in red."""
    items = list(report.savings.by_lever.items())[::-1]
    values = [_dollars(amount) for _, amount in items]
    colours = [SAVED_COLOUR if v >= 0 else LOST_COLOUR for v in values]
    axes.barh([lever_label(name) for name, _ in items], values, color=colours, height=0.6)
    for y, (value, (_, amount)) in enumerate(zip(values, items, strict=True)):
        axes.annotate(
            _text(usd(amount)),
            (value, y),
            va="center",
            fontsize=9,
            ha="left" if value >= 0 else "right",
            xytext=(4 if value >= 0 else -4, 0),
            textcoords="offset points",
        )
    axes.axvline(0, color=MUTED, linewidth=0.8)
    saved = report.savings.saved_micro_usd
    axes.set_title(_text(f"Savings by lever: {usd(saved)} in all"), fontsize=11, loc="left")
    if notes := lever_notes(report):
        label = "\n".join(textwrap.fill(note, 90) for note in notes)
        axes.set_xlabel(label, fontsize=8, color=MUTED)
    _money_axis(axes, "x")
    axes.margins(x=0.3)


def _draw_options(axes: Axes, report: CostReport) -> None:
    """What this period's model calls cost on each tier's Bedrock model and on one instance."""
    be = report.break_even
    bars = [
        (f"Bedrock {tier.tier}\n{short_model(tier.model)}", tier.traffic_micro_usd, BEDROCK_COLOUR)
        for tier in be.tiers
    ] + [
        (
            instance_label(option, be).replace(f" {be.instance_type} ", f" {be.instance_type}\n"),
            option.cost_micro_usd,
            EC2_COLOUR,
        )
        for option in be.instance_options
    ]
    bars.reverse()
    values = [_dollars(cost or 0) for _, cost, _ in bars]
    axes.barh(
        [_text(label) for label, _, _ in bars],
        values,
        color=[colour for _, _, colour in bars],
        height=0.6,
    )
    # Every option is $0 without traffic but the idle ones; no winner to name then.
    costs = [cost for _, cost, _ in bars if cost is not None]
    cheapest = min(costs) if be.tokens and costs.count(min(costs, default=0)) == 1 else None
    for y, (value, (_, cost, _)) in enumerate(zip(values, bars, strict=True)):
        label = UNPRICED if cost is None else usd(cost)
        axes.annotate(
            _text(label + ("  cheapest" if cost == cheapest else "")),
            (value, y),
            va="center",
            fontsize=9,
            fontweight="bold" if cost == cheapest else "normal",
            ha="left",
            xytext=(4, 0),
            textcoords="offset points",
        )
    axes.set_title(
        _text(f"This traffic ({tokens(be.tokens)} tokens) on each option"), fontsize=11, loc="left"
    )
    axes.tick_params(axis="y", labelsize=8.5)
    _money_axis(axes, "x")
    axes.margins(x=0.25)


def _say(axes: Axes, text: str, *, fontsize: float) -> None:
    """Words instead of a plot: an empty panel's reason, or the footnote row."""
    axes.text(
        0.5,
        0.5,
        _text(text),
        ha="center",
        va="center",
        fontsize=fontsize,
        color=MUTED,
        transform=axes.transAxes,
    )
    axes.set_axis_off()


def _ec2_amounts(report: CostReport) -> list[int] | None:
    """The instance hours' cost per day; None when there are none to draw."""
    if report.ec2 is None or not any(day.ec2_micro_usd for day in report.daily):
        return None
    return [day.ec2_micro_usd for day in report.daily]


def _bands(report: CostReport) -> list[tuple[str, str, list[int]]]:
    """(label, colour, amount per day) from the bottom of the stack up: the Bedrock models by
    spend, the smallest folded into one band to keep the legend short. Orange is the EC2
    instance everywhere in the figure; its hours are drawn apart (`_draw_instance_hours`)."""
    days = report.daily
    bands: list[tuple[str, str, list[int]]] = []
    totals: Counter[str] = Counter()
    for day in days:
        totals.update(day.by_model)
    ranked = [model for model, _ in totals.most_common()]
    named = ranked if len(ranked) <= MODELS_SHOWN else ranked[: MODELS_SHOWN - 1]
    for model, colour in zip(named, MODEL_COLOURS, strict=False):
        bands.append((short_model(model), colour, [day.by_model.get(model, 0) for day in days]))
    if len(named) < len(ranked):
        rest = [sum(v for m, v in day.by_model.items() if m not in named) for day in days]
        bands.append((OTHER, OTHER_COLOUR, rest))
    return bands


def _day_labels(days: Sequence[DaySpend]) -> list[str]:
    """`Mon 23` for each day; on a month-long axis only every few days, to stay readable."""
    step = 1 if len(days) <= 14 else 3
    return [f"{d.day:%a %d}" if i % step == 0 else "" for i, d in enumerate(days)]


def _headline_line(report: CostReport) -> str:
    return "  ·  ".join(f"{label} {value}" for label, value in headline(report)[:3])


def _footnote(report: CostReport) -> str:
    lines = [break_even_summary(report), capacity_note(report), OPTIONS_NOTE]
    return "\n".join(line for line in lines if line)


def _money_axis(axes: Axes, which: Literal["x", "y"]) -> None:
    axis = axes.yaxis if which == "y" else axes.xaxis
    axis.set_major_locator(MaxNLocator(nbins=5))
    axis.set_major_formatter(FuncFormatter(lambda value, _: _text(_tick_usd(value))))
    axes.grid(axis=which, color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.spines[["top", "right"]].set_visible(False)


def _tick_usd(dollars: float) -> str:
    """Axis ticks need only the decimals they have: `$50`, `$2.5`, `$0.004`."""
    digits = f"{abs(dollars):,.4f}".rstrip("0").rstrip(".")
    return f"{'-' if dollars < 0 else ''}${digits}"


def _dollars(micro_usd: int) -> float:
    """Only the plot works in float dollars; every label is formatted from the integer."""
    return micro_usd / 1_000_000


def _text(text: str) -> str:
    return text.replace("$", r"\$")


__all__ = ["render_chart"]
