"""The OpenAI-compatible HTTP edge for editors, scripts and CI: `POST /v1/chat/completions`
and `GET /v1/models`, bearer tokens per team (stored hashed), server-sent events, and the same
cost engine as the Slack side — a request here is a job's twin, not a second engine.

Imports `gateway`, `prompts` and `chatops` (settings, wiring, messages); never `bot`,
`workers` or `sandbox`.
"""

from api.app import ApiApp, build_app
from api.tokens import ApiToken, TokenStore

__all__ = ["ApiApp", "ApiToken", "TokenStore", "build_app"]
