"""Model backends, one module each, in a plain registry: name → class.

A backend class has `name`, `from_settings(settings)` and `stream(request, model)` yielding
text deltas then exactly one `Usage`. Adding one is one module, one line here, and one
parameter in `tests/integration/test_backend_contract.py`.
"""

from __future__ import annotations

from typing import Any

from gateway.backends.bedrock import BedrockBackend
from gateway.backends.openai_compat import OpenAICompatBackend

BACKENDS: dict[str, Any] = {
    "bedrock": BedrockBackend,
    "ec2": OpenAICompatBackend,
}

__all__ = ["BACKENDS", "BedrockBackend", "OpenAICompatBackend"]
