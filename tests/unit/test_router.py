"""The router's decisions and reasons on realistic questions, and its policy steps (override,
escalation, channel minimum, budget, unavailable tiers). Expectations are what a senior platform
engineer would want answered by which model: small only for plain lookups and how-tos."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway import router
from gateway.router import (
    CUE_HEAD_CHARS,
    SIGNALS,
    TIERS,
    Decision,
    RouteInput,
    measure_text,
    route,
    tier_rank,
    unavailable_tiers,
)
from gateway.types import Route

EVAL_QUESTIONS = Path(__file__).resolve().parents[2] / "bench" / "eval" / "questions.jsonl"

HIKARI_LOG = """\
2026-11-18 14:02:11.482  WARN 1 --- [http-nio-8080-exec-7] com.zaxxer.hikari.pool.HikariPool : \
HikariPool-1 - Connection is not available, request timed out after 30000ms.
2026-11-18 14:02:11.483 ERROR 1 --- [http-nio-8080-exec-7] o.a.c.c.C.[.[.[/].[dispatcherServlet] : \
Servlet.service() threw exception [Request processing failed] with root cause
java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available
\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)
\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)
\tat com.example.payments.repo.PaymentRepository.findByKey(PaymentRepository.java:88)
\tat java.base/java.lang.Thread.run(Thread.java:1583)"""

DESCRIBE_POD = """\
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
    Restart Count:  14
Events:
  Warning  BackOff  2m (x61 over 17m)  kubelet  Back-off restarting failed container"""

NGINX_LINES = """\
10.2.3.4 - - [18/Nov/2026:09:12:01 +0000] "POST /v2/charges HTTP/1.1" 502 157 "-" "okhttp/4.12"
10.2.3.9 - - [18/Nov/2026:09:12:01 +0000] "POST /v2/charges HTTP/1.1" 502 157 "-" "okhttp/4.12"
10.2.3.4 - - [18/Nov/2026:09:12:02 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.30"
10.2.7.1 - - [18/Nov/2026:09:12:02 +0000] "POST /v2/refunds HTTP/1.1" 502 157 "-" "okhttp/4.12\""""

GO_PANIC = """\
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x6f2b1a]

goroutine 87 [running]:
github.com/example/ledger-sync/internal/sync.(*Worker).flush(0xc000214000)
\t/src/internal/sync/worker.go:142 +0x3a
github.com/example/ledger-sync/internal/sync.(*Worker).Run(0xc000214000, {0x9a1e40, 0xc0001a2000})
\t/src/internal/sync/worker.go:97 +0x1f5"""

PY_TRACEBACK = """\
Traceback (most recent call last):
  File "/app/jobs/export_invoices.py", line 41, in <module>
    main()
  File "/app/jobs/export_invoices.py", line 33, in main
    upload(client, path)
  File "/app/jobs/storage.py", line 18, in upload
    client.upload_file(str(path), BUCKET, key)
botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the PutObject \
operation: Access Denied"""

PY_FUNCTION = """\
```python
def retry(fn, attempts=3):
    for i in range(attempts):
        try:
            return fn()
        except Exception:
            time.sleep(2 ** i)
    return fn()
```"""

DOCKERFILE = """\
```
FROM python:3.12
COPY . /app
RUN pip install -r /app/requirements.txt
RUN apt-get update && apt-get install -y build-essential
CMD ["python", "/app/main.py"]
```"""

DEPLOYMENT_YAML = """\
```yaml
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: api
          readinessProbe:
            httpGet:
              path: /ready
              port: 8081
            initialDelaySeconds: 2
```"""

TERRAFORM = """\
```hcl
resource "aws_s3_bucket" "exports" {
  count  = length(var.envs)
  bucket = "chatops-exports-${var.envs[count.index]}"
}
```"""

NGINX_ERRORS = """\
2026/11/18 10:41:07 [error] 31#31: *88213 upstream prematurely closed connection while reading \
response header from upstream, client: 10.20.4.17, server: uploads.example.com
2026/11/18 10:41:07 [error] 31#31: *88213 recv() failed (104: Connection reset by peer) while \
reading response header from upstream, client: 10.20.4.17
2026/11/18 10:43:52 [error] 30#30: *88391 upstream prematurely closed connection while reading \
response header from upstream, client: 10.20.6.2, server: uploads.example.com"""

SCHEDULING_EVENTS = """\
Events:
  Type     Reason             Age                   From                Message
  ----     ------             ----                  ----                -------
  Warning  FailedScheduling   4m12s (x19 over 22m)  default-scheduler   0/14 nodes are \
available: 3 Insufficient cpu, 8 node(s) didn't match Pod's node affinity/selector.
  Normal   NotTriggerScaleUp  2m (x31 over 22m)     cluster-autoscaler  pod didn't trigger \
scale-up: 1 max node group size reached"""

RACY_CLASS = """\
```python
class Counter:
    def incr(self):
        if self.value < LIMIT:
            with self.lock:
                self.value += 1
        return self.value
```"""

CAPACITY_CONTEXT = (
    "Context: orders-service runs 24 pods on m6i.xlarge nodes today, peak is about 1,800 rps "
    "on Black Friday and we expect 3x that this year. Each pod holds 20 Postgres connections "
    "and the primary is at 60% CPU at peak already. We can add read replicas, put PgBouncer "
    "in front, or shard by merchant. Finance wants a number for the node budget by Friday and "
    "the DBAs are nervous about connection counts. What would you do first?"
)
HARD_ROOT = (
    "We need to move session storage from Redis to DynamoDB. What are the trade-offs, how "
    "would we migrate without logging everyone out, and what would it cost at 5k rps?"
)
LOG_ROOT = "payments pods keep restarting since the 14:00 deploy, logs below:\n" + HIKARI_LOG


@dataclass(frozen=True)
class Case:
    question: str
    tier: str
    reason: str
    thread_root: str = ""
    prior_turns: int = 0


# Medium (Claude Haiku 4.5) reads one pasted log, trace or piece of code and says why it
# fails; large (Sonnet 4.5) is kept for designs and trade-offs, several questions about one
# problem, long accounts of a situation to weigh, and a log that comes with code and a why.
CASES = {
    # Plain lookups: the small model knows, or says where to look.
    "on-call lookup": Case("who is on call for the payments team this week?", "small", "lookup"),
    "runbook link": Case(
        "where is the runbook for the kafka consumer lag alert?", "small", "short lookup"
    ),
    "which dashboard": Case(
        "which grafana dashboard shows the ingress 5xx rate?", "small", "short lookup"
    ),
    "link only": Case("link to the terraform modules repo?", "small", "short lookup"),
    "maintenance window": Case(
        "when is the next maintenance window for the shared postgres cluster?", "small", "lookup"
    ),
    "command lookup": Case(
        "what's the command to list pods in CrashLoopBackOff across all namespaces?",
        "small",
        "short lookup",
    ),
    "term lookup": Case("what does exit code 137 mean for a container?", "small", "lookup"),
    "inline command lookup": Case(
        "what does `kubectl rollout undo deploy/api --to-revision=3` do?", "small", "lookup"
    ),
    "is there a dashboard": Case("is there a dashboard for SQS queue depth?", "small", "lookup"),
    "port lookup": Case("what port does the internal grafana listen on?", "small", "lookup"),
    # Plain how-tos.
    "kubeconfig": Case(
        "how do I get the staging kubeconfig on a new laptop?", "small", "short how-to"
    ),
    "tail logs": Case(
        "how do I tail logs for all pods of a deployment at once?", "small", "short how-to"
    ),
    "silence alert": Case(
        "hey, how do I silence an Alertmanager alert for 2 hours?", "small", "short how-to"
    ),
    "state lock": Case(
        "Terraform says the state is locked, how do I unlock it?", "small", "short how-to"
    ),
    "presigned url": Case(
        "How do I generate a presigned S3 URL valid for 1 hour?", "small", "short how-to"
    ),
    # Short, but not for the small model: risk, judgement, diagnosis, writing.
    "prod migration": Case("How do I run a database migration on prod?", "medium", "prod"),
    "flush cache": Case("is it safe to flush the staging redis cache?", "medium", "advice"),
    "explain alert": Case(
        "can you explain what the KubeHpaMaxedOut alert means and what to do about it?",
        "medium",
        "explain",
    ),
    "promql": Case(
        "write me a PromQL query for p99 latency by route over the last hour", "medium", "writing"
    ),
    "why 503": Case(
        "why is the orders-service returning 503s on staging since this morning?", "medium", "why"
    ),
    "prod command": Case(
        "scale prod to 3 replicas for api-gateway, what's the command?", "medium", "prod"
    ),
    "two lookups": Case(
        "who approves staging cluster access, and where do I request it?", "medium", "two"
    ),
    "hpa stuck": Case(
        "the search-indexer HPA is stuck at 2 replicas even though CPU is at 90%."
        " what should I look at?",
        "medium",
        "why",
    ),
    "symptom only": Case("grafana keeps logging me out every hour", "medium", "symptom"),
    "no cue at all": Case("the new node group for the gpu workloads", "medium", "task default"),
    # Pasted logs.
    "log + why": Case(
        "why does this keep failing?\n" + HIKARI_LOG, "medium", "pasted log + why → medium"
    ),
    "describe + what's going on": Case(
        "orders-consumer on prod, what's going on here?\n" + DESCRIBE_POD, "medium", "pasted log"
    ),
    "log, no ask": Case("fyi, seeing these at the edge:\n" + NGINX_LINES, "medium", "pasted log"),
    "log + db or us": Case(
        NGINX_LINES + "\nis this the upstream or the load balancer?", "medium", "pasted log"
    ),
    "panic + ideas": Case(
        "ledger-sync crashed right after the deploy, ideas?\n```\n" + GO_PANIC + "\n```",
        "medium",
        "pasted log",
    ),
    "traceback + fix": Case(
        "the nightly export dies with this, how do I fix it?\n" + PY_TRACEBACK,
        "medium",
        "pasted log + why",
    ),
    # Pasted code and config.
    "code review": Case(
        "can you review this for bugs?\n" + PY_FUNCTION, "medium", "pasted code + why"
    ),
    "dockerfile": Case("how do I make this image smaller?\n" + DOCKERFILE, "medium", "pasted code"),
    "yaml + why": Case(
        "why does the readiness probe fail right after rollout?\n" + DEPLOYMENT_YAML,
        "medium",
        "pasted code",
    ),
    "terraform convert": Case(
        "convert this to for_each instead of count\n" + TERRAFORM, "medium", "pasted code"
    ),
    # Design, planning, several questions at once.
    "session store design": Case(HARD_ROOT, "large", "design / trade-off"),
    "numbered upgrade plan": Case(
        "For the EKS 1.29 to 1.30 upgrade: 1. what breaks in our manifests 2. which node group"
        " goes first 3. how do we roll back",
        "large",
        "several questions",
    ),
    "multi-region design": Case(
        "Design a multi-region active-passive setup for the payments API: RPO/RTO targets, DNS"
        " failover and Postgres replication.",
        "large",
        "design",
    ),
    "alerting strategy": Case(
        "What's a good alerting strategy for a nightly batch job that sometimes legitimately"
        " takes 3x longer?",
        "large",
        "design",
    ),
    "capacity plan": Case(CAPACITY_CONTEXT, "large", "→ large"),
    "random 504s": Case(
        "we get random 504s from the ALB for maybe 0.5% of requests, only on keep-alive"
        " connections, only on the node.js services. backend logs show nothing. ideas on the"
        " root cause?",
        "medium",
        "why",
    ),
    "kafka lag": Case(
        "Kafka consumer lag grows every evening from 18:00 and recovers by 22:00. 48"
        " partitions, 24 consumers, lots of rebalances. No broker errors. What's the likely"
        " cause and how do I confirm it?",
        "medium",
        "why",
    ),
    "race conditions": Case(
        "can you check this for race conditions?\n" + RACY_CLASS, "medium", "pasted code"
    ),
    "nginx error log": Case(
        "The 502s only happen on long uploads. What's going on?\n" + NGINX_ERRORS,
        "medium",
        "pasted log + why",
    ),
    "scheduling events": Case(
        "why won't these pods schedule?\n" + SCHEDULING_EVENTS, "medium", "pasted log + why"
    ),
    "terraform plan is no plan": Case(
        "Why does terraform plan show a change to tags_all on every run?", "medium", "why →"
    ),
    "symptoms to write up": Case(
        "Draft a short status update for #incidents: checkout API elevated errors in"
        " eu-west-1, mitigated by rolling back release 2026.11.3, still monitoring.",
        "medium",
        "writing",
    ),
    "cause as a question": Case(
        "Our RDS instance shows high ReadIOPS every night. How do I find which queries cause it?",
        "medium",
        "why",
    ),
    "iam how-to": Case(
        "How do I find out which IAM policy is denying an action for a role?", "medium", "risky"
    ),
    "grafana url": Case("what's the grafana url for staging?", "small", "short lookup"),
    "image pull": Case(
        "the staging deploy is failing with ImagePullBackOff, what do I check?",
        "medium",
        "symptom",
    ),
    "queue choice": Case(
        "should we use SQS or Kafka for the new order events pipeline?", "medium", "comparison"
    ),
    # Follow-ups: a thread about a log or a hard question stays capable.
    "log thread, still failing": Case(
        "restarting the pod didn't help, same errors within a minute",
        "medium",
        "thread about a pasted log",
        thread_root=LOG_ROOT,
        prior_turns=2,
    ),
    "log thread, runbook link": Case(
        "is there a runbook link for this?",
        "medium",
        "thread about a pasted log → medium",
        thread_root=LOG_ROOT,
        prior_turns=2,
    ),
    "hard thread, cost": Case(
        "and what about the cost side?",
        "medium",
        "thread about a hard question",
        thread_root=HARD_ROOT,
        prior_turns=2,
    ),
    "trivial thread, lookup": Case(
        "and who's the secondary?",
        "small",
        "short lookup",
        thread_root="who is on call for platform this week?",
        prior_turns=2,
    ),
    "trivial thread, how-to": Case(
        "how do I swap a shift with them?",
        "small",
        "short how-to",
        thread_root="who is on call for platform this week?",
        prior_turns=2,
    ),
    "trivial thread, why": Case(
        "why would that be different on staging?",
        "medium",
        "why",
        thread_root="how do I scale the api deployment to 3 replicas?",
        prior_turns=2,
    ),
    "long trivial thread": Case(
        "ok so which one do I pick?",
        "medium",
        "long thread",
        thread_root="how do I get a shell in a running pod?",
        prior_turns=12,
    ),
    # Decisions to weigh: the strongest model earns its price.
    "kafka or sqs": Case(
        "We need to choose between Kafka and SQS for the orders pipeline: what are the trade-offs"
        " for ordering, replay and cost, and which would you pick for three regions?",
        "large",
        "design / trade-off",
    ),
    "spot runners": Case(
        "Should we move the CI runners to spot instances? Weigh cost, flakiness and queue times"
        " for a 60-engineer team.",
        "large",
        "design / trade-off",
    ),
    "helm to kustomize plan": Case(
        "Plan the migration of 40 services from Helm to Kustomize: what order, what can go"
        " wrong, and how do we roll back?",
        "large",
        "design / trade-off",
    ),
    "which would you pick": Case(
        "Redis Cluster or a managed ElastiCache with replicas for the session store, which"
        " would you pick?",
        "large",
        "design / trade-off",
    ),
}


def _ask(question: str, **fields: object) -> Decision:
    defaults: dict[str, object] = {"task": "ask", "question": question, "task_tier": "medium"}
    return route(RouteInput(**(defaults | fields)))  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_router_picks_the_tier_a_senior_engineer_would(case: Case) -> None:
    decision = _ask(case.question, thread_root=case.thread_root, prior_turns=case.prior_turns)
    assert (decision.tier, case.reason in decision.reason) == (case.tier, True), decision


def test_the_table_covers_every_tier_with_enough_cases() -> None:
    tiers = [case.tier for case in CASES.values()]
    assert len(tiers) >= 40
    assert {tier: tiers.count(tier) >= 8 for tier in TIERS} == dict.fromkeys(TIERS, True)


def test_a_reason_names_the_signals_and_the_tier_and_signals_carry_points() -> None:
    decision = _ask("why does this keep failing?\n" + HIKARI_LOG)
    assert decision.reason == "pasted log + why → medium"
    assert "pasted log +2" in decision.signals
    assert "why +2" in decision.signals
    # Asked why, a described symptom adds nothing more ("keep failing").
    assert not any(signal.startswith("symptom") for signal in decision.signals)
    plan = _ask(CASES["helm to kustomize plan"].question)
    assert plan.reason == "design / trade-off + several questions → large"


def test_a_pasted_log_or_code_never_goes_to_the_small_tier_even_from_a_small_task() -> None:
    for paste in (HIKARI_LOG, DESCRIBE_POD, NGINX_LINES, PY_TRACEBACK, DOCKERFILE, TERRAFORM):
        decision = _ask("who?\n" + paste, task_tier="small")
        assert decision.tier != "small", (paste[:40], decision)


def test_the_task_default_tier_is_where_scoring_starts() -> None:
    assert _ask("the new node group", task_tier="large").tier == "large"
    assert _ask("the new node group", task_tier="small").reason == "task default"
    # A lookup in a large task is still worth a tier less, never two.
    assert _ask("where is the runbook?", task_tier="large").tier == "medium"
    # A why-question in a small task goes up.
    assert _ask("why is grafana slow?", task_tier="small").tier == "medium"


def test_a_tier_override_wins_over_the_score_and_the_channel_minimum() -> None:
    decision = _ask(
        "why does this keep failing?\n" + HIKARI_LOG,
        override_tier="small",
        channel_min_tier="large",
    )
    assert decision == Decision("small", "override", ("--tier small",))


def test_a_model_override_names_the_model_and_its_tier() -> None:
    decision = _ask(
        "who is on call?", override_model="amazon.nova-pro-v1:0", override_tier="medium"
    )
    assert (decision.tier, decision.model, decision.reason) == (
        "medium",
        "amazon.nova-pro-v1:0",
        "override",
    )
    # A model in no configured tier is treated as the strongest tier for budgets and reports.
    assert _ask("who is on call?", override_model="my-finetune").tier == "large"


def test_the_channel_minimum_raises_but_never_lowers() -> None:
    raised = _ask("who is on call for platform?", channel_min_tier="large")
    assert (raised.tier, raised.reason) == ("large", "channel minimum")
    assert "short lookup -2" in raised.signals
    kept = _ask(CASES["kafka or sqs"].question, channel_min_tier="small")
    assert (kept.tier, kept.reason) == ("large", "design / trade-off + two questions → large")


def test_an_escalated_thread_goes_at_least_to_the_escalated_tier() -> None:
    decision = _ask("and who's the secondary?", escalated_tier="medium")
    assert (decision.tier, decision.reason) == ("medium", "escalated")


def test_the_budget_tier_caps_every_path_and_says_so() -> None:
    capped = _ask(CASES["kafka or sqs"].question, budget_tier="medium")
    assert (capped.tier, capped.reason) == ("medium", "budget downgrade")
    assert "design / trade-off +6" in capped.signals
    overridden = _ask("who?", override_model="some-model", budget_tier="small")
    assert (overridden.tier, overridden.model, overridden.reason) == (
        "small",
        None,
        "budget downgrade",
    )
    untouched = _ask("who is on call?", budget_tier="medium")
    assert untouched.tier == "small"


def test_an_unavailable_tier_moves_up_first_then_down() -> None:
    up = _ask("who is on call for platform?", unavailable=frozenset({"small"}))
    assert (up.tier, up.reason) == ("medium", "small unavailable → medium")
    down = _ask(CASES["kafka or sqs"].question, unavailable=frozenset({"large"}))
    assert (down.tier, down.reason) == ("medium", "large unavailable → medium")
    skip = _ask("who is on call?", unavailable=frozenset({"small", "medium"}))
    assert skip.tier == "large"
    # Going up never passes the budget's tier: down is then the only way.
    capped = _ask("why is grafana slow?", unavailable=frozenset({"medium"}), budget_tier="medium")
    assert (capped.tier, capped.reason) == ("small", "medium unavailable → small")
    # Nothing available: the decision stands and the gateway reports the failure.
    assert _ask("who?", unavailable=frozenset(TIERS)).tier == "small"


def test_unavailable_tiers_are_those_whose_every_backend_is_down() -> None:
    tiers = {
        "small": (Route("bedrock", "nova-micro"), Route("ec2", "llama")),
        "medium": (Route("ec2", "llama"),),
        "large": (Route("bedrock", "sonnet"),),
    }
    assert unavailable_tiers(tiers, {"ec2"}) == {"medium"}
    assert unavailable_tiers(tiers, {"ec2", "bedrock"}) == set(TIERS)
    assert unavailable_tiers(tiers, set()) == frozenset()


def test_route_input_refuses_unknown_tiers() -> None:
    with pytest.raises(ValueError, match="huge"):
        RouteInput("ask", "q", "medium", channel_min_tier="huge")
    with pytest.raises(ValueError, match="negative"):
        RouteInput("ask", "q", "medium", prior_turns=-1)


def test_cues_inside_a_pasted_log_do_not_count_as_the_persons_words() -> None:
    shape = measure_text("fyi\n" + HIKARI_LOG)
    assert (shape.log_lines >= 3, "why" in shape.cues, shape.prose_chars) == (True, False, 3)


def test_the_table_is_one_row_per_signal_with_unique_names() -> None:
    names = [signal.name for signal in SIGNALS]
    assert len(names) == len(set(names))
    assert tier_rank("small") < tier_rank("medium") < tier_rank("large")


def test_the_ask_at_the_end_of_a_long_text_is_found() -> None:
    context = "Background on the setup, in some detail. " * 80
    assert len(context) > 3 * CUE_HEAD_CHARS
    decision = _ask(context + "Why does the failover take four minutes?")
    assert (decision.tier, "why +2" in decision.signals) == ("large", True)


def test_a_cue_block_with_a_group_split_across_lines_fails_at_import() -> None:
    with pytest.raises(re.error):
        router._alternatives("a(?:b\n|c)")
    with pytest.raises(ValueError, match="empty"):
        router._alternatives("a |  | b")


def _eval_questions() -> list[dict[str, str]]:
    return [json.loads(line) for line in EVAL_QUESTIONS.read_text().splitlines()]


def test_the_eval_questions_keep_their_documented_format() -> None:
    questions = _eval_questions()
    assert len(questions) >= 60
    assert len({q["id"] for q in questions}) == len(questions)
    for q in questions:
        assert set(q) == {"id", "question", "difficulty", "expected_tier", "notes"}, q["id"]
        assert q["difficulty"] in ("easy", "medium", "hard"), q["id"]
        assert q["expected_tier"] in TIERS, q["id"]
        assert 0 < len(q["question"]) < 4000, q["id"]


def test_no_eval_question_that_needs_more_goes_to_the_small_tier() -> None:
    sent_small = [
        q["id"]
        for q in _eval_questions()
        if q["expected_tier"] != "small" and _ask(q["question"]).tier == "small"
    ]
    assert sent_small == []
