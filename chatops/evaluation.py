"""`chatops eval`: what answering on a cheaper tier costs in quality — the other half of the
router's saving.

Each question is answered once on each tier asked for, plus the strongest tier (the
reference), through the cost engine the bot uses: every answer and every grade is a ledger row
(source `eval`), with its cost. The judge tier then grades each answer from 1 to 5 against the
reference answer to the same question, with a one-line reason (`prompts/eval_judge.j2`). The
table has one row per tier (mean grade, share graded 4 or more, cost per answer) and a row for
what the router would have chosen: for each question, the answer of the tier `route` picks for
it as a new `/ask`.

Answers are not shared through the caches (an eval request has no privacy scope): each tier
really answers. Against the offline emulators the answers and grades are emulated text, which
the report says plainly.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.engine import CostEngine
from gateway.errors import ConfigError
from gateway.router import TIERS, RouteInput, route
from gateway.types import LLMRequest, Message
from prompts import PromptTemplate

ANSWER_TASK = "ask"
JUDGE_TASK = "eval_judge"
SOURCE = "eval"
ROUTER_ROW = "router's choice"
# How the model emulators mark their text (`sandbox.llm`): grades of such answers mean nothing.
OFFLINE_MARK = "[offline emulator"
OFFLINE_NOTE = (
    "Offline: the emulators wrote these answers and grades by fixed rules, so the grades mean"
    " nothing here — only the plumbing and the costs are real. Run with model credentials for"
    " a real evaluation."
)
_GRADE = re.compile(r"GRADE:\s*([1-5])\b\W*(.*)", re.IGNORECASE)


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str


@dataclass(frozen=True)
class Graded:
    """One question's answer on one tier, and its grade against the reference answer."""

    question_id: str
    tier: str
    model: str
    answer: str
    grade: int | None  # None: the judge's reply had no grade line
    reason: str
    cost_micro_usd: int | None  # the answer's call (the grade's is apart)
    judge_cost_micro_usd: int | None
    router_tier: str  # the tier the router picks for this question


@dataclass(frozen=True)
class TierScore:
    tier: str
    answers: int
    mean_grade: float | None
    share_4_or_more: float | None
    cost_per_answer_micro_usd: int | None


def load_questions(path: Path) -> list[EvalQuestion]:
    """`{"id": …, "question": …}` per line (other fields are ignored)."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            questions.append(EvalQuestion(str(data.get("id") or f"line{number}"), data["question"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f'{path}:{number}: expected {{"id": …, "question": …}}') from exc
    if not questions:
        raise ConfigError(f"{path}: no questions")
    return questions


def parse_grade(reply: str) -> tuple[int | None, str]:
    """`GRADE: 4 — reason` → (4, "reason"); (None, the reply's first line) when not found."""
    match = _GRADE.search(reply)
    if match is None:
        return None, reply.strip().splitlines()[0] if reply.strip() else ""
    return int(match.group(1)), match.group(2).strip()


class Evaluation:
    def __init__(
        self,
        engine: CostEngine,
        prompts: dict[str, PromptTemplate],
        *,
        judge_tier: str = TIERS[-1],
        on_step: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.answering = prompts[ANSWER_TASK]
        self.judging = prompts[JUDGE_TASK]
        self.judge_tier = judge_tier
        self.on_step = on_step

    def run(self, questions: Sequence[EvalQuestion], tiers: Sequence[str]) -> list[Graded]:
        """Every question on every tier (the reference tier first), each answer graded."""
        reference_tier = TIERS[-1]
        graded = []
        for question in questions:
            answers = {tier: self._answer(question, tier) for tier in _with_reference(tiers)}
            reference = answers[reference_tier][0]
            chosen = self.router_tier(question)
            for tier in tiers:
                text, model, cost = answers[tier]
                grade, reason, judge_cost = self._grade(question, tier, reference, text)
                graded.append(
                    Graded(question.id, tier, model, text, grade, reason, cost, judge_cost, chosen)
                )
        return graded

    def router_tier(self, question: EvalQuestion) -> str:
        """The tier the router gives this question asked as a new `/ask`."""
        text = self.answering.user(question=question.question)
        return route(
            RouteInput(task=ANSWER_TASK, question=text, task_tier=self.answering.tier)
        ).tier

    def _answer(self, question: EvalQuestion, tier: str) -> tuple[str, str, int | None]:
        request = self._request(
            self.answering,
            self.answering.user(question=question.question),
            f"eval-{question.id}-{tier}",
            tier,
        )
        metered = self.engine.complete(request, on_delta=_ignore)
        self.on_step()
        return metered.completion.text, metered.record.model, metered.cost_micro_usd

    def _grade(
        self, question: EvalQuestion, tier: str, reference: str, answer: str
    ) -> tuple[int | None, str, int | None]:
        prompt = self.judging.user(
            question=question.question, reference=reference, candidate=answer
        )
        request = self._request(self.judging, prompt, f"eval-{question.id}-{tier}-judge", "")
        metered = self.engine.complete(request, on_delta=_ignore)
        self.on_step()
        grade, reason = parse_grade(metered.completion.text)
        return grade, reason, metered.cost_micro_usd

    def _request(self, prompt: PromptTemplate, text: str, request_id: str, tier: str) -> LLMRequest:
        return LLMRequest(
            task=prompt.task,
            system=prompt.system(),
            messages=(Message("user", text),),
            tier=tier or self.judge_tier,
            override_tier=tier,
            max_output_tokens=prompt.max_output_tokens,
            request_id=request_id,
            user=SOURCE,
            source=SOURCE,
        )


def scores(graded: Sequence[Graded], tiers: Sequence[str]) -> list[TierScore]:
    """One row per tier, then the router's row: each question's answer on its chosen tier
    (questions whose chosen tier was not evaluated are left out of that row)."""
    rows = [_score(tier, [g for g in graded if g.tier == tier]) for tier in tiers]
    rows.append(_score(ROUTER_ROW, [g for g in graded if g.tier == g.router_tier]))
    return rows


def _score(name: str, graded: Sequence[Graded]) -> TierScore:
    grades = [g.grade for g in graded if g.grade is not None]
    costs = [g.cost_micro_usd for g in graded]
    priced = [c for c in costs if c is not None]
    return TierScore(
        tier=name,
        answers=len(graded),
        mean_grade=sum(grades) / len(grades) if grades else None,
        share_4_or_more=sum(g >= 4 for g in grades) / len(grades) if grades else None,
        cost_per_answer_micro_usd=(
            round(sum(priced) / len(priced)) if priced and len(priced) == len(costs) else None
        ),
    )


def is_offline(graded: Sequence[Graded]) -> bool:
    return any(g.answer.startswith(OFFLINE_MARK) for g in graded)


def write_csv(graded: Sequence[Graded], path: Path) -> None:
    """One row per question and tier: the grade, its reason, the model and the costs."""
    columns = ("question_id", "tier", "router_tier", "model", "grade", "reason", "cost_usd")
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([*columns, "judge_cost_usd"])
        for g in graded:
            writer.writerow(
                [
                    g.question_id,
                    g.tier,
                    g.router_tier,
                    g.model,
                    "" if g.grade is None else g.grade,
                    g.reason,
                    _usd6(g.cost_micro_usd),
                    _usd6(g.judge_cost_micro_usd),
                ]
            )


def _with_reference(tiers: Sequence[str]) -> list[str]:
    """The reference tier first (the judge compares against its answer), then the others."""
    return [TIERS[-1], *(tier for tier in tiers if tier != TIERS[-1])]


def _usd6(micro_usd: int | None) -> str:
    return "" if micro_usd is None else f"{micro_usd / 1_000_000:.6f}"


def _ignore(delta: str) -> None:
    return None


__all__ = [
    "OFFLINE_NOTE",
    "ROUTER_ROW",
    "EvalQuestion",
    "Evaluation",
    "Graded",
    "TierScore",
    "is_offline",
    "load_questions",
    "parse_grade",
    "scores",
    "write_csv",
]
