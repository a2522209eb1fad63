"""Prompt templates, one Jinja2 file per task, and the loader that validates them at start-up.

Each template declares, as top-level `{% set %}` lines, its `task`, default `tier` and
`max_output_tokens`, and defines two macros: `system()` — the stable part, kept first so
prompt caches can reuse it — and `user(...)`, the request itself. Imports nothing of ours but
`gateway` types.
"""

from prompts.loader import PromptTemplate, load_all, load_prompt

__all__ = ["PromptTemplate", "load_all", "load_prompt"]
