"""The look-alike guards: each kind of near-miss refused with a reason naming the difference,
true paraphrases let through, and no hard negative of the shipped pair set passing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.lookalike import compare, facets, stem

PAIRS = Path(__file__).resolve().parents[2] / "bench" / "cache_pairs.jsonl"


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        ("scale staging to 3 replicas", "scale staging to 5 replicas", "guard:number 3≠5"),
        ("scale staging to three replicas", "scale staging to 5 replicas", "guard:number 3≠5"),
        ("rotate the staging DB password", "rotate the prod DB password", "guard:env staging≠prod"),
        ("errors in the past 7 days", "errors in the past 7 minutes", "guard:duration 7d≠7m"),
        ("alert after 5 minutes", "alert after 15 minutes", "guard:duration 5m≠15m"),
        ("rate limit per minute", "rate limit per second", "guard:duration 1m≠1s"),
        ("pause the rollout", "resume the rollout", "guard:opposite pause≠resume"),
        ("enable debug logging", "disable debug logging", "guard:opposite enable≠disable"),
        ("what is the max pool size", "what is the min pool size", "guard:opposite max≠min"),
        ("is the api up?", "is the api down?", "guard:opposite up≠down"),
        (
            "how do we migrate from Helm to Kustomize?",
            "how do we migrate from Kustomize to Helm?",
            "guard:order from helm≠from kustomize",
        ),
        ("merge the release branch into main", "merge main into the release branch", "guard:order"),
        ("switch the default branch to main", "switch the default branch from main", "guard:order"),
        ("is OPS-5 blocked by the DNS change?", "does OPS-5 block the DNS change?", "guard:order"),
        ("why did the deploy fail?", "why didn't the deploy fail?", "guard:negation 0≠1"),
        ("restart redis without downtime", "restart redis with downtime", "guard:negation"),
        ("never page for staging alerts", "always page for staging alerts", "guard:negation"),
        ("when did we rotate the secret?", "why did we rotate the secret?", "guard:question"),
        ("who deployed auth?", "when was auth deployed?", "guard:question who≠when"),
        ("upgrade to Kubernetes 1.29", "upgrade to Kubernetes 1.30", "guard:version 1.29≠1.30"),
        ("roll back to v2.14.1", "roll back to v2.14.0", "guard:version 2.14.1≠2.14.0"),
        ("is port 8080 open", "is port 8443 open", "guard:number 8080≠8443"),
        ("health checks in us-east-1", "health checks in eu-west-1", "guard:region"),
        ("what does OPS-1423 say?", "what does OPS-1432 say?", "guard:jira OPS-1423≠OPS-1432"),
        ("grant @sam read access", "grant @alex read access", "guard:person @sam≠@alex"),
        ("disk usage on db-primary-01", "disk usage on db-replica-01", "guard:name"),
        ("route 10% of traffic to canary", "route 90% of traffic to canary", "guard:percent"),
        ("retention for logs in Loki", "retention for logs in Elasticsearch", "guard:word"),
        ("owner of billing-events", "owner of billing-alerts", "guard:word events≠alerts"),
        ("what's the current version?", "what was the previous version?", "guard:tense"),
    ],
)
def test_look_alikes_are_refused_with_a_reason(a: str, b: str, reason: str) -> None:
    verdict = compare(a, b)
    assert not verdict.same
    assert verdict.reason.startswith(reason)
    assert not compare(b, a).same


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "How do I rotate the staging DB password?",
            "how can I rotate the stage database password",
        ),
        (
            "list pods OOMKilled in the last 24h",
            "list the pods that were OOMKilled in the last 24 hours",
        ),
        ("errors over the past 7 days", "errors in the past week"),
        ("set the timeout to 30 seconds", "set the timeout to 30s"),
        ("set HPA target CPU to 70%", "set the HPA target CPU to 70 percent"),
        ("how to install the agent on the bastion", "how do I install the agent on the bastion?"),
        ("who owns the billing-events topic?", "who is the owner of the billing-events topic?"),
        ("upgrade the cluster to k8s 1.29", "upgrade our cluster to Kubernetes 1.29"),
        ("merge the release branch into main", "how do I merge the release branch into main?"),
        ("where are the runbooks for payments?", "where can I find the runbooks for payments?"),
        ("can I run terraform apply on Friday?", "am I allowed to run terraform apply on Friday?"),
        ("summarize PLAT-88", "can you summarize PLAT-88 please"),
    ],
)
def test_paraphrases_pass(a: str, b: str) -> None:
    assert compare(a, b).same, compare(a, b).reason
    assert compare(b, a).same


def test_a_question_always_matches_itself() -> None:
    for row in map(json.loads, PAIRS.read_text().splitlines()):
        assert compare(row["a"], row["a"]).same, row["a"]


def test_no_hard_negative_of_the_pair_set_passes_the_guards() -> None:
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    negatives = [row for row in rows if not row["same_intent"]]
    assert len(rows) >= 150 and len(negatives) >= 0.6 * len(rows)
    passed = [(r["a"], r["b"]) for r in negatives if compare(r["a"], r["b"]).same]
    assert passed == []


def test_stems_fold_inflections_only() -> None:
    assert {stem(w) for w in ("scale", "scaling", "scaled", "scales")} == {"scal"}
    assert {stem(w) for w in ("stop", "stopped", "stopping", "stops")} == {"stop"}
    assert stem("policies") == stem("policy")
    assert stem("status") == "status" and stem("redis") == "redis"
    assert stem("restart") != stem("start")


def test_jira_keys_are_read_in_their_own_case() -> None:
    assert ("jira", "OPS-12") in facets("what does OPS-12 say").numbers
    assert ("name", "db-02") in facets("is the backup running on db-02").numbers
