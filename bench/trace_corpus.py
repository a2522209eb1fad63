"""The text the trace generator writes from: the FAQs with their paraphrases, near misses and
follow-ups, one-off question templates and the slot values that fill them, and the Jira issues
(long stories with their comments, short issues in a compact source).

Separate from make_traces.py so that the generator reads as generation (time curve, threads,
assembly, files) and a change of wording does not touch it. Only data and the small pure
functions that turn it into text with a `random.Random`; changing anything here changes the
committed traces, so regenerate them (bench/make_traces.py) in the same commit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


def lines_of(block: str) -> tuple[str, ...]:
    """The non-empty lines of a text block: long lists of phrases read best one per line."""
    return tuple(line for line in block.splitlines() if line.strip())


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


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


# -- Jira issues ----------------------------------------------------------------------------


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


def story_comment(rng: random.Random, story: Story) -> str:
    # Wiki-markup blocks are written as {noformat}/{code}, which are slot names to `fill`.
    return fill(rng.choice(story.notes), rng, pod=story.pod, noformat="{noformat}", code="{code}")
