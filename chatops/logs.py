"""One log format per process: `time level logger message`, where messages are
`event key=value …` lines. Never a secret, a full prompt or a model answer at INFO."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure(level: str = "INFO") -> None:
    """Set up the root logger; called again (a service that read LOG_LEVEL) it replaces it."""
    logging.basicConfig(level=level.upper(), format=FORMAT, force=True)
    # Client libraries log request bodies at DEBUG; keep them quiet unless asked.
    for noisy in ("botocore", "urllib3", "httpx", "openai", "slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


__all__ = ["configure"]
