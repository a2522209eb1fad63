"""The Chat Completions wire format: the request body as a pydantic model, and the response,
chunk and usage bodies as OpenAI's clients read them.

Fields this server does not use (`top_p`, `tools`, `user`, …) are accepted and ignored, as
most OpenAI-compatible servers do, so an editor plugin's usual body is never refused for them.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.errors import ApiError
from chatops import messages
from gateway.types import Usage

# Bedrock's words for why a model stopped → OpenAI's `finish_reason`.
FINISH_REASONS = {"max_tokens": "length"}
STOP = "stop"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    role: str
    # A string, or a list of content parts (`{"type": "text", "text": …}`).
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    # The newer name of `max_tokens`; it wins when both are given, as at OpenAI.
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = 1

    @property
    def asked_max_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


def parse_request(raw: bytes) -> ChatRequest:
    """The body as a `ChatRequest`, or a 400 in OpenAI's words naming the parameter."""
    try:
        # JSON over HTTP is UTF-8 (RFC 8259): no guessing at other encodings.
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problem = str(exc) if isinstance(exc, json.JSONDecodeError) else "it is not UTF-8"
        raise ApiError(messages.API_BAD_JSON.format(problem=problem)) from exc
    if not isinstance(data, dict):
        problem = f"it is a JSON {type(data).__name__}, not an object"
        raise ApiError(messages.API_BAD_JSON.format(problem=problem))
    try:
        request = ChatRequest.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    if request.n != 1:
        raise ApiError(messages.API_ONE_CHOICE, param="n")
    return request


def _invalid(exc: ValidationError) -> ApiError:
    error = exc.errors()[0]
    param = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in error["loc"])
    param = param.replace(".[", "[")
    if error["type"] == "missing":
        return ApiError(messages.API_MISSING.format(param=param), param=param)
    problem = str(error["msg"]).removeprefix("Value error, ")
    return ApiError(messages.API_INVALID.format(param=param, problem=problem), param=param)


def finish_reason(usage: Usage) -> str:
    return FINISH_REASONS.get(usage.stop_reason, STOP)


def usage_body(usage: Usage) -> dict[str, Any]:
    """OpenAI's usage: prompt tokens include cached ones, which are also counted apart."""
    prompt = usage.total_input_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
    }


def completion_body(
    completion_id: str, created: int, model: str, text: str, usage: Usage
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason(usage),
            }
        ],
        "usage": usage_body(usage),
    }


def chunk_body(
    completion_id: str,
    created: int,
    model: str,
    choices: list[dict[str, Any]],
    usage: Usage | None = None,
) -> dict[str, Any]:
    """One `chat.completion.chunk`; `usage` stays null but in the last chunk, as at OpenAI."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": None if usage is None else usage_body(usage),
    }


__all__ = [
    "ChatMessage",
    "ChatRequest",
    "StreamOptions",
    "chunk_body",
    "completion_body",
    "finish_reason",
    "parse_request",
    "usage_body",
]
