"""Load and validate the task templates (Jinja2, StrictUndefined).

Besides `task`, `tier` and `max_output_tokens`, a template may declare `batchable = true`:
independent items of its task may then share one model call (`gateway.batching`). Default false.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from gateway.batching import BatchPrompt
from gateway.errors import ConfigError

TIER_NAMES = ("small", "medium", "large")


@dataclass(frozen=True)
class PromptTemplate:
    task: str
    tier: str
    max_output_tokens: int
    template: Template
    # Independent items of this task may share one model call (`gateway.batching`).
    batchable: bool = False

    def system(self) -> str:
        return str(self.template.module.system()).strip()  # type: ignore[attr-defined]

    def user(self, **values: Any) -> str:
        return str(self.template.module.user(**values)).strip()  # type: ignore[attr-defined]

    def batch_prompt(self) -> BatchPrompt:
        """What packing needs of this template; only a batchable one has it."""
        if not self.batchable:
            raise ConfigError(f"prompts/{self.task}.j2 does not declare batchable = true")
        return BatchPrompt(self.task, self.system(), self.tier, self.max_output_tokens)


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("prompts", "."),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


@cache
def load_prompt(task: str) -> PromptTemplate:
    template = _environment().get_template(f"{task}.j2")
    module = template.module
    declared = {name: getattr(module, name, None) for name in ("task", "tier", "max_output_tokens")}
    if declared["task"] != task:
        raise ConfigError(f"prompts/{task}.j2: declares task {declared['task']!r}")
    if declared["tier"] not in TIER_NAMES:
        raise ConfigError(f"prompts/{task}.j2: tier must be one of {', '.join(TIER_NAMES)}")
    max_tokens = declared["max_output_tokens"]
    if not isinstance(max_tokens, int) or max_tokens <= 0:
        raise ConfigError(f"prompts/{task}.j2: max_output_tokens must be a positive integer")
    for macro in ("system", "user"):
        if not callable(getattr(module, macro, None)):
            raise ConfigError(f"prompts/{task}.j2: missing macro {macro}()")
    batchable = getattr(module, "batchable", False)
    if not isinstance(batchable, bool):
        raise ConfigError(f"prompts/{task}.j2: batchable must be true or false")
    return PromptTemplate(task, str(declared["tier"]), max_tokens, template, batchable)


def load_all() -> dict[str, PromptTemplate]:
    """Every template, validated: called once at start-up so a broken one stops the process."""
    names = sorted(
        name.removesuffix(".j2") for name in _environment().list_templates(extensions=["j2"])
    )
    return {name: load_prompt(name) for name in names}


__all__ = ["PromptTemplate", "load_all", "load_prompt"]
