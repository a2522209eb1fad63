"""The self-hosted model on EC2, through any OpenAI-compatible `/v1/chat/completions` server
(vLLM, llama.cpp server, Ollama), streamed with SSE.

The server's own usage chunk (`stream_options.include_usage`) is used when it comes, from any
chunk; a server that sends none, or a stream that ends without it, gets the local estimate.
The SDK's retries are off: a failing route falls back to the tier's next one at once. The SDK
(3.x) wraps transport failures, a stream cut mid-way included, in `openai.APIConnectionError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam

from gateway.errors import (
    BackendUnavailableError,
    ChatOpsError,
    RequestRejectedError,
    RouteMisconfiguredError,
    ThrottledError,
)
from gateway.tokens import estimate_usage
from gateway.types import Delta, LLMRequest, Usage

_STATUS_ERRORS: dict[int, type[ChatOpsError]] = {
    429: ThrottledError,
    # A wrong API key, a server that refuses us, or a model it does not serve: set-up errors.
    401: RouteMisconfiguredError,
    403: RouteMisconfiguredError,
    404: RouteMisconfiguredError,
}
# OpenAI's finish reasons in Bedrock's words, so the ledger has one vocabulary.
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "content_filter": "content_filtered"}


def chat_messages(request: LLMRequest) -> list[ChatCompletionMessageParam]:
    """System first, then the conversation: the stable prefix leads, so vLLM's automatic
    prefix cache can reuse it."""
    messages: list[ChatCompletionMessageParam] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    for message in request.messages:
        if message.role == "user":
            messages.append({"role": "user", "content": message.text})
        else:
            messages.append({"role": "assistant", "content": message.text})
    return messages


def _mapped(exc: Exception, model: str) -> ChatOpsError:
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        default = BackendUnavailableError if status >= 500 else RequestRejectedError
        return _STATUS_ERRORS.get(status, default)(f"ec2 {model}: HTTP {status}")
    return BackendUnavailableError(f"ec2 {model}: {type(exc).__name__}")


def _usage(raw: Any, model: str) -> Usage:
    details = getattr(raw, "prompt_tokens_details", None)
    cached = int(getattr(details, "cached_tokens", 0) or 0)
    return Usage(
        input_tokens=int(raw.prompt_tokens) - cached,
        output_tokens=int(raw.completion_tokens),
        cache_read_tokens=cached,
        model=model,
    )


def _with_stop(usage: Usage, finish_reason: str) -> Usage:
    return replace(usage, stop_reason=_STOP_REASONS.get(finish_reason, finish_reason))


class OpenAICompatBackend:
    name = "ec2"

    def __init__(self, client: openai.OpenAI) -> None:
        self._client = client

    @classmethod
    def from_settings(cls, settings: Any) -> OpenAICompatBackend:
        timeout = openai.Timeout(
            settings.model_read_timeout_s, connect=settings.model_connect_timeout_s
        )
        client = openai.OpenAI(
            base_url=settings.ec2_llm_base_url or "http://127.0.0.1:8000/v1",
            api_key=settings.ec2_llm_api_key.get_secret_value(),
            timeout=timeout,
            max_retries=0,
        )
        return cls(client)

    def close(self) -> None:
        self._client.close()

    def stream(self, request: LLMRequest, model: str) -> Iterator[Delta | Usage]:
        usage: Usage | None = None
        parts: list[str] = []
        finish_reason = ""
        try:
            with self._client.chat.completions.create(
                model=model,
                messages=chat_messages(request),
                max_tokens=request.max_output_tokens,
                temperature=request.temperature,
                stream=True,
                stream_options={"include_usage": True},
            ) as chunks:
                for chunk in chunks:
                    if chunk.usage is not None:
                        usage = _usage(chunk.usage, model)
                    for choice in chunk.choices:
                        finish_reason = choice.finish_reason or finish_reason
                        if choice.delta.content:
                            parts.append(choice.delta.content)
                            yield choice.delta.content
        except openai.OpenAIError as exc:
            raise _mapped(exc, model) from exc
        usage = usage or estimate_usage(request, "".join(parts), model)
        yield _with_stop(usage, finish_reason)


__all__ = ["OpenAICompatBackend", "chat_messages"]
