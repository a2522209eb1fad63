"""A chat body → the `LLMRequest` the cost engine runs: the API's twin of a Slack job.

System and developer messages become the system text; user and assistant turns are kept in
order, a run of one role merged into one turn (Bedrock's Converse wants them alternating);
the conversation must end with the person's turn. Secrets are redacted from every text before
anything else sees it (`gateway.redaction`), unless the token's team is listed in
API_SECRET_REDACTION_OFF_TEAMS. The token speaks for the request: its id is the ledger's user
and its team the workspace and the cache scope (`team:<team>`), so no answer is shared
across teams. Limits (output and input tokens) are checked here, before any money is spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from api.errors import ApiError
from api.models import ModelChoice
from api.schema import ChatMessage, ChatRequest
from api.tokens import ApiToken
from chatops import messages
from chatops.settings import Settings, split_names
from gateway.redaction import redact
from gateway.tokens import estimate_prompt_tokens
from gateway.types import LLMRequest, Message, Role

TASK = "api"
SOURCE = "api"
SYSTEM_ROLES = frozenset({"system", "developer"})
TURN_ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant"}
# Bedrock's models take temperatures from 0 to 1; OpenAI's clients may send up to 2.
MAX_TEMPERATURE = 1.0


@dataclass(frozen=True)
class ApiLimits:
    max_output_tokens: int
    default_max_tokens: int
    max_input_tokens: int
    unredacted_teams: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiLimits:
        return cls(
            max_output_tokens=settings.api_max_output_tokens,
            default_max_tokens=min(settings.api_default_max_tokens, settings.api_max_output_tokens),
            max_input_tokens=settings.api_max_input_tokens,
            unredacted_teams=frozenset(split_names(settings.api_secret_redaction_off_teams)),
        )


def build_request(
    body: ChatRequest,
    *,
    token: ApiToken,
    choice: ModelChoice,
    limits: ApiLimits,
    request_id: str,
) -> LLMRequest:
    """The engine's request for `body`, or a 400 saying what to change."""
    max_tokens = _max_tokens(body, limits)
    system, turns = _split(body.messages)
    redactions = 0
    if token.team not in limits.unredacted_teams:
        system, turns, redactions = _redacted(system, turns)
    request = LLMRequest(
        task=TASK,
        messages=tuple(turns),
        system=system,
        tier=choice.tier,
        override_tier=choice.override_tier,
        override_model=choice.override_model,
        max_output_tokens=max_tokens,
        cache_system=bool(system),
        request_id=request_id,
        user=token.token_id,
        workspace=token.team,
        source=SOURCE,
        scope=f"team:{token.team}",
        redactions=redactions,
    )
    if body.temperature is not None:
        request = replace(request, temperature=min(body.temperature, MAX_TEMPERATURE))
    prompt_tokens = estimate_prompt_tokens(request)
    if prompt_tokens > limits.max_input_tokens:
        raise ApiError(
            messages.API_CONTEXT_TOO_LONG.format(
                limit=limits.max_input_tokens, tokens=prompt_tokens
            ),
            code="context_length_exceeded",
            param="messages",
        )
    return request


def _max_tokens(body: ChatRequest, limits: ApiLimits) -> int:
    asked = body.asked_max_tokens
    if asked is None:
        return limits.default_max_tokens
    if asked > limits.max_output_tokens:
        param = "max_completion_tokens" if body.max_completion_tokens else "max_tokens"
        raise ApiError(
            messages.API_MAX_TOKENS.format(asked=asked, limit=limits.max_output_tokens),
            param=param,
        )
    return asked


def _split(chat: Sequence[ChatMessage]) -> tuple[str, list[Message]]:
    system: list[str] = []
    turns: list[Message] = []
    for index, message in enumerate(chat):
        text = _text(message, index)
        if message.role in SYSTEM_ROLES:
            system.append(text)
            continue
        role = TURN_ROLES.get(message.role)
        if role is None:
            raise ApiError(
                messages.API_ROLE.format(index=index, role=message.role),
                param=f"messages[{index}].role",
            )
        if not text:
            continue  # an assistant turn that only called tools, an empty placeholder
        if turns and turns[-1].role == role:
            turns[-1] = Message(role, f"{turns[-1].text}\n\n{text}")
        else:
            turns.append(Message(role, text))
    if not turns or turns[-1].role != "user":
        raise ApiError(messages.API_LAST_MESSAGE, param="messages")
    return "\n\n".join(part for part in system if part), turns


def _text(message: ChatMessage, index: int) -> str:
    content = message.content
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for part in content:
        kind = str(part.get("type", ""))
        if kind != "text" or not isinstance(part.get("text"), str):
            raise ApiError(
                messages.API_CONTENT_PART.format(index=index, kind=kind or "untyped"),
                param=f"messages[{index}].content",
            )
        texts.append(part["text"])
    return "\n".join(texts)


def _redacted(system: str, turns: list[Message]) -> tuple[str, list[Message], int]:
    """Each text with its secrets replaced, and how many were removed in all."""
    cleaned_system = redact(system)
    cleaned = [(turn.role, redact(turn.text)) for turn in turns]
    found = len(cleaned_system.findings) + sum(len(r.findings) for _, r in cleaned)
    return cleaned_system.text, [Message(role, r.text) for role, r in cleaned], found


__all__ = ["SOURCE", "TASK", "ApiLimits", "build_request"]
