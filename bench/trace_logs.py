"""The logs people paste into a question: six formats (Spring, Celery, `kubectl describe`,
nginx, a Go panic, Postgres) written line by line with moving timestamps, and `log_paste`, which
wraps one of them in the words around it.

Separate from make_traces.py because these builders are long runs of log format with little
logic; the generator only calls `log_paste`. Stdlib only, like the generator.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from trace_corpus import SLOTS, fill

LOG_INTROS = (
    "{svc} pods in {env} keep restarting since the {hhmm} deploy. logs from the last crash "
    "below, what's going on?",
    "Can someone make sense of this? {svc} is throwing these on {env} and p99 went from "
    "{n}0 ms to {ms} ms",
    "getting this when the pipeline deploys {svc}, no idea what changed:",
    "pasting the output, sorry it's long. this is {svc} on {env} during the {hhmm} incident",
    "what's the root cause here? happens every {n} minutes or so on {env}",
)
LOG_CLOSERS = (
    "",
    "\n\nis this the DB or us?",
    "\n\nanything obvious? I'm about to roll back.",
    "\n\nwhich of these errors is the real one?",
)


@dataclass
class LogClock:
    """Timestamps for pasted logs: moving forward a little with every line."""

    rng: random.Random
    at: datetime

    def tick(self) -> datetime:
        self.at += timedelta(milliseconds=self.rng.randint(3, 2500))
        return self.at


def spring_chunk(rng: random.Random, clock: LogClock, svc: str) -> list[str]:
    stamp = clock.tick().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    thread = f"http-nio-8080-exec-{rng.randint(1, 40)}"
    waited = rng.randint(30000, 30120)
    return [
        f"{stamp}  WARN 1 --- [{thread}] com.zaxxer.hikari.pool.HikariPool        : "
        f"HikariPool-1 - Connection is not available, request timed out after {waited}ms.",
        f"{stamp} ERROR 1 --- [{thread}] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : "
        "Servlet.service() threw exception [Request processing failed; nested exception is "
        "org.springframework.dao.DataAccessResourceFailureException: Unable to acquire JDBC "
        "Connection] with root cause",
        "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, "
        f"request timed out after {waited}ms.",
        "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)",
        "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)",
        "\tat com.zaxxer.hikari.HikariDataSource.getConnection(HikariDataSource.java:100)",
        "\tat org.hibernate.engine.jdbc.connections.internal.DatasourceConnectionProviderImpl"
        ".getConnection(DatasourceConnectionProviderImpl.java:122)",
        f"\tat com.example.{svc.replace('-', '')}.repo.PaymentRepository.findByIdempotencyKey"
        f"(PaymentRepository.java:{rng.randint(40, 220)})",
        f"\tat com.example.{svc.replace('-', '')}.api.ChargeController.create"
        f"(ChargeController.java:{rng.randint(30, 180)})",
        "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
    ]


def celery_chunk(rng: random.Random, clock: LogClock, svc: str) -> list[str]:
    stamp = clock.tick().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    task_id = f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}"
    account = rng.randint(100000, 999999)
    return [
        f"[{stamp}: INFO/MainProcess] Task {svc}.tasks.sync_account[{task_id}] received",
        f"[{stamp}: WARNING/ForkPoolWorker-{rng.randint(1, 8)}] retrying account {account}: "
        "upstream returned 503",
        f"[{stamp}: ERROR/ForkPoolWorker-{rng.randint(1, 8)}] Task "
        f"{svc}.tasks.sync_account[{task_id}] raised unexpected: OperationalError('could not "
        'connect to server: Connection timed out\\n\\tIs the server running on host "ledger-pg" '
        "and accepting TCP/IP connections on port 5432?')",
        "Traceback (most recent call last):",
        '  File "/usr/local/lib/python3.11/site-packages/celery/app/trace.py", line 477, in '
        "trace_task",
        "    R = retval = fun(*args, **kwargs)",
        f'  File "/app/{svc.replace("-", "_")}/tasks.py", line {rng.randint(30, 300)}, in '
        "sync_account",
        "    rows = session.execute(select(Entry).where(Entry.account_id == account_id)).all()",
        '  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 145, '
        "in __init__",
        "    self._dbapi_connection = engine.raw_connection()",
        "psycopg2.OperationalError: could not connect to server: Connection timed out",
    ]


def describe_chunk(rng: random.Random, clock: LogClock, svc: str) -> list[str]:
    pod = f"{svc}-{rng.getrandbits(28):07x}-{rng.getrandbits(20):05x}"
    restarts = rng.randint(3, 40)
    return [
        f"Name:             {pod}",
        "Namespace:        production",
        f"Node:             ip-10-20-{rng.randint(1, 60)}-{rng.randint(2, 250)}.eu-west-1."
        "compute.internal",
        "    State:          Waiting",
        "      Reason:       CrashLoopBackOff",
        "    Last State:     Terminated",
        f"      Reason:       {rng.choice(('OOMKilled', 'Error'))}",
        f"      Exit Code:    {rng.choice((137, 1, 137))}",
        f"    Restart Count:  {restarts}",
        f"    Limits:  cpu: 1  memory: {rng.choice((512, 768, 1024))}Mi",
        "Events:",
        "  Type     Reason     Age                 From     Message",
        f"  Warning  BackOff    {rng.randint(1, 9)}m (x{restarts * 3} over 1h)  kubelet  "
        "Back-off restarting failed container",
        f"  Warning  Unhealthy  {rng.randint(1, 50)}m (x{restarts} over 1h)  kubelet  "
        'Readiness probe failed: Get "http://10.20.8.41:8080/healthz": context deadline '
        "exceeded (Client.Timeout exceeded while awaiting headers)",
    ]


def nginx_chunk(rng: random.Random, clock: LogClock, svc: str) -> list[str]:
    lines = []
    for _ in range(rng.randint(3, 6)):
        stamp = clock.tick().strftime("%Y/%m/%d %H:%M:%S")
        route = rng.choice(("/v2/charges", "/v2/refunds", "/v1/orders", "/healthz"))
        failure = rng.choice(("timed out (110: Connection timed out)", "prematurely closed"))
        lines.append(
            f"{stamp} [error] {rng.randint(3000, 3300)}#0: *{rng.randint(10000, 999999)} "
            f"upstream {failure} "
            f"while reading response header from upstream, client: 10.20.{rng.randint(1, 9)}."
            f'{rng.randint(2, 250)}, server: {svc}.internal, request: "POST {route} HTTP/1.1"'
            f', upstream: "http://10.20.8.{rng.randint(2, 99)}:8080{route}"'
        )
    return lines


def go_panic_chunk(rng: random.Random, clock: LogClock, svc: str) -> list[str]:
    stamp = clock.tick().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    goroutine = rng.randint(1, 9000)
    return [
        f'{{"level":"error","ts":"{stamp}","caller":"worker/consumer.go:{rng.randint(80, 400)}",'
        f'"msg":"handler failed","partition":{rng.randint(0, 23)},"offset":'
        f'{rng.randint(10**6, 10**8)},"error":"context deadline exceeded"}}',
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x30 pc=0x8a4f21]",
        "",
        f"goroutine {goroutine} [running]:",
        f"github.com/example/{svc}/internal/consumer.(*Handler).commit("
        f"0xc000{rng.getrandbits(24):06x}, {{0x0, 0x0}})",
        f"\t/src/internal/consumer/handler.go:{rng.randint(50, 300)} +0x41",
        f"github.com/example/{svc}/internal/consumer.(*Handler).Handle("
        f"0xc000{rng.getrandbits(24):06x}, {{0xa1b2c0, 0xc0004d2e40}}, 0xc00071a000)",
        f"\t/src/internal/consumer/handler.go:{rng.randint(50, 300)} +0x2b5",
        "created by github.com/segmentio/kafka-go.(*Reader).run in goroutine 1",
        "\t/go/pkg/mod/github.com/segmentio/kafka-go@v0.4.47/reader.go:1233 +0x4f2",
    ]


def postgres_chunk(rng: random.Random, clock: LogClock, svc: str) -> list[str]:
    stamp = clock.tick().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    pid_a, pid_b = rng.randint(10000, 99999), rng.randint(10000, 99999)
    table = rng.choice(SLOTS["table"])
    return [
        f"{stamp} UTC [{pid_a}] ERROR:  deadlock detected",
        f"{stamp} UTC [{pid_a}] DETAIL:  Process {pid_a} waits for ShareLock on transaction "
        f"{rng.randint(10**7, 10**8)}; blocked by process {pid_b}.",
        f"\tProcess {pid_b} waits for ShareLock on transaction {rng.randint(10**7, 10**8)}; "
        f"blocked by process {pid_a}.",
        f"{stamp} UTC [{pid_a}] HINT:  See server log for query details.",
        f"{stamp} UTC [{pid_a}] STATEMENT:  UPDATE {table} SET status = $1, updated_at = now() "
        "WHERE id = $2",
        f"{stamp} UTC [{pid_b}] LOG:  duration: {rng.randint(1000, 40000)}.{rng.randint(100, 999)}"
        f" ms  statement: SELECT * FROM {table} WHERE account_id = $1 FOR UPDATE",
    ]


LogStyle = Callable[[random.Random, LogClock, str], list[str]]
LOG_STYLES: tuple[LogStyle, ...] = (
    spring_chunk,
    celery_chunk,
    describe_chunk,
    nginx_chunk,
    go_panic_chunk,
    postgres_chunk,
)


def log_lines(rng: random.Random, style: LogStyle, clock: LogClock, svc: str) -> Iterator[str]:
    while True:
        yield from style(rng, clock, svc)


def log_paste(rng: random.Random, when: datetime, size: tuple[int, int] = (3400, 11700)) -> str:
    """A question with up to `size` characters of one kind of log pasted into it (cut at a
    line, as a paste is), so the whole question stays within 3 to 12k characters."""
    svc = rng.choice(SLOTS["svc"])
    style = rng.choice(LOG_STYLES)
    target = rng.randint(*size)
    clock = LogClock(rng, when - timedelta(minutes=rng.randint(5, 90)))
    lines: list[str] = []
    used = 0
    for line in log_lines(rng, style, clock, svc):
        if used + len(line) + 1 > target:
            break
        lines.append(line)
        used += len(line) + 1
    intro = fill(rng.choice(LOG_INTROS), rng, svc=svc)
    return f"{intro}\n```\n" + "\n".join(lines) + "\n```" + rng.choice(LOG_CLOSERS)
