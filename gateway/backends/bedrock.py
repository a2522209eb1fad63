"""Bedrock on-demand through boto3's `bedrock-runtime` ConverseStream.

Retries are off in botocore (`total_max_attempts=1`): a throttled or failing route falls back
to the tier's next route at once instead of sleeping inside the SDK while a person waits.
A connection dropped mid-stream surfaces from urllib3 unwrapped, so it is caught here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError as TransportError

from gateway.aws import aws_client
from gateway.errors import (
    BackendUnavailableError,
    ChatOpsError,
    RequestRejectedError,
    RouteMisconfiguredError,
    ThrottledError,
)
from gateway.types import Delta, LLMRequest, Usage

CACHE_POINT = {"cachePoint": {"type": "default"}}

# Bedrock error codes (HTTP and in-stream spellings) → what the caller can do.
_ERRORS: dict[str, type[ChatOpsError]] = {
    "ThrottlingException": ThrottledError,
    "throttlingException": ThrottledError,
    "ServiceQuotaExceededException": ThrottledError,
    "ServiceUnavailableException": BackendUnavailableError,
    "serviceUnavailableException": BackendUnavailableError,
    "InternalServerException": BackendUnavailableError,
    "internalServerException": BackendUnavailableError,
    "ModelNotReadyException": BackendUnavailableError,
    "ModelTimeoutException": BackendUnavailableError,
    "modelStreamErrorException": BackendUnavailableError,
    "ValidationException": RequestRejectedError,
    "validationException": RequestRejectedError,
    # The route's set-up is wrong (model access not granted, a mistyped model id, bad
    # credentials): another route may work, and the person is told it is configuration.
    "AccessDeniedException": RouteMisconfiguredError,
    "ResourceNotFoundException": RouteMisconfiguredError,
    "UnrecognizedClientException": RouteMisconfiguredError,
    "ExpiredTokenException": RouteMisconfiguredError,
}


def converse_arguments(request: LLMRequest, model: str) -> dict[str, Any]:
    """The ConverseStream call for a request, with `cachePoint`s after its stable prefix."""
    messages: list[dict[str, Any]] = []
    for index, message in enumerate(request.messages, start=1):
        content: list[dict[str, Any]] = [{"text": message.text}]
        if index in request.cache_points:
            content.append(CACHE_POINT)
        messages.append({"role": message.role, "content": content})
    arguments: dict[str, Any] = {
        "modelId": model,
        "messages": messages,
        "inferenceConfig": {
            "maxTokens": request.max_output_tokens,
            "temperature": request.temperature,
        },
    }
    if request.system:
        system: list[dict[str, Any]] = [{"text": request.system}]
        if request.cache_system:
            system.append(CACHE_POINT)
        arguments["system"] = system
    return arguments


def _usage(raw: dict[str, Any], model: str, stop_reason: str) -> Usage:
    return Usage(
        input_tokens=int(raw.get("inputTokens", 0)),
        output_tokens=int(raw.get("outputTokens", 0)),
        cache_read_tokens=int(raw.get("cacheReadInputTokens", 0)),
        cache_write_tokens=int(raw.get("cacheWriteInputTokens", 0)),
        model=model,
        stop_reason=stop_reason,
    )


def _mapped(exc: Exception, model: str) -> ChatOpsError:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        error_class = _ERRORS.get(code, BackendUnavailableError)
        return error_class(f"bedrock {model}: {code}")
    return BackendUnavailableError(f"bedrock {model}: {type(exc).__name__}")


class BedrockBackend:
    name = "bedrock"

    def __init__(self, client: Any) -> None:
        self._client = client

    @classmethod
    def from_settings(cls, settings: Any) -> BedrockBackend:
        config = Config(
            region_name=settings.aws_region,
            connect_timeout=settings.model_connect_timeout_s,
            read_timeout=settings.model_read_timeout_s,
            retries={"total_max_attempts": 1, "mode": "standard"},
            tcp_keepalive=True,
            max_pool_connections=32,
        )
        client = aws_client(
            settings,
            "bedrock-runtime",
            endpoint_url=settings.bedrock_endpoint_url,
            endpoint_setting="BEDROCK_ENDPOINT_URL",
            config=config,
        )
        return cls(client)

    def close(self) -> None:
        self._client.close()

    def stream(self, request: LLMRequest, model: str) -> Iterator[Delta | Usage]:
        try:
            events = self._client.converse_stream(**converse_arguments(request, model))["stream"]
            usage: Usage | None = None
            stop_reason = ""
            try:
                for event in events:
                    if "contentBlockDelta" in event:
                        text = event["contentBlockDelta"]["delta"].get("text")
                        if text:
                            yield text
                    elif "messageStop" in event:
                        stop_reason = str(event["messageStop"].get("stopReason", ""))
                    elif "metadata" in event:
                        usage = _usage(event["metadata"].get("usage", {}), model, stop_reason)
            finally:
                events.close()
        except (BotoCoreError, ClientError, TransportError) as exc:
            raise _mapped(exc, model) from exc
        if usage is None:
            raise BackendUnavailableError(f"bedrock {model}: stream ended without metadata")
        yield usage


__all__ = ["BedrockBackend", "converse_arguments"]
