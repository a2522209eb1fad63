"""Writes the workload traces in bench/traces/: `team-week` (a platform team's week of Slack
traffic) and `smoke` (every kind of event in two minutes), each with its Jira fixture file.

Deterministic (one seeded `random.Random` per file, stdlib only) so the committed files can be
regenerated and compared byte for byte. The trace format is `chatops.trace`; this script does
not import it, so it runs without the project installed. Prints the team-week figures that
bench/README.md quotes.

    .venv/bin/python bench/make_traces.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

TRACES_DIR = Path(__file__).with_name("traces")
TRACE_START = datetime(2026, 11, 30, tzinfo=UTC)  # t = 0 is this Monday, 00:00 UTC
DAY_S = 86_400
SEEDS = {"team-week": 20261130, "smoke": 7}


def lines_of(block: str) -> tuple[str, ...]:
    """The non-empty lines of a text block: long lists of phrases read best one per line."""
    return tuple(line for line in block.splitlines() if line.strip())


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# -- people and places ----------------------------------------------------------------------

TEAM = {
    "alice": "Alice Adams",
    "bob": "Bob Byrne",
    "carol": "Carol Chen",
    "dave": "Dave Okafor",
    "erin": "Erin Walsh",
    "frank": "Frank Meyer",
    "grace": "Grace Huang",
    "heidi": "Heidi Novak",
    "ivan": "Ivan Petrov",
    "judy": "Judy Kim",
    "ken": "Ken Sato",
    "leo": "Leo Martins",
}
LEAD, HEAVY = "alice", "dave"
# The heavy user's share of what people start; the others by relative activity.
HEAVY_SHARE = 0.16
ACTIVITY = {"alice": 5, "bob": 6, "carol": 6, "erin": 5, "frank": 4, "grace": 5, "heidi": 3}
ACTIVITY |= {"ivan": 5, "judy": 4, "ken": 3, "leo": 2}
CHANNELS = {
    "C_PLATFORM": "platform",
    "C_OPS": "ops",
    "C_INCIDENTS": "incidents",
    "C_GENERAL": "general",
    "C_PAYMENTS": "payments-eng",
}
CHANNEL_WEIGHTS = {"C_PLATFORM": 35, "C_OPS": 28, "C_INCIDENTS": 12, "C_GENERAL": 13}
CHANNEL_WEIGHTS |= {"C_PAYMENTS": 12}
# Where people paste logs: mostly the incident and ops channels.
LOG_CHANNEL_WEIGHTS = {"C_INCIDENTS": 40, "C_OPS": 30, "C_PLATFORM": 20, "C_PAYMENTS": 10}
PROJECTS = {
    "DEMO": ("Demo Payments", "C_PAYMENTS"),
    "OPS": ("Operations", "C_OPS"),
    "PLAT": ("Platform", "C_PLATFORM"),
}
# The smoke trace uses only what the Slack emulator is seeded with.
SMOKE_USERS = ("alice", "bob", "carol")
SMOKE_CHANNELS = {"C_GENERAL": "general", "C_OPS": "ops"}


def user_id(handle: str) -> str:
    return "U_" + handle.upper()


def dm_channel(handle: str) -> str:
    """As the Slack emulator names the bot's DM with a person (chatops.trace.dm_channel_for)."""
    return "D_" + handle.upper()


# -- questions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Faq:
    """A question the team asks every week; paraphrases mean the same, near misses do not."""

    question: str
    paraphrases: tuple[str, ...]
    near_misses: tuple[str, ...]
    follow_ups: tuple[str, ...]


# `?` a question, `=` the same question in other words, `!` one that reads alike but is not
# the same (another number, environment, negation or direction), `>` a follow-up to it.
FAQ_SOURCE = """
? How do I rotate the staging DB password?
= What's the process for changing the staging database password?
= staging postgres password needs rotating, what are the steps?
= Can you walk me through rotating the DB credentials on staging?
! How do I rotate the prod DB password?
> and what changes for production?
> do the apps pick up the new password on their own or do I have to restart them?
? Who is on call for platform this week?
= who has the platform pager right now?
= Which of us is on call for the platform rotation this week?
= on-call for platform this week = ?
! Who was on call for platform last week?
> and who's the secondary?
> how do I swap a shift with them?
? How do I roll back a bad deploy in Argo CD?
= what's the quickest way to revert a deployment in argocd?
= Argo CD rollback steps please, the last release is broken
= How can I go back to the previous release in Argo?
! How do I roll back a deploy that included a database migration?
! Why does Argo CD not roll back automatically when the health check fails?
> will that also revert the config map changes?
> how do I stop auto-sync from re-applying the bad version?
? How do we fail over the primary Postgres to the replica?
= What's the procedure to promote the Postgres replica if the primary dies?
= postgres failover runbook? primary is unhealthy
= How do I switch the database over to the standby?
! How do we fail back to the original primary after a failover?
> how much data can we lose doing that?
> do the app connection strings need to change?
? The VPN keeps disconnecting every few minutes, how do I fix it?
= my VPN drops every 5 min or so, any fix?
= VPN connection is unstable and keeps dropping, what should I check?
= Anyone know why the VPN disconnects constantly?
! The VPN won't connect at all, it fails at authentication. What do I do?
> I'm on macOS, does that change anything?
> still dropping after that, what logs should I send to IT?
? How do I renew the TLS certificate for api.example.com?
= api.example.com cert expires soon, how do I renew it?
= What's the renewal process for the api.example.com TLS cert?
= steps to get a fresh certificate for api.example.com?
! How do I renew the TLS certificate for the internal *.corp.example.com wildcard?
> do I need to restart the ingress controller afterwards?
> how do I check the new expiry date?
? How do I get access to the staging Kubernetes cluster?
= how do I request kubectl access to staging?
= What do I need to do to get onto the staging k8s cluster?
= Need staging cluster access, who approves that?
! How do I remove someone's access to the staging Kubernetes cluster?
> how long does approval usually take?
> and prod access, is that the same process?
? How do I scale staging to 3 replicas?
= what's the command to bump staging to 3 replicas?
= need staging running 3 replicas instead of 1, how?
= How can I set the staging deployment to three replicas?
! How do I scale staging to 5 replicas?
! How do I scale prod to 3 replicas?
> will the HPA just scale it back down?
> does that survive the next deploy?
? What's the safe way to restart a pod without dropping traffic?
= how do I restart a pod gracefully so no requests fail?
= Is there a zero-downtime way to bounce a pod?
= safest way to restart pods without losing in-flight requests?
! Why shouldn't I just delete the pod to restart it?
> what if it's a StatefulSet?
> how long does the drain take by default?
? How do I turn on a feature flag for one customer only?
= Can I enable a feature flag for just a single customer?
= how to roll out a flag to one tenant?
= What's the way to switch a flag on for only one account?
! How do I turn off a feature flag for one customer only?
> how quickly does the change take effect?
> is there an audit log of who flipped it?
? Where do I find the logs for a pod that already crashed?
= how do I get logs from a pod that's gone?
= Pod died and was replaced, where can I still see its logs?
= where are logs of crashed containers kept?
! Where do I find the logs for a pod that is still running but hung?
> how far back does Loki keep them?
> can I get the previous container's logs?
? How do I silence an alert in Alertmanager for 2 hours?
= what's the way to mute an alertmanager alert for a couple of hours?
= Need to silence an alert for 2h during maintenance, how?
= how do I snooze an Alertmanager alert for two hours?
! How do I silence an alert in Alertmanager for 2 days?
> can I silence just one instance and not the whole alert?
> how do I remove the silence early?
? What's the process for declaring a SEV2 incident?
= how do I declare a sev2?
= What are the steps to open a severity 2 incident?
= We might have a SEV2, how do I kick off the incident process?
! What's the process for declaring a SEV1 incident?
> who needs to be paged for that?
> where do I post status updates?
? What should go in the on-call handover note?
= what do I put in the on-call handoff?
= Is there a template for the on-call handover?
= what's expected in the handover at the end of my on-call week?
! What should NOT go in the on-call handover note?
> where do I post it?
> how long should it be?
? A node is at 90% disk, how do I clean it up safely?
= node disk usage at 90%, what's the safe cleanup?
= How do I free up disk on a Kubernetes node that's at 90%?
= safe way to clear space on a worker node at 90% disk?
! A node is at 60% disk, do I need to do anything?
> is it ok to prune images while pods are running?
> should I just cordon and replace it instead?
? How do I switch kubectl between the staging and prod clusters?
= how do I change kubectl context from staging to prod?
= What's the easiest way to flip between the staging and prod kube contexts?
= kubectl context switching between staging/prod?
! How do I stop kubectl from ever defaulting to the prod cluster?
> can I make the shell prompt show which one I'm on?
> how do I avoid running something against prod by accident?
? Is it safe to flush the staging Redis cache?
= can I clear the staging redis cache without breaking anything?
= Will flushing Redis on staging cause problems?
= safe to FLUSHALL the staging cache redis?
! Is it safe to flush the prod Redis cache?
! Is it safe to flush the staging Redis queue instance?
> how long will the cache take to warm up again?
> do I need to tell QA first?
? How do I ship a hotfix outside the release train?
= What's the process for an out-of-band hotfix release?
= how do I get a hotfix out without waiting for the weekly release?
= steps for an emergency hotfix deploy?
! How do I ship a hotfix during a deploy freeze?
> who has to approve it?
> does it still need the full test suite?
? How do I run a database migration on staging?
= what's the command to apply db migrations in staging?
= How are schema migrations run on the staging environment?
= need to run a migration on staging, how?
! How do I run a database migration on prod?
! How do I revert a database migration on staging?
> what if it takes a lock on a big table?
> how do I check which migrations have already run?
? Which tags do I need on a new AWS resource so cost reporting works?
= what AWS tags are required for cost allocation?
= Which tags make a resource show up correctly in the cost reports?
= mandatory tags for new AWS resources?
! Which tags do I need on a new GCP resource so cost reporting works?
> is there a policy that blocks untagged resources?
> can I add them after the fact with terraform?
? How do I SSH into a node through the bastion?
= what's the ssh command to get onto a node via the bastion host?
= How can I reach a worker node over SSH using the jump host?
= ssh to a k8s node through bastion, how?
! How do I SSH into a node without going through the bastion?
> is SSM session manager an option instead?
> where do I get my ssh cert signed?
? Terraform says the state is locked, how do I unlock it?
= terraform state lock is stuck, how do I release it?
= How do I clear a stale Terraform state lock?
= Error acquiring the state lock — how do I fix that?
! How do I lock the Terraform state before making a manual change?
> how do I know nobody is actually running an apply?
> where is the lock table?
? Are we in a deploy freeze this week?
= is there a change freeze on right now?
= Is deploying allowed this week or are we frozen?
= any deploy freeze this week?
! Are we in a deploy freeze next week?
> does the freeze cover config-only changes?
> who can grant an exception?
? How do I generate a presigned S3 URL valid for 1 hour?
= how do I make a presigned url for an S3 object that expires in an hour?
= What's the CLI command for a one-hour presigned S3 link?
= need a temporary S3 download link (1h), how?
! How do I generate a presigned S3 URL valid for 7 days?
> can I do it for an upload instead of a download?
> what happens if my session credentials expire first?
? How do I set up a PagerDuty override for tomorrow?
= how do I add an override in PagerDuty for tomorrow's shift?
= Someone is covering my on-call tomorrow, how do I set that in PagerDuty?
= pagerduty override for tomorrow, how?
! How do I cancel a PagerDuty override?
> does the override also change the Slack on-call group?
> can I do it from the mobile app?
"""
FAQ_PARTS = {"=": "paraphrases", "!": "near_misses", ">": "follow_ups"}


def parse_faqs(source: str) -> tuple[Faq, ...]:
    faqs: list[dict[str, list[str]]] = []
    for line in lines_of(source):
        mark, text = line[0], line[2:]
        if mark == "?":
            faqs.append({"question": [text], **{part: [] for part in FAQ_PARTS.values()}})
        else:
            faqs[-1][FAQ_PARTS[mark]].append(text)
    return tuple(
        Faq(f["question"][0], *(tuple(f[part]) for part in FAQ_PARTS.values())) for f in faqs
    )


FAQS = parse_faqs(FAQ_SOURCE)

# One-off questions; {slots} are filled from SLOTS, so the same shape recurs with new details.
QUESTIONS = (
    "is {svc} down?",
    "grafana is really slow for me, anyone else?",
    "why is {svc} showing {pct}% 5xx on {env} since {hhmm}?",
    "can someone explain what the `{metric}` alert on {svc} means? it fired {n} times overnight",
    "is it safe to bump {svc} memory limit from {mem_a}Mi to {mem_b}Mi on {env}, or will the "
    "node pool run out?",
    "what's the difference between the {env} and {env2} ingress configs for {svc}?",
    "how do I find which session is holding the lock on `{table}` in {db}?",
    "the {svc} HPA is stuck at {n} replicas even though CPU is at {pct}%. what should I look at?",
    "write me a PromQL query for p99 latency of {svc} by route over the last {n}h",
    "how do I add a new secret to {svc} in {env} without a full redeploy?",
    "terraform wants to destroy and recreate `{resource}` in {env}. why, and how do I avoid it?",
    "what's the cheapest way to get a read replica of {db} for a one-off analytics query?",
    "Argo CD says {svc} is OutOfSync but the diff is empty — what gives?",
    "Can you draft a short incident update for #incidents: {svc} degraded in {region}, "
    "mitigated by failing over to {region2}, root cause still unknown, next update in 30 min.",
    "explain this alert please: `KubePodCrashLooping` for {svc} in {env}",
    "how do I give {person} read-only access to the {env} grafana?",
    "should {svc} have a PodDisruptionBudget with minAvailable {n} or maxUnavailable 1?",
    "what's a sensible Loki retention for {svc}? it ships about {n} GB/day",
    "cron job `{job}` didn't run last night in {env}. where do I look?",
    "how do I tail logs for all pods of {svc} in {env} at once?",
    "can we pause the {svc} pipeline for {n} hours during the migration?",
    "got paged: disk at {pct}% on {db}. can I just expand the EBS volume online?",
    "the nightly `{job}` job takes {m} minutes now, it used to be {n}. ideas where to look?",
    "what IAM permission do I need to read from the `{bucket}` bucket in {env}?",
    "how do I diff the helm values between {env} and {env2} for {svc}?",
    "any reason not to upgrade {svc} from {lib} {ver_a} to {ver_b}?",
    "what does `CrashLoopBackOff` with exit code {code} usually mean?",
    "Context: we're moving {svc} from {old} to {new}. During the cutover test about {n} "
    "requests failed with `{err}`. The runbook says to drain first, but at {m} rps that takes "
    "ages. Is there a safer order to do this in, and what should I watch while it runs?",
    "how many pods of {svc} are running in {region} right now and on which nodes?",
    "is there a dashboard for {svc} queue depth?",
    "I need to move {svc} to the {node} node group. nodeSelector or affinity?",
    "what's the blast radius if {db} restarts during business hours?",
    "our {region} NAT gateway bill jumped {pct}% this month, how do I find what's sending "
    "the traffic?",
    "summarize what a `{err}` from the ALB usually points to",
    "can you turn this into a runbook step list: drain {node} nodes, cordon, upgrade to "
    "{ver_b}, uncordon, check {svc}",
    "Is the {region} region having issues? {svc} latency is up to {ms} ms",
    "hey, how do I get the {env} kubeconfig on a new laptop?",
    "what's our SLO for {svc} and how much error budget is left this month?",
    "{svc} keeps logging `{err}` every few seconds on {env} but nothing seems broken. safe to "
    "ignore?",
    "which team owns {svc}? I need someone to review a change to its ingress",
    "how do I run a one-off job from the {svc} image in {env} with a different command?",
    "we're seeing {pct}% packet loss between {region} and {region2}. who do I contact at AWS?",
    "How should I size the {db} connection pool for {n} pods of {svc}?",
    "write a short postmortem outline for yesterday's {svc} outage ({n} min, {region})",
    "is there a way to see who changed the {svc} deployment in {env} at {hhmm}?",
)
SLOTS: dict[str, tuple[str, ...]] = {
    "svc": words(
        "payments-gateway billing-api orders-service search-indexer auth-service "
        "notification-worker ledger-sync api-gateway inventory-service report-builder"
    ),
    "env": ("staging", "prod", "dev", "perf"),
    "region": ("eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2"),
    "db": ("db-prod-1", "db-prod-2", "orders-pg", "ledger-pg", "analytics-pg"),
    "table": ("payments", "ledger_entries", "orders", "outbox_events", "sessions"),
    "job": ("reconcile-payouts", "purge-sessions", "export-invoices", "reindex-search"),
    "bucket": ("chatops-exports", "billing-reports", "pg-backups", "artifact-cache"),
    "person": ("the new contractor", "someone from data eng", "the auditors", "support"),
    "metric": ("HighErrorRate", "SLOBurnRateFast", "KubeHpaMaxedOut", "TargetDown"),
    "resource": ("aws_db_instance.main", "aws_lb.public", "aws_eks_node_group.general"),
    "lib": ("gunicorn", "redis-py", "psycopg", "grpcio", "boto3"),
    "old": ("EC2 with systemd", "the old ELB", "self-managed RabbitMQ"),
    "new": ("EKS", "an ALB", "SQS"),
    "err": (
        "502 Bad Gateway",
        "504 Gateway Timeout",
        "connection reset by peer",
        "too many connections",
        "context deadline exceeded",
    ),
    "node": ("general", "memory-optimized", "spot", "gpu"),
    "code": ("137", "1", "139", "143"),
    "customer": ("acme-books", "northwind", "globex", "initech", "umbrella-retail"),
    "who": ("[~bob]", "[~carol]", "[~erin]", "[~grace]", "[~ivan]", "[~judy]"),
}


def fill(template: str, rng: random.Random, **fixed: str) -> str:
    """A template with its slots filled; numbers are drawn fresh each time, `fixed` wins."""
    values = {name: rng.choice(options) for name, options in SLOTS.items()}
    values |= {
        "env2": rng.choice([e for e in SLOTS["env"] if e != values["env"]]),
        "region2": rng.choice([r for r in SLOTS["region"] if r != values["region"]]),
        "n": str(rng.randint(2, 48)),
        "n2": str(rng.randint(10, 48)),
        "n3": str(rng.randint(10, 48)),
        "m": str(rng.randint(50, 900)),
        "m2": str(rng.randint(50, 900)),
        "m3": str(rng.randint(50, 900)),
        "pct": str(rng.randint(3, 97)),
        "ms": str(rng.randint(300, 2500)),
        "ms2": str(rng.randint(300, 2500)),
        "hhmm": f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        "mem_a": str(rng.choice((256, 512, 1024))),
        "mem_b": str(rng.choice((1536, 2048, 4096))),
        "ver_a": f"{rng.randint(1, 5)}.{rng.randint(0, 12)}",
        "ver_b": f"{rng.randint(6, 9)}.{rng.randint(0, 4)}",
    }
    return template.format(**(values | fixed))


GENERIC_FOLLOW_UPS = lines_of("""
thanks — and for prod?
does that need a change request?
what's the rollback if it goes wrong?
ok I did that, now I get `permission denied`. what now?
can you give me the exact command?
how long does that usually take?
is there a runbook link for this?
who should I ping if that doesn't work?
same thing but for eu-west-1?
can you turn that into a checklist I can paste into the ticket?
that worked, thanks. anything I should monitor afterwards?
wait, will that drop in-flight connections?
and if I don't have admin on the cluster?
can you explain step 3 again, I don't follow
why would that be different on staging?
what's the blast radius if I get it wrong?
shorter please, I'm on my phone
how do I check it's done?
hmm, the docs say the opposite. which one is right?
is that still true after the EKS 1.30 upgrade?
""")
LOG_FOLLOW_UPS = lines_of("""
restarting the pod didn't help, same errors within a minute
it started right after the 14:00 deploy if that matters
here's the same thing from another pod: `connection reset by peer` after 30 s
would rolling back the base image fix it or is that a red herring?
the DB itself looks fine, CPU 20%, no locks. so it's us?
ok, it's back to normal now. what should go in the incident notes?
""")

# -- logs people paste ----------------------------------------------------------------------

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


# -- Jira -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Story:
    """An issue with a history: `beats` tell the story in order, `notes` recur between them
    with fresh numbers (status updates, +1s, samples), `comments` comments in all."""

    key: str
    summary: str
    created: str
    comments: int
    pod: str
    fields: dict[str, object]
    description: str
    beats: tuple[str, ...]
    notes: tuple[str, ...]


def issue_fields(
    issuetype: str, status: str, priority: str, assignee: str | None, reporter: str, labels: str
) -> dict[str, object]:
    return {
        "issuetype": issuetype,
        "status": status,
        "priority": priority,
        "assignee": assignee,
        "reporter": reporter,
        "labels": labels.split(),
    }


STORIES = (
    Story(
        "DEMO-41",
        "Checkout p99 latency doubled after the Redis 7 cluster upgrade",
        "2026-11-17T08:40:00.000+0000",
        200,
        "payments-gateway-6c9d8f7b5",
        fields=issue_fields("Bug", "In Progress", "High", "bob", "carol", "latency payments redis"),
        description="h2. Summary\nSince the Redis 7.2 cluster upgrade on *Nov 17* checkout p99 is "
        "~420 ms instead of ~180 ms. p50 is unchanged.\n\nh3. Impact\n* slower checkout for all "
        "merchants, no errors\n* SLO (p99 < 250 ms) burning since the upgrade\n\nh3. Links\n"
        "* [Checkout latency|https://grafana.example.com/d/checkout-latency]\n"
        "* [Redis upgrade change|https://wiki.example.com/ops/changes/redis-7]",
        beats=(
            "Opening this after the Monday review: checkout p99 went from ~180 ms to ~420 ms "
            "right after the Redis 7.2 cluster upgrade. p50 barely moved.",
            "Timing confirmed: the step lines up to the minute with the last shard finishing "
            "its failover during the upgrade.",
            "Redis side looks healthy: CPU < 25% on all shards, no evictions, hit ratio "
            "unchanged at 0.97.",
            "Client side: payments-gateway uses redis-py 4.5 in cluster mode. Since the "
            "upgrade the client debug log is full of `MOVED` redirections.",
            "_Hypothesis_: slot ownership changed and the client refreshes its slot map only "
            "on error, so every pod pays an extra round trip for a while.",
            "That doesn't explain why it is still slow a week later. The slot map should have "
            "converged after the first MOVED.",
            "Found it, I think: the new nodes advertise *hostnames*, and the client resolves "
            "DNS on every new connection. With the pool capped at 10 we reconnect constantly.",
            "Pool metrics agree: new connections per second went from ~2 to ~140 after the "
            "upgrade. Pool max is 10, peak concurrency per pod ~35.",
            "Proposed fix: max_connections 50 and `cluster-preferred-endpoint-type ip` on the "
            "cluster. PR: https://git.example.com/payments/payments-gateway/pull/2231",
            "Pool change on staging: p99 back to 190 ms under the replayed load test.",
            "Canary in prod at 10%: p99 185 ms on the canary vs 410 ms on the rest.",
            "Full rollout done, p99 176 ms. Keeping this open for the endpoint-type change in "
            "the next maintenance window.",
        ),
        notes=(
            "p99 right now: {ms} ms (target 250 ms). p50 {n}0 ms.",
            "{pod} shows {m} new connections in the last 5 minutes.",
            "Support has {n} tickets mentioning slow checkout today.",
            "Checked the Redis slowlog on shard {n}: nothing over 10 ms.",
            "Error budget for checkout latency this month: {pct}% left.",
            "Status update for the {hhmm} sync: still investigating, next update in 30 minutes.",
            "Load test at {m} rps on staging: p99 {ms} ms, no errors.",
            "{who} can you grab a client-side trace from {pod}? Debug logging is behind the "
            "`REDIS_DEBUG` flag.",
            "Client debug sample from {pod}:\n{noformat}\nDEBUG redis.cluster: MOVED {m}7 "
            "10.20.{n}.14:6379\nDEBUG redis.connection: connect() to redis-{n}.cache.internal:"
            "6379 took {n} ms\n{noformat}",
            "+1, seeing the same from the {region} canary.",
            "Not the network: VPC flow logs show no drops to the cache subnet, RTT ~0.4 ms.",
            "{customer} asked for an update again; pointed them at the status page.",
            "`redis-cli --latency` from a debug pod: avg 0.{n} ms, max {n} ms.",
            "Latency by route, last hour:\n||route||p50||p99||rps||\n|POST /v2/charges|{n2} ms|"
            "{ms} ms|{m}|\n|POST /v2/refunds|{n3} ms|{ms2} ms|{n}0|\n|GET /v2/charges/:id|{n} ms|"
            "{n2}0 ms|{m2}|\nOnly the write paths that touch Redis are slow.",
            "Summary so far:\n* latency step at the Redis upgrade, p50 unchanged\n* Redis itself "
            "healthy (CPU, slowlog, evictions all fine)\n* the client reconnects a lot since the "
            "upgrade\nNext: pool metrics per pod, and a client trace from {pod}.",
            "Pool stats from {pod}:\n{noformat}\npool.max_connections=10 in_use=10 available=0 "
            "created_total={m}{n} waits_total={m}\nconnect_time_p50=3.{n} ms connect_time_p99="
            "{n} ms dns_lookups_total={m}{n}\n{noformat}\nIt is waiting for a connection, not "
            "for Redis.",
            "{customer} opened a ticket: checkout takes about {n} s for them at peak. Their "
            "integration retries after 5 s, so they double-submit; idempotency keys catch it.",
            "Same hour of day, before and after:\n||metric||before upgrade||after upgrade||\n"
            "|checkout p99|1{n2} ms|4{n3} ms|\n|redis command p99|0.{n} ms|0.{n2} ms|\n"
            "|new connections/s|{n}|1{n3}|",
        ),
    ),
    Story(
        "OPS-112",
        "Kafka consumer lag on the orders topic during the evening peak",
        "2026-11-19T17:05:00.000+0000",
        200,
        "orders-consumer-7f5b9c6d4",
        fields=issue_fields(
            "Incident", "In Progress", "Highest", "grace", "erin", "incident kafka orders"
        ),
        description="h2. Summary\nEvery evening between 18:00 and 21:00 UTC the `orders-consumer` "
        "group falls behind on `orders.v3` (lag peaks at ~2M messages) and order confirmations "
        "arrive up to 40 minutes late.\n\nh3. What we know\n# 48 partitions, 24 consumer pods\n"
        "# the group rebalances many times during the peak\n# no broker-side errors\n\n"
        "Runbook: [Kafka consumer lag|https://wiki.example.com/ops/runbooks/kafka-lag]",
        beats=(
            "Opening this: third evening in a row the orders-consumer group lags ~2M messages "
            "at peak. Confirmation emails are 30-40 min late.",
            "Brokers are fine: request latency flat, no under-replicated partitions, disk < 50%.",
            "The group rebalanced 41 times between 18:00 and 21:00 yesterday. Each rebalance "
            "stops every consumer for 20 to 40 s with the eager assignor.",
            "Consumers are being kicked out for exceeding `max.poll.interval.ms` (300 s). One "
            "poll returns 500 records and each takes up to 900 ms when the pricing DB is slow.",
            "So: slow pricing lookups → long poll loop → consumer evicted → rebalance → "
            "everyone stops → more lag. A feedback loop.",
            "Short-term mitigation: `max.poll.records` 500 → 100. Deployed at 17:40, tonight "
            "will tell.",
            "Last night with max.poll.records=100: 3 rebalances instead of 41, lag peaked at "
            "180k and drained in 6 minutes.",
            "Longer term: switch to the cooperative-sticky assignor so a rebalance doesn't stop "
            "the whole group, and cache pricing lookups for 60 s.",
            "Cooperative-sticky rolled out. Needs two rolling restarts, done.",
            "Two evenings clean now: max lag 95k, zero evictions. Moving to monitoring.",
        ),
        notes=(
            "Lag at {hhmm}: {m}k messages, {n} rebalances so far tonight.",
            "{pod} was evicted from the group at {hhmm} (poll interval exceeded).",
            "Partition {n} is the hottest: {pct}% of tonight's traffic.",
            "Pricing DB p99 during the peak: {ms} ms.",
            "Status update for the {hhmm} sync: lag {m}k and falling, next update in 30 min.",
            "{who} can you check if the pricing cache flag is on in {region}?",
            "Consumer log sample from {pod}:\n{noformat}\nWARN Member consumer-orders-{n} "
            "sending LeaveGroup request due to consumer poll timeout has expired.\n{noformat}",
            "Support: {n} customers asked about late order confirmations today.",
            "+1, the {region} replica of the group shows the same pattern.",
            "Broker CPU at peak: {pct}%. Not the bottleneck.",
            "Consumer group at {hhmm}:\n{noformat}\nGROUP            TOPIC      PARTITION  "
            "CURRENT-OFFSET  LOG-END-OFFSET  LAG\norders-consumer  orders.v3  {n}          "
            "{m}{m2}{n2}     {m}{m3}{m2}     {m}{n}\norders-consumer  orders.v3  {n3}         "
            "{m2}{n}{m3}     {m2}{m3}{m}     {n}{m3}\n{noformat}",
            "Summary so far:\n* lag only during the evening peak\n* brokers healthy\n* many "
            "rebalances, consumers evicted for slow polls\nNext: time per record and the "
            "pricing DB latency.",
            "Time per record on {pod} tonight: p50 {n} ms, p99 {ms} ms. With 500 records per "
            "poll that is well over the 300 s poll interval at p99.",
            "Rebalances per hour:\n||hour||rebalances||max lag||\n|18:00|{n}|{m}k|\n"
            "|19:00|{n2}|{m2}k|\n|20:00|{n3}|{m3}k|",
        ),
    ),
    Story(
        "PLAT-230",
        "EKS 1.30 upgrade: managed node group rollout stalls on PodDisruptionBudgets",
        "2026-11-20T09:15:00.000+0000",
        200,
        "ledger-sync-5d7c9b8f6",
        fields=issue_fields(
            "Task", "In Progress", "High", "ivan", "alice", "eks upgrade kubernetes"
        ),
        description="h2. Goal\nUpgrade `eks-prod-eu` and `eks-prod-us` from 1.29 to 1.30 before "
        "standard support ends.\n\nh3. Problem\nThe managed node group update stops after 3 of "
        "12 nodes: evictions fail with `Cannot evict pod as it would violate the pod's "
        "disruption budget`.\n\nh3. Plan\n# control plane (done)\n# add-ons\n# node groups, one "
        "at a time",
        beats=(
            "Control plane on eks-prod-eu is on 1.30, add-ons updated. Starting the general "
            "node group.",
            "Node group update stuck at 3/12 for 40 minutes. Events show evictions refused by "
            "PDBs.",
            "Culprits: ledger-sync and search-indexer have `minAvailable: 100%` PDBs. With that "
            "no pod can ever be evicted.",
            "Also report-builder: 1 replica with `minAvailable: 1`. Same effect.",
            "Proposal: every PDB becomes `maxUnavailable: 1`, single-replica services get a "
            "second replica first. PR for the helm charts: https://git.example.com/platform/"
            "charts/pull/918",
            "The managed node group gives up after 15 min per node and marks the update failed."
            " Had to roll it back once.",
            "PDB changes merged and synced by Argo. Retrying the node group.",
            "General node group done, 12/12 on 1.30. Spot node group next.",
            "eks-prod-eu fully on 1.30. Starting eks-prod-us tomorrow morning.",
        ),
        notes=(
            "Node group progress at {hhmm}: {n}/12 nodes updated.",
            "Eviction refused for {pod} ({pct}% of its PDB in use).",
            "{who} can you confirm {svc} tolerates losing one replica for ~2 min?",
            'kubectl output:\n{code}\nerror when evicting pods/"{pod}-x{n}k" -n production '
            "(will retry after 5s): Cannot evict pod as it would violate the pod's disruption "
            "budget.\n{code}",
            "Status for the {hhmm} sync: upgrade paused, PDB fix in review.",
            "Checked {svc}: {n} replicas, PDB maxUnavailable 1. Fine.",
            "AWS says standard support for 1.29 ends in {n} days.",
            "+1 from the {region} side, same PDBs there.",
            "PDB inventory in production:\n||workload||replicas||PDB||can evict?||\n"
            "|ledger-sync|3|minAvailable 100%|no|\n|search-indexer|4|minAvailable 100%|no|\n"
            "|report-builder|1|minAvailable 1|no|\n|{svc}|{n}|maxUnavailable 1|yes|",
            "Node group events:\n{noformat}\n{hhmm} UpdateNodegroupVersion InProgress "
            "nodes={n}/12\n{hhmm} PodEvictionFailure Reached max retries while trying to evict "
            "pods from nodes in node group general\n{noformat}",
            "Summary so far:\n* control plane and add-ons on 1.30\n* node group update blocked "
            "by PDBs that allow no evictions\n* fix: maxUnavailable 1 everywhere, two replicas "
            "minimum\nNext: merge the chart PR, retry general, then spot.",
            "Ran `kubent` before touching more nodes: {n} objects still use "
            "`flowcontrol.apiserver.k8s.io/v1beta2`, all from the {svc} chart. Fixed in the "
            "same PR.",
        ),
    ),
    Story(
        "PLAT-236",
        "Loki ingesters OOMKilled after the log volume spike",
        "2026-11-25T10:00:00.000+0000",
        40,
        "loki-ingester",
        fields=issue_fields("Bug", "In Progress", "High", "ken", "heidi", "observability loki"),
        description="Since Tuesday the Loki ingesters restart with OOMKilled every few hours; "
        "queries for the last hour are incomplete while they replay the WAL. Volume went from "
        "~300 GB/day to ~520 GB/day after notification-worker turned on debug logging.",
        beats=(
            "3 of 6 ingesters OOMKilled overnight. Memory limit is 8 Gi.",
            "Volume spike is notification-worker at DEBUG since Tuesday's deploy.",
            "Asked the notifications team to go back to INFO; also adding a per-tenant "
            "ingestion rate limit.",
            "Rate limit at 25 MB/s per tenant deployed. No OOMs in the last 12 h.",
        ),
        notes=(
            "Ingester memory at {hhmm}: {pct}% of limit.",
            "{pod}-{n} restarted again (OOMKilled).",
            "Ingestion rate now {n}0 MB/s.",
            "{who} queries for the last hour are missing lines from {svc}, same cause?",
        ),
    ),
    Story(
        "OPS-118",
        "Nightly Postgres backup to S3 fails on db-prod-2",
        "2026-11-26T06:30:00.000+0000",
        30,
        "pg-backup",
        fields=issue_fields("Bug", "To Do", "Medium", "frank", "judy", "postgres backup"),
        description="The nightly `pg-backup` job for db-prod-2 has failed 3 nights running with "
        "`AccessDenied` on the multipart upload's final part. db-prod-1 backs up fine.",
        beats=(
            "Third failure in a row. Last good backup of db-prod-2 is from Sunday.",
            "The role has s3:PutObject but the bucket policy now requires KMS, and the role "
            "can't use the new key.",
            "Granted kms:GenerateDataKey to the backup role. Re-running manually.",
        ),
        notes=(
            "Backup attempt at {hhmm}: failed after {n} GB.",
            "{pod} job log says `AccessDenied` on part {n}.",
            "{who} can you check the bucket policy change history?",
        ),
    ),
)

# `KEY | type | status | priority | assignee (- for none) | summary`, then the description's
# lines indented, then `- author: comment` lines.
SHORT_ISSUES_SOURCE = """
DEMO-44 | Bug | To Do | Medium | erin | Refund webhook retries give up after 3 attempts
  Merchants miss refund webhooks when their endpoint is down for more than ~2 minutes: we
  retry 3 times with a 20 s backoff. Proposal: exponential backoff for up to 24 h.
  - erin: acme-books reported 4 missed refund webhooks this week.
  - bob: The backoff schedule in the Stripe docs looks like a good model.
DEMO-47 | Task | To Do | Low | - | Typo in the payout notification email
  The payout email says 'recieved'.
  - judy: Fixed in the template repo, needs a deploy.
DEMO-52 | Task | To Do | Low | leo | Add a p95 panel to the checkout dashboard
  We only show p50 and p99; product wants p95 as well.
OPS-120 | Task | In Progress | High | carol | Rotate the PagerDuty integration key for Alertmanager
  The key was pasted in a public channel. Rotate it and update the Alertmanager secret in
  both clusters.
  - carol: New key created in PagerDuty.
  - carol: eks-prod-eu updated, test alert received.
  - frank: eks-prod-us still has the old key, doing it now.
OPS-121 | Task | To Do | Medium | ken | Decommission the old Jenkins agents
  All pipelines moved to GitHub Actions in October. Four agents still run on m5.2xlarge.
  - ken: Two agents still get jobs from the legacy release pipeline.
  - alice: Let's migrate that one first, then terminate.
OPS-125 | Task | To Do | High | heidi | VPN server certificate expires on Dec 14
  The OpenVPN server certificate expires on 2026-12-14. Renew it and push the new CA bundle.
  - heidi: Calendar reminder set; the renewal needs a change window.
PLAT-240 | Task | To Do | Low | - | Document the staging access request flow
  People keep asking in #platform how to get staging access. Write it down.
PLAT-241 | Task | In Review | Medium | ivan | Bump cert-manager to 1.16
  1.14 is out of support. 1.16 changes the default private key rotation policy to Always.
  - ivan: Staging upgraded, all certificates re-issued fine.
  - grace: Any issuer still on the old ACME v1 endpoint?
  - ivan: No, all on v2.
  - alice: Approved for prod next Tuesday.
PLAT-244 | Story | To Do | Medium | grace | Argo CD sync waves for the payments stack
  Migrations must run before the new payments-gateway pods start: use sync waves and a
  PreSync hook.
  - bob: The PreSync hook for migrations is already in the chart.
  - grace: Then only the wave annotations are missing.
PLAT-247 | Task | To Do | Low | judy | Cost tags missing on 14 EBS volumes
  The cost report shows 14 untagged gp3 volumes in eu-west-1 (~$310/month).
  - judy: 9 of them belong to the old Jenkins agents (OPS-121).
  - leo: The rest are volumes restored for the DB failover test.
  - judy: Tagging the failover ones, deleting the rest after OPS-121.
"""


def jira_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class ShortIssue:
    key: str
    fields: dict[str, object]
    summary: str
    description: list[str] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)

    def seed(self, created: datetime) -> dict[str, object]:
        """In the emulator's seed format, comments an hour apart after `created`."""
        comments = [
            {"author": author, "body": body, "created": jira_time(created + timedelta(hours=i))}
            for i, (author, body) in enumerate(self.comments, start=1)
        ]
        return {"key": self.key, "summary": self.summary, **self.fields} | {
            "created": jira_time(created),
            "updated": comments[-1]["created"] if comments else jira_time(created),
            "description": " ".join(self.description),
            "comments": comments,
            "changelog": [],
        }


def parse_short_issues(source: str) -> tuple[dict[str, object], ...]:
    """The short issues in the emulator's seed format, created in the two weeks before t 0."""
    issues: list[ShortIssue] = []
    for line in lines_of(source):
        if line.startswith("  - "):
            author, body = line[4:].split(": ", 1)
            issues[-1].comments.append((author, body))
        elif line.startswith("  "):
            issues[-1].description.append(line.strip())
        else:
            key, issuetype, status, priority, assignee, summary = line.split(" | ")
            owner = None if assignee == "-" else assignee
            fields = issue_fields(issuetype, status, priority, owner, LEAD, "")
            issues.append(ShortIssue(key, fields, summary))
    return tuple(
        issue.seed(TRACE_START - timedelta(days=14 - i, hours=2 * i))
        for i, issue in enumerate(issues)
    )


def story_comment(rng: random.Random, story: Story) -> str:
    # Wiki-markup blocks are written as {noformat}/{code}, which are slot names to `fill`.
    return fill(rng.choice(story.notes), rng, pod=story.pod, noformat="{noformat}", code="{code}")


def story_issue(rng: random.Random, story: Story) -> dict[str, object]:
    """The issue in the emulator's seed format, its beats spread evenly among the notes."""
    at = datetime.strptime(story.created, "%Y-%m-%dT%H:%M:%S.000%z")
    step = story.comments / len(story.beats)
    beat_at = {int(i * step): beat for i, beat in enumerate(story.beats)}
    comments = []
    for index in range(story.comments):
        at += timedelta(minutes=rng.randint(4, 80))
        body = beat_at.get(index) or story_comment(rng, story)
        comments.append({"author": rng.choice(list(TEAM)), "body": body, "created": jira_time(at)})
    return {"key": story.key, "summary": story.summary, **story.fields} | {
        "created": story.created,
        "updated": jira_time(at),
        "description": story.description,
        "comments": comments,
        "changelog": [],
    }


def jira_fixture(
    rng: random.Random,
    stories: Iterable[Story],
    short_keys: Iterable[str],
    updates: Iterable[Update],
) -> dict[str, object]:
    """A fixture `JiraEmulator(fixtures=…)` loads, plus the `updates` a replay applies."""
    users = [{"name": n, "displayName": d, "email": f"{n}@example.com"} for n, d in TEAM.items()]
    users.append({"name": "chatops", "displayName": "ChatOps Bot", "email": "chatops@example.com"})
    wanted = set(short_keys)
    shorts = [issue for issue in SHORT_ISSUES if issue["key"] in wanted]
    return {
        "users": users,
        "projects": [{"key": key, "name": name} for key, (name, _) in PROJECTS.items()],
        "issues": [story_issue(rng, story) for story in stories] + shorts,
        "updates": [asdict(update) for update in updates],
    }


SHORT_ISSUES = parse_short_issues(SHORT_ISSUES_SOURCE)
LONG_STORIES = STORIES[:3]
SUMMARIZE_WEIGHT = {"long": 6, "medium": 3, "short": 1}

# -- time -----------------------------------------------------------------------------------

# Activity by UTC hour for a team in Europe: a morning ramp, a lunch dip, a quiet night.
HOUR_WEIGHTS: tuple[int, ...] = (3, 2, 2, 2, 3, 5, 12, 35, 80, 100, 100, 90, 45, 55, 95, 100)
HOUR_WEIGHTS += (85, 55, 30, 15, 10, 7, 5, 4)
DAY_WEIGHTS = (110, 100, 100, 95, 80, 5, 4)  # Monday first: five working days, a quiet weekend


def sample_t(rng: random.Random, day: int | None = None) -> float:
    """A moment in the week (seconds from t 0) drawn from the working-day curve."""
    if day is None:
        day = rng.choices(range(7), DAY_WEIGHTS)[0]
    hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
    return day * DAY_S + hour * 3600 + rng.uniform(0, 3600)


# -- the team's week ------------------------------------------------------------------------

# Events by what they are, not by kind: the mix the README describes.
STARTERS = {"faq": 330, "unique": 200, "paraphrase": 120, "near_miss": 60, "log": 62}
DMS = {"faq": 20, "unique": 18, "paraphrase": 7}
FOLLOW_UPS = 250
SUMMARIES = 100
COSTS = 25
# How likely each kind of question is to turn into a conversation, relative to one another.
THREAD_WEIGHT = {"log": 8.0, "unique": 4.0, "near_miss": 2.0, "paraphrase": 1.5, "faq": 1.0}
MENTION_SHARE = 0.4


@dataclass
class Event:
    t: float
    kind: str
    user: str  # a team handle
    channel: str
    tag: str  # what it is: faq, paraphrase, near_miss, unique, log, follow_up, …
    text: str | None = None
    jira_key: str | None = None
    period: str | None = None
    thread: int | None = None  # labelled th-NNNN in the order threads start
    faq: Faq | None = None


@dataclass
class Asker:
    """Writes questions of each tag; one-off questions never repeat exactly."""

    rng: random.Random
    seen: set[str] = field(default_factory=set)

    def ask(self, tag: str, t: float) -> tuple[str, Faq | None]:
        makers: dict[str, Callable[[float], tuple[str, Faq | None]]] = {
            "faq": lambda _: self._from_faq(lambda faq: (faq.question,)),
            "paraphrase": lambda _: self._from_faq(lambda faq: faq.paraphrases),
            "near_miss": lambda _: self._from_faq(lambda faq: faq.near_misses),
            "unique": lambda _: (self._unique(), None),
            "log": lambda at: (log_paste(self.rng, TRACE_START + timedelta(seconds=at)), None),
        }
        return makers[tag](t)

    def _from_faq(self, texts: Callable[[Faq], tuple[str, ...]]) -> tuple[str, Faq]:
        # A few questions are asked far more than the rest (Zipf-like).
        weights = [1 / (rank + 1) ** 0.8 for rank in range(len(FAQS))]
        faq = self.rng.choices(FAQS, weights)[0]
        return self.rng.choice(texts(faq)), faq

    def _unique(self) -> str:
        while True:
            text = fill(self.rng.choice(QUESTIONS), self.rng)
            if text not in self.seen:
                self.seen.add(text)
                return text


def pick_user(rng: random.Random) -> str:
    return HEAVY if rng.random() < HEAVY_SHARE else pick(rng, ACTIVITY)


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def starters(rng: random.Random, asker: Asker) -> list[Event]:
    events = []
    for tag, count in STARTERS.items():
        for _ in range(count):
            t = sample_t(rng)
            kind = "mention" if rng.random() < MENTION_SHARE else "ask"
            weights = LOG_CHANNEL_WEIGHTS if tag == "log" else CHANNEL_WEIGHTS
            text, faq = asker.ask(tag, t)
            events.append(Event(t, kind, pick_user(rng), pick(rng, weights), tag, text, faq=faq))
    return events


def threads(rng: random.Random, starters: list[Event], target: int) -> list[Event]:
    """Turn starters into conversations until `target` follow-ups are written; logs and
    one-off questions are the likeliest to get one (weighted sampling without replacement)."""
    order = sorted(starters, key=lambda e: rng.random() ** (1 / THREAD_WEIGHT[e.tag]))
    follow_ups: list[Event] = []
    for number, starter in enumerate(reversed(order), start=1):
        if len(follow_ups) >= target:
            break
        starter.thread = number
        turns = min(rng.randint(1, 5), target - len(follow_ups))
        follow_ups += conversation(rng, starter, turns)
    return follow_ups


def conversation(rng: random.Random, starter: Event, turns: int) -> list[Event]:
    """Follow-ups about this question first (in the order a conversation would take them),
    then general ones, 45 s to 7 min apart (sometimes an hour: people go to meetings)."""
    about = (starter.faq.follow_ups if starter.faq else ()) + (
        LOG_FOLLOW_UPS if starter.tag == "log" else ()
    )
    picked = sorted(rng.sample(range(len(about)), min(turns, len(about))))
    texts = ([about[i] for i in picked] + rng.sample(GENERIC_FOLLOW_UPS, turns))[:turns]
    t, replies = starter.t, []
    for text in texts:
        t += rng.uniform(900, 5400) if rng.random() < 0.12 else rng.uniform(45, 420)
        user = starter.user if rng.random() < 0.75 else pick_user(rng)
        replies.append(
            Event(t, "mention", user, starter.channel, "follow_up", text, thread=starter.thread)
        )
    return replies


def direct_messages(rng: random.Random, asker: Asker) -> list[Event]:
    events = []
    for tag, count in DMS.items():
        for _ in range(count):
            t, user = sample_t(rng), pick_user(rng)
            text, _ = asker.ask(tag, t)
            events.append(Event(t, "dm", user, dm_channel(user), tag, text))
    return events


@dataclass(frozen=True)
class Update:
    """A comment that arrives on an issue at trace time `t` (chatops.trace.JiraUpdate)."""

    t: float
    key: str
    author: str
    body: str


def jira_activity(rng: random.Random) -> tuple[list[Event], list[Update]]:
    """Comments arriving on the busy issues during the week, a summary soon after some of
    the bursts, and summaries at random times of every issue (the long ones most)."""
    updates: list[Update] = []
    summaries: list[Event] = []
    for story in STORIES:
        for day in range(5):
            if rng.random() < 0.8:
                t = sample_t(rng, day)
                for _ in range(rng.randint(2, 6)):
                    t += rng.uniform(120, 1500)
                    author = rng.choice(list(TEAM))
                    updates.append(
                        Update(round(t, 3), story.key, author, story_comment(rng, story))
                    )
                if rng.random() < 0.8:
                    summaries.append(summarize(rng, t + rng.uniform(300, 3600), story.key))
    sizes = {s.key: "long" if s in LONG_STORIES else "medium" for s in STORIES}
    sizes |= {str(issue["key"]): "short" for issue in SHORT_ISSUES}
    weights = [SUMMARIZE_WEIGHT[size] for size in sizes.values()]
    while len(summaries) < SUMMARIES:
        key = rng.choices(list(sizes), weights)[0]
        summaries.append(summarize(rng, sample_t(rng), key))
    return summaries, sorted(updates, key=lambda u: u.t)


def summarize(rng: random.Random, t: float, key: str) -> Event:
    home = PROJECTS[key.rsplit("-", 1)[0]][1]
    channel = home if rng.random() < 0.7 else pick(rng, CHANNEL_WEIGHTS)
    return Event(t, "summarize", pick_user(rng), channel, "summarize", jira_key=key)


def digests(rng: random.Random) -> list[Event]:
    """Every project's daily digest at 07:30 UTC, weekend included (a schedule does not rest),
    attributed to the lead who set them up."""
    return [
        Event(
            day * DAY_S + 27_000 + i * 60 + rng.uniform(0, 30),
            "digest",
            LEAD,
            channel,
            "digest",
            jira_key=project,
        )
        for day in range(7)
        for i, (project, (_, channel)) in enumerate(PROJECTS.items())
    ]


def cost_reports(rng: random.Random) -> list[Event]:
    """/llm-cost, mostly from the lead and from the heavy user watching their budget."""
    who = {LEAD: 35, HEAVY: 35, "bob": 10, "grace": 10, "carol": 10}
    periods = {"today": 50, "7d": 35, "30d": 15}
    events = []
    for _ in range(COSTS):
        t, user, channel = sample_t(rng), pick(rng, who), pick(rng, CHANNEL_WEIGHTS)
        events.append(Event(t, "cost", user, channel, "cost", period=pick(rng, periods)))
    return events


# -- the two traces -------------------------------------------------------------------------


@dataclass
class TraceFiles:
    """A trace before it is written: events in time order and its Jira fixture."""

    name: str
    description: str
    users: tuple[str, ...]
    channels: dict[str, str]
    events: list[Event]
    updates: list[Update]
    fixture: dict[str, object]


def in_time_order(events: list[Event]) -> list[Event]:
    """Sorted by written time; the sort is stable, so a thread's turns keep their order."""
    return sorted(events, key=lambda e: round(e.t, 3))


def team_week() -> TraceFiles:
    rng = random.Random(SEEDS["team-week"])
    asker = Asker(rng)
    questions = starters(rng, asker)
    follow_ups = threads(rng, questions, FOLLOW_UPS)
    dms = direct_messages(rng, asker)
    summaries, updates = jira_activity(rng)
    events = questions + follow_ups + dms + summaries + digests(rng) + cost_reports(rng)
    short_keys = [str(issue["key"]) for issue in SHORT_ISSUES]
    fixture = jira_fixture(random.Random(SEEDS["team-week"] + 1), STORIES, short_keys, updates)
    description = (
        "A platform team's week; t 0 is Monday 2026-11-30 00:00 UTC. 12 people in 5 channels "
        "and their DMs: repeated and paraphrased FAQs, threads, pasted logs, summaries of Jira "
        "issues that change during the week, daily digests, /llm-cost; U_DAVE asks the most."
    )
    return TraceFiles(
        "team-week", description, tuple(TEAM), CHANNELS, in_time_order(events), updates, fixture
    )


def smoke() -> TraceFiles:
    """Every kind in two minutes, with the Slack emulator's seeded users and channels."""
    rng = random.Random(SEEDS["smoke"])
    rotate, scale, on_call = FAQS[0], FAQS[7], FAQS[1]
    log = log_paste(rng, TRACE_START, size=(3400, 4000))
    events = [
        Event(0, "ask", "alice", "C_OPS", "faq", rotate.question, thread=1),
        Event(5, "digest", "alice", "C_OPS", "digest", jira_key="OPS"),
        Event(9, "summarize", "bob", "C_GENERAL", "summarize", jira_key="OPS-120"),
        Event(14, "mention", "carol", "C_GENERAL", "unique", fill(QUESTIONS[27], rng), thread=2),
        Event(20, "ask", "bob", "C_OPS", "faq", rotate.question),
        Event(27, "dm", "carol", dm_channel("carol"), "faq", on_call.question),
        Event(33, "mention", "alice", "C_OPS", "follow_up", rotate.follow_ups[0], thread=1),
        Event(38, "ask", "bob", "C_OPS", "paraphrase", rotate.paraphrases[0]),
        Event(44, "ask", "carol", "C_OPS", "faq", scale.question),
        Event(50, "ask", "alice", "C_OPS", "near_miss", scale.near_misses[0]),
        Event(55, "summarize", "alice", "C_OPS", "summarize", jira_key="DEMO-41"),
        Event(60, "mention", "carol", "C_GENERAL", "follow_up", GENERIC_FOLLOW_UPS[2], thread=2),
        Event(66, "ask", "alice", "C_OPS", "log", log, thread=3),
        Event(80, "summarize", "bob", "C_GENERAL", "summarize", jira_key="DEMO-41"),
        Event(86, "mention", "bob", "C_OPS", "follow_up", LOG_FOLLOW_UPS[0], thread=3),
        Event(92, "cost", "alice", "C_GENERAL", "cost", period="today"),
        Event(98, "dm", "bob", dm_channel("bob"), "unique", fill(QUESTIONS[9], rng)),
        Event(104, "mention", "carol", "C_GENERAL", "follow_up", GENERIC_FOLLOW_UPS[5], thread=2),
        Event(110, "summarize", "carol", "C_GENERAL", "summarize", jira_key="PLAT-241"),
        Event(114, "ask", "bob", "C_OPS", "near_miss", rotate.near_misses[0]),
        Event(120, "cost", "bob", "C_OPS", "cost", period="7d"),
    ]
    # Lands between the two DEMO-41 summaries, so the second one sees a changed issue.
    updates = [Update(72.0, "DEMO-41", "bob", "Canary at 25% since 10:40, p99 181 ms. Holding.")]
    fixture = jira_fixture(
        random.Random(SEEDS["smoke"] + 1), STORIES[:1], ("OPS-120", "PLAT-241"), updates
    )
    description = "Every kind of event in two minutes, with the Slack emulator's seeded users."
    return TraceFiles("smoke", description, SMOKE_USERS, SMOKE_CHANNELS, events, updates, fixture)


# -- writing --------------------------------------------------------------------------------


def event_rows(events: list[Event]) -> list[dict[str, object]]:
    """The events as trace lines; thread labels numbered in the order threads start."""
    labels: dict[int, str] = {}
    rows: list[dict[str, object]] = []
    for event in events:
        row: dict[str, object] = {"t": round(float(event.t), 3), "kind": event.kind}
        row |= {"user": user_id(event.user), "channel": event.channel}
        if event.thread is not None:
            row["thread"] = labels.setdefault(event.thread, f"th-{len(labels) + 1:04d}")
        for name in ("text", "jira_key", "period"):
            if getattr(event, name) is not None:
                row[name] = getattr(event, name)
        rows.append(row)
    return rows


def write(out: Path, trace: TraceFiles) -> None:
    header = {
        "trace": trace.name,
        "version": 1,
        "description": trace.description,
        "users": {user_id(handle): handle for handle in trace.users},
        "channels": trace.channels,
        "jira_fixture": f"{trace.name}.jira.json",
    }
    lines = [json.dumps(row, ensure_ascii=False) for row in [header, *event_rows(trace.events)]]
    (out / f"{trace.name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fixture = json.dumps(trace.fixture, ensure_ascii=False, indent=1)
    (out / f"{trace.name}.jira.json").write_text(fixture + "\n", encoding="utf-8")


# -- what the README quotes -----------------------------------------------------------------

TAG_NAMES = {
    "faq": "FAQ asked word for word",
    "paraphrase": "FAQ paraphrased (same meaning)",
    "near_miss": "FAQ look-alike that differs (number, env, negation)",
    "unique": "one-off question",
    "log": "question with a pasted log",
    "follow_up": "follow-up in a thread",
    "summarize": "Jira summary",
    "digest": "daily project digest",
    "cost": "/llm-cost",
}


def summary_states(events: list[Event], updates: list[Update]) -> Counter[str]:
    """Each summary: the issue's first, after it changed, or again with nothing new."""
    last: dict[str, float] = {}
    states: Counter[str] = Counter()
    for event in events:
        key = event.jira_key
        if event.kind != "summarize" or key is None:
            continue
        if key not in last:
            states["first"] += 1
        elif any(u.key == key and last[key] < u.t <= event.t for u in updates):
            states["after a change"] += 1
        else:
            states["unchanged"] += 1
        last[key] = event.t
    return states


def report(trace: TraceFiles, out: Path) -> str:
    events, total = trace.events, len(trace.events)

    def share(n: int) -> str:
        return f"{n} ({100 * n / total:.1f}%)"

    kinds = Counter(e.kind for e in events)
    tags = Counter(e.tag for e in events)
    top = [e for e in events if e.kind in ("ask", "mention", "dm") and e.tag != "follow_up"]
    repeats = len(top) - len({e.text for e in top})
    turns = Counter(e.thread for e in events if e.thread is not None)
    logs = sorted(len(e.text or "") for e in events if e.tag == "log")
    users = Counter(e.user for e in events).most_common()
    runner_up = next((user, n) for user, n in users if user != HEAVY)
    sizes = {p.name: p.stat().st_size for p in sorted(out.glob(f"{trace.name}*"))}
    lines = [f"{total} events, {len(trace.updates)} Jira comment updates.", ""]
    lines += ["| kind | events |", "|---|---|"]
    lines += [f"| {kind} | {share(n)} |" for kind, n in kinds.most_common()]
    lines += ["", "| what | events |", "|---|---|"]
    lines += [f"| {name} | {share(tags[tag])} |" for tag, name in TAG_NAMES.items()]
    lines += [
        "",
        f"- Top-level questions (asks, top-level mentions, DMs): {len(top)}; {repeats} of them "
        f"({100 * repeats / len(top):.0f}%) repeat an earlier one word for word.",
        f"- Threads: {len(turns)}, {min(turns.values())} to {max(turns.values())} turns "
        f"(median {statistics.median(turns.values()):g}).",
        f"- Pasted logs: {len(logs)} questions of {logs[0]:,} to {logs[-1]:,} characters "
        f"(median {statistics.median(logs):,.0f}).",
        "- Summaries: "
        + ", ".join(f"{n} {s}" for s, n in summary_states(events, trace.updates).items())
        + f"; {len({e.jira_key for e in events if e.kind == 'summarize'})} issues.",
        f"- Heavy user {user_id(HEAVY)}: {share(dict(users)[HEAVY])} of all events; the next "
        f"busiest, {user_id(runner_up[0])}: {share(runner_up[1])}.",
        f"- Weekend (Saturday and Sunday): {share(sum(e.t >= 5 * DAY_S for e in events))}.",
        "- Files: " + ", ".join(f"{name} {size / 1024:,.0f} KiB" for name, size in sizes.items()),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the workload traces and Jira fixtures.")
    parser.add_argument("--out", type=Path, default=TRACES_DIR, help="default: bench/traces")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    week = team_week()
    for trace in (week, smoke()):
        write(out, trace)
    print(report(week, out))


if __name__ == "__main__":
    main()
