"""RQ job functions, the worker entrypoint, and the sinks that deliver answers (Slack threads).

Imports `gateway`, `prompts` and `chatops` (settings, payloads, messages, wiring); never `bot`.
"""

__all__: list[str] = []
