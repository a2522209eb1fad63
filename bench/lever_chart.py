"""The README's cost-by-lever chart: the replayed naive baseline stepping down, one bar per
lever, to what the same trace cost with the levers on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

LABELS = {
    "right_sizing": "right-sizing",
    "prompt_caching": "prompt caching",
    "compaction": "token optimization",
    "response_cache": "response cache",
}


def render(replay: dict[str, Any], path: Path) -> None:
    baseline = replay["baseline_cost_usd"]
    steps = [
        (LABELS.get(name, name), -amount) for name, amount in replay["savings_by_lever"].items()
    ]
    # What the replayed baseline and the ledger's counterfactual disagree on (different answers
    # in the follow-ups' context) is shown, not hidden in a lever.
    drift = replay["ledger_baseline_usd"] - baseline
    if abs(drift) > 1e-9:
        steps.insert(0, ("baseline drift", drift))
    figure = Figure(figsize=(8, 4.2), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = ["naive baseline"]
    bottoms, heights, colors = [0.0], [baseline], ["#9e9e9e"]
    level = baseline
    for label, change in steps:
        labels.append(label)
        bottoms.append(min(level, level + change))
        heights.append(abs(change))
        colors.append("#4caf50" if change < 0 else "#e57373")
        level += change
    labels.append("with levers")
    bottoms.append(0.0)
    heights.append(replay["cost_usd"])
    colors.append("#1f77b4")
    signs = ["", *("−" if change < 0 else "+" if change > 0 else "" for _, change in steps), ""]
    bars = axes.bar(labels, heights, bottom=bottoms, color=colors)
    for bar, height, sign in zip(bars, heights, signs, strict=True):
        axes.annotate(
            f"{sign}${height:,.4f}",
            (bar.get_x() + bar.get_width() / 2, bar.get_y() + height),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    axes.set_ylabel("USD for the trace")
    axes.set_title(
        f"{replay['events']} events of a team's week: {replay['savings_pct']}% cheaper "
        "than the naive way",
        fontsize=11,
    )
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    figure.savefig(path)


__all__ = ["render"]
