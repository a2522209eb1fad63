"""`make bench`: every benchmark in one run; results to bench/results/latest.json and the
README's "Performance and cost" table between its markers."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from bench import (
    cache_lookup,
    compaction,
    gateway_overhead,
    lever_chart,
    pipeline,
    redaction,
    router,
)
from bench.readme import update_readme
from chatops.replay import replay
from chatops.trace import load_trace

HERE = Path(__file__).parent
RESULTS = HERE / "results"
TEAM_WEEK = HERE / "traces" / "team-week.jsonl"
LEVER_CHART = HERE / "cost-by-lever.png"


def main() -> None:
    started = time.time()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "gateway_overhead": gateway_overhead.run(),
        "pipeline": pipeline.run(),
        "router": router.run(),
        "compaction": compaction.run(),
        "cache_lookup": cache_lookup.run(),
        "redaction": redaction.run(),
        "replay": replay(load_trace(TEAM_WEEK)),
    }
    results["seconds"] = round(time.time() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    lever_chart.render(results["replay"], LEVER_CHART)
    update_readme(results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
