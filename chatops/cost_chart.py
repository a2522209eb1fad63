"""The cost report as one PNG: spend per day, savings by lever, and Bedrock vs EC2.

Drawn on matplotlib's Agg canvas directly (no pyplot): nothing global changes, no display is
needed, and a worker can render while other threads run. Every `$` in a label is escaped,
because matplotlib reads text between two dollar signs as math.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from chatops.cost_text import (
    NO_TRAFFIC,
    capacity_note,
    headline,
    instance_label,
    lever_label,
    period_label,
    short_model,
    tokens,
    usd,
)
from gateway.report import CostReport, DaySpend

SIZE_INCHES = (13.0, 8.6)
DPI = 100
MODELS_SHOWN = 5
OTHER = "other models"
BASELINE_COLOUR = "#222222"
MODEL_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#bab0ac")
SAVED_COLOUR, LOST_COLOUR = "#59a14f", "#e15759"
BEDROCK_COLOUR, EC2_COLOUR = "#4e79a7", "#f28e2b"
MUTED = "#666666"


def render_chart(report: CostReport, path: Path) -> None:
    """Write the report's chart as a PNG at `path` (about 1300 x 860 pixels)."""
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(2, 2, height_ratios=(1.1, 1), width_ratios=(1, 1.25))
    figure.suptitle(
        _text(f"LLM cost — {report.title}  ·  {period_label(report)}  ·  {report.filter}"),
        fontsize=15,
        fontweight="bold",
    )
    daily = figure.add_subplot(grid[0, :])
    savings = figure.add_subplot(grid[1, 0])
    options = figure.add_subplot(grid[1, 1])
    if report.requests:
        _draw_daily(daily, report)
        _draw_savings(savings, report)
    else:
        for axes in (daily, savings):
            _say_no_traffic(axes)
    _draw_options(options, report)
    figure.text(
        0.5,
        0.0,
        _text(_footnote(report)),
        ha="center",
        va="bottom",
        fontsize=9,
        color=MUTED,
        wrap=True,
    )
    figure.savefig(path, format="png")


def _draw_daily(axes: Axes, report: CostReport) -> None:
    """Stacked bars of each day's spend by model, the naive baseline as a line over them."""
    models = _top_models(report.daily)
    positions = list(range(len(report.daily)))
    bottoms = [0.0] * len(report.daily)
    for model, colour in zip(models, MODEL_COLOURS, strict=False):
        heights = [_dollars(_model_spend(day, model, models)) for day in report.daily]
        axes.bar(
            positions,
            heights,
            bottom=bottoms,
            color=colour,
            width=0.7,
            label=_text(model if model == OTHER else short_model(model)),
        )
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    baseline = [_dollars(day.baseline_micro_usd) for day in report.daily]
    axes.plot(
        positions,
        baseline,
        color=BASELINE_COLOUR,
        linestyle="--",
        marker="o",
        markersize=4,
        label="naive baseline",
    )
    if len(positions) <= 10:
        for x, total in zip(positions, bottoms, strict=True):
            axes.annotate(
                _text(usd(round(total * 1_000_000))),
                (x, total),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 2),
                textcoords="offset points",
            )
    axes.set_xticks(positions, _day_labels(report.daily))
    axes.set_title(_text(_headline_line(report)), fontsize=11, loc="left")
    axes.set_ylabel("spend per day")
    _money_axis(axes, "y")
    axes.legend(loc="upper left", fontsize=8, ncols=min(len(models) + 1, 4), frameon=False)
    axes.margins(y=0.15)


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
    for y, (value, (_, cost, _)) in enumerate(zip(values, bars, strict=True)):
        label = "unpriced" if cost is None else usd(cost)
        axes.annotate(
            _text(label),
            (value, y),
            va="center",
            fontsize=9,
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


def _say_no_traffic(axes: Axes) -> None:
    axes.text(
        0.5,
        0.5,
        NO_TRAFFIC,
        ha="center",
        va="center",
        fontsize=14,
        color=MUTED,
        transform=axes.transAxes,
    )
    axes.set_axis_off()


def _top_models(days: Sequence[DaySpend]) -> list[str]:
    """The biggest spenders by name, the rest folded into one band so the legend stays short."""
    totals: Counter[str] = Counter()
    for day in days:
        totals.update(day.by_model)
    ranked = [model for model, _ in totals.most_common()]
    if len(ranked) <= MODELS_SHOWN:
        return ranked
    return [*ranked[: MODELS_SHOWN - 1], OTHER]


def _model_spend(day: DaySpend, model: str, shown: list[str]) -> int:
    if model != OTHER:
        return day.by_model.get(model, 0)
    return sum(amount for name, amount in day.by_model.items() if name not in shown)


def _day_labels(days: Sequence[DaySpend]) -> list[str]:
    """`Mon 23` for each day; on a month-long axis only every few days, to stay readable."""
    step = 1 if len(days) <= 14 else 3
    return [f"{d.day:%a %d}" if i % step == 0 else "" for i, d in enumerate(days)]


def _headline_line(report: CostReport) -> str:
    return "  ·  ".join(f"{label} {value}" for label, value in headline(report)[:3])


def _footnote(report: CostReport) -> str:
    be = report.break_even
    volumes = " · ".join(
        f"{short_model(tier.model)} {tokens(tier.break_even_tokens_per_month)} tokens"
        for tier in be.tiers
        if tier.break_even_tokens_per_month is not None
    )
    monthly = be.monthly_always_on_micro_usd
    lines = [capacity_note(report)]
    if volumes and monthly is not None:
        lines.insert(
            0,
            f"{be.instance_type} always on costs {usd(monthly)}/month; it matches "
            f"Bedrock at {volumes} a month (this traffic's input:output mix).",
        )
    return "\n".join(lines)


def _money_axis(axes: Axes, which: str) -> None:
    formatter = FuncFormatter(lambda value, _: _text(usd(round(value * 1_000_000))))
    (axes.yaxis if which == "y" else axes.xaxis).set_major_formatter(formatter)
    axes.grid(axis=which, color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.spines[["top", "right"]].set_visible(False)


def _dollars(micro_usd: int) -> float:
    """Only the plot works in float dollars; every label is formatted from the integer."""
    return micro_usd / 1_000_000


def _text(text: str) -> str:
    return text.replace("$", r"\$")


__all__ = ["render_chart"]
