"""How the model emulators answer a grading prompt (`prompts/eval_judge.j2`, which
`chatops eval` sends): one grade line in the shape the prompt asks for, by a fixed rule, so
that the eval's plumbing can be tested offline. The grade is not a judgement — a candidate
identical to the reference gets 5, any other a grade drawn from a hash of its text — and the
line says so."""

from __future__ import annotations

import hashlib
import re

_SECTION = r"<{name}>\n?(.*?)\n?</{name}>"
_CANDIDATE = re.compile(_SECTION.format(name="candidate_answer"), re.DOTALL)
_REFERENCE = re.compile(_SECTION.format(name="reference_answer"), re.DOTALL)
REASON = "offline emulator: a fixed rule, not a judgement"


def judge_reply(question: str) -> str | None:
    """The grade line for a grading prompt, or None when `question` is not one."""
    candidate = _CANDIDATE.search(question)
    reference = _REFERENCE.search(question)
    if candidate is None or reference is None:
        return None
    answer = candidate.group(1).strip()
    if answer == reference.group(1).strip():
        return f"GRADE: 5 — {REASON}"
    grade = 1 + int.from_bytes(hashlib.sha256(answer.encode()).digest()[:4], "big") % 5
    return f"GRADE: {grade} — {REASON}"


__all__ = ["REASON", "judge_reply"]
