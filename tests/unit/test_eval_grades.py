"""`chatops eval`'s arithmetic and its offline judge: a grade line read as the judge writes it,
the emulators' fixed-rule grade for a grading prompt, and the table's rows — the router's
choice taken from each question's chosen tier, an unpriced answer never averaged as $0."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatops.evaluation import ROUTER_ROW, Graded, load_questions, parse_grade, scores
from gateway.errors import ConfigError
from prompts import load_prompt
from sandbox.judge_reply import REASON, judge_reply


@pytest.mark.parametrize(
    ("reply", "grade", "reason"),
    [
        ("GRADE: 4 — misses the rollback step", 4, "misses the rollback step"),
        ("grade: 2 - wrong flag", 2, "wrong flag"),
        ("Sure.\nGRADE: 5: same as the reference", 5, "same as the reference"),
        ("I would give it a good score", None, "I would give it a good score"),
        ("GRADE: 7 — out of range", None, "GRADE: 7 — out of range"),
    ],
)
def test_a_grade_line_is_read(reply: str, grade: int | None, reason: str) -> None:
    assert parse_grade(reply) == (grade, reason)


def test_the_emulated_judge_answers_a_grading_prompt_by_a_fixed_rule() -> None:
    judge = load_prompt("eval_judge")

    def prompt(candidate: str) -> str:
        return judge.user(
            question="How do I list pods?", reference="kubectl get pods", candidate=candidate
        )

    same = judge_reply(prompt("kubectl get pods"))
    other = judge_reply(prompt("ls /var/run/pods"))
    assert same == f"GRADE: 5 — {REASON}"
    assert other is not None and other == judge_reply(prompt("ls /var/run/pods"))
    assert parse_grade(other)[0] in range(1, 6)
    assert judge_reply("How do I list pods?") is None  # an ordinary question


def graded(qid: str, tier: str, grade: int | None, cost: int | None, chosen: str) -> Graded:
    return Graded(qid, tier, f"model-{tier}", "answer", grade, "", cost, 10, chosen)


def test_each_tier_and_the_routers_choice() -> None:
    rows = [
        graded("q1", "small", 2, 100, "medium"),
        graded("q1", "medium", 4, 1_000, "medium"),
        graded("q2", "small", 5, 100, "small"),
        graded("q2", "medium", 5, 1_100, "small"),
        graded("q3", "small", None, 120, "large"),  # the judge gave no grade line
        graded("q3", "medium", 3, 900, "large"),  # large was not evaluated: not in the row
    ]
    table = {row.tier: row for row in scores(rows, ["small", "medium"])}

    assert (table["small"].answers, table["small"].mean_grade) == (3, 3.5)
    assert table["small"].share_4_or_more == 0.5
    assert table["small"].cost_per_answer_micro_usd == 107
    assert table["medium"].mean_grade == 4.0
    router = table[ROUTER_ROW]
    assert (router.answers, router.mean_grade, router.cost_per_answer_micro_usd) == (2, 4.5, 550)


def test_an_unpriced_answer_leaves_the_cost_unknown() -> None:
    rows = [graded("q1", "small", 4, 100, "small"), graded("q2", "small", 4, None, "small")]
    [small, _] = scores(rows, ["small"])
    assert small.cost_per_answer_micro_usd is None


def test_a_question_file_needs_questions(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "what is a pod?"}\n\n{"question": "and a node?"}\n')
    assert [(q.id, q.question) for q in load_questions(path)] == [
        ("a", "what is a pod?"),
        ("line3", "and a node?"),
    ]
    path.write_text('{"id": "a"}\n')
    with pytest.raises(ConfigError, match=r"q\.jsonl:1"):
        load_questions(path)
