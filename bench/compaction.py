"""Compaction's own time per request (`gateway.compact.compact`), pure CPU, one process.

- `log_40k`: a 40,000-character pasted service log (request lines, retries, errors with Java
  stack traces, written here, seeded) in a question, compacted 300 times: p50 / p99 / mean,
  and its tokens before and after; `log_40k_budget`: the same cut to a budget smaller than
  what compaction leaves (`SMALL_BUDGET_TOKENS`), so that every step runs.
- `unique_40k_budget`: 40,000 characters of log lines that share no shape (nothing to
  collapse: the budget step does all the work), with a 2,000-token budget.
- `hostile`: the slowest of 5 runs for each bad input (a 40,000-character paste of one line,
  a 1 MB minified JSON on one line, binary-looking text, …), with a budget.
- `golden`: tokens before and after for each input in tests/unit/compaction_inputs.
- `team_week_pasted_logs`: input tokens of team-week's questions with a pasted log (fenced,
  over 2,000 characters), before and after compaction.

`python -m bench.compaction` prints the results as JSON.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatops.percentiles import summary_ms
from gateway.compact import compact

HERE = Path(__file__).parent
GOLDEN = HERE.parent / "tests" / "unit" / "compaction_inputs"
TEAM_WEEK = HERE / "traces" / "team-week.jsonl"
LOG_CHARS = 40_000
BUDGET_TOKENS = 2_000
SMALL_BUDGET_TOKENS = 300

_LIBRARY_FRAMES = (
    "org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
    "org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)",
    "org.springframework.transaction.interceptor.TransactionInterceptor.invoke("
    "TransactionInterceptor.java:119)",
    "org.springframework.aop.framework.ReflectiveMethodInvocation.proceed("
    "ReflectiveMethodInvocation.java:184)",
    "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:140)",
    "org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:167)",
    "org.apache.coyote.http11.Http11Processor.service(Http11Processor.java:391)",
    "org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:1740)",
    "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1144)",
    "java.base/java.lang.Thread.run(Thread.java:1583)",
)
_PATHS = ("/v1/checkout", "/v1/cart/{n}", "/v1/orders/{n}", "/v1/payments/{n}/capture")


def service_log(chars: int = LOG_CHARS, seed: int = 40) -> str:
    """A checkout service's log as someone pastes it: mostly request lines, some retries,
    now and then an error with its stack trace; cut at a line."""
    rng = random.Random(seed)
    lines: list[str] = []
    millis = 0
    while sum(len(line) + 1 for line in lines) < chars:
        millis += rng.randint(5, 900)
        stamp = f"2026-03-04 11:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}."
        stamp += f"{millis % 1000:03d}"
        thread = f"http-nio-8080-exec-{rng.randint(1, 40)}"
        roll = rng.random()
        if roll < 0.04:
            lines += _error(rng, stamp, thread)
        elif roll < 0.15:
            retry, wait = rng.randint(1, 3), rng.randint(100, 800)
            lines.append(
                f"{stamp}  WARN 1 --- [{thread}] c.a.checkout.client.PaymentsClient     : "
                f"payments-api returned 503, retry {retry}/3 in {wait}ms"
            )
        else:
            path = rng.choice(_PATHS).format(n=rng.randint(10_000, 99_999))
            lines.append(
                f"{stamp}  INFO 1 --- [{thread}] c.a.checkout.web.RequestLog            : "
                f"{rng.choice(('GET', 'POST'))} {path} 200 {rng.randint(3, 400)}ms "
                f"trace={rng.getrandbits(64):016x}"
            )
    text = "\n".join(lines)
    return text[: text.rfind("\n", 0, chars)]


def _error(rng: random.Random, stamp: str, thread: str) -> list[str]:
    order = rng.randint(100_000, 999_999)
    return [
        f"{stamp} ERROR 1 --- [{thread}] c.a.checkout.web.ErrorHandler          : "
        f"checkout failed for order {order}",
        f"c.a.checkout.payments.PaymentDeclinedException: order {order} declined: "
        "insufficient_funds",
        "\tat c.a.checkout.payments.PaymentService.capture(PaymentService.java:88)",
        *(f"\tat {frame}" for frame in _LIBRARY_FRAMES[:4]),
        "\tat c.a.checkout.web.CheckoutController.checkout(CheckoutController.java:41)",
        *(f"\tat {frame}" for frame in _LIBRARY_FRAMES[4:]),
    ]


def _timed(runs: int, call: Callable[[], object]) -> dict[str, float]:
    call()  # the first call fills the regex and frame caches
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return summary_ms(seconds)


def unique_log(chars: int = LOG_CHARS, seed: int = 41) -> str:
    """Log lines with no two of the same shape: each names a different job, in letters."""
    rng = random.Random(seed)
    words = ["queue", "shard", "lease", "batch", "cursor", "replica", "snapshot", "index"]
    lines: list[str] = []
    n = 0
    while sum(len(line) + 1 for line in lines) < chars:
        n += 1
        job = "".join(chr(ord("k") + int(digit)) for digit in str(n))
        level = "ERROR" if n % 50 == 0 else "INFO"
        lines.append(
            f"2026-03-04 11:00:{n % 60:02d} {level} job {job} {' '.join(rng.sample(words, 5))}"
        )
    text = "\n".join(lines)
    return text[: text.rfind("\n", 0, chars)]


def _case(log: str, runs: int, budget_tokens: int | None) -> dict[str, Any]:
    text = f"checkout is failing for some orders, log below:\n```\n{log}\n```\nany idea?"
    result = compact(text, budget_tokens=budget_tokens)
    return {
        "budget_tokens": budget_tokens,
        "chars": len(text),
        "tokens_before": result.tokens_before,
        "tokens_after": result.tokens_after,
        "steps": list(result.steps),
        **_timed(runs, lambda: compact(text, budget_tokens=budget_tokens)),
    }


def hostile_inputs() -> dict[str, str]:
    rng = random.Random(7)
    line = "WARN  [kafka-producer-network-thread] Got error produce response, retrying\n"
    items = [{"id": n, "sku": f"SKU-{n:06d}", "tags": ["a, b", "c: d"]} for n in range(20_000)]
    return {
        "one_line_repeated_40k": line * (LOG_CHARS // len(line)),
        "minified_json_1mb": json.dumps(items, separators=(",", ":")),
        "binary_40k": bytes(rng.randrange(256) for _ in range(LOG_CHARS)).decode("latin-1"),
        "no_newlines_40k": " ".join(f"token{n}" for n in range(5_000)),
        "zero_width_and_nbsp": "ok\u200b\u00a0then\u2060 " * 4_000,
        "fences_only": "```" * 13_000,
        "blank_lines_40k": "\n" * LOG_CHARS,
    }


def _hostile() -> dict[str, float]:
    slowest = {}
    for name, text in hostile_inputs().items():
        times = []
        for _ in range(5):
            started = time.perf_counter()
            compact(text, budget_tokens=BUDGET_TOKENS)
            times.append(time.perf_counter() - started)
        slowest[name] = round(max(times) * 1000, 2)
    return slowest


def _golden() -> dict[str, list[int]]:
    results = {}
    for path in sorted(GOLDEN.glob("*.txt")):
        result = compact(path.read_text())
        results[path.name] = [result.tokens_before, result.tokens_after]
    return results


def _team_week() -> dict[str, int]:
    before = after = questions = 0
    for line in TEAM_WEEK.read_text().splitlines()[1:]:
        text = json.loads(line).get("text") or ""
        if len(text) > 2_000 and "```" in text:
            result = compact(text)
            questions += 1
            before += result.tokens_before
            after += result.tokens_after
    return {"questions": questions, "tokens_before": before, "tokens_after": after}


def run(runs: int = 300) -> dict[str, Any]:
    return {
        "log_40k": _case(service_log(), runs, None),
        "log_40k_budget": _case(service_log(), runs, SMALL_BUDGET_TOKENS),
        "unique_40k_budget": _case(unique_log(), runs, BUDGET_TOKENS),
        "hostile_slowest_of_5_ms": _hostile(),
        "golden": _golden(),
        "team_week_pasted_logs": _team_week(),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
