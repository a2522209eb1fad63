"""One `Settings` class: every variable the bot reads, from the environment and `.env`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.batching import Strategy
from gateway.budgets import BudgetCaps
from gateway.ec2_schedule import Ec2Schedule
from gateway.errors import ConfigError
from gateway.levers import parse_levers
from gateway.types import Route

BACKEND_NAMES = ("bedrock", "ec2")
TIER_NAMES = ("small", "medium", "large")

PositiveSeconds = Annotated[float, Field(gt=0)]
# The Jira webhook events a trigger can name (Jira's `webhookEvent` values).
JIRA_WEBHOOK_EVENTS = (
    "jira:issue_created",
    "jira:issue_updated",
    "comment_created",
    "comment_updated",
)


def parse_routes(spec: str) -> tuple[Route, ...]:
    """`bedrock:amazon.nova-micro-v1:0, ec2:llama-3.1-8b` → routes, the first primary.

    Model ids contain colons, so only the first colon of each entry separates the backend.
    """
    routes = []
    for entry in (part.strip() for part in spec.split(",")):
        backend, sep, model = entry.partition(":")
        if not sep or not model or backend not in BACKEND_NAMES:
            raise ValueError(
                f"expected backend:model[, backend:model…] with backend one of "
                f"{', '.join(BACKEND_NAMES)} (got {entry!r})"
            )
        routes.append(Route(backend, model))
    return tuple(routes)


def split_names(spec: str) -> tuple[str, ...]:
    """`"OPS, DEMO,"` → `("OPS", "DEMO")`: the comma-separated lists of the settings."""
    return tuple(part.strip() for part in spec.split(",") if part.strip())


def parse_levers_spec(spec: str) -> str:
    """For argparse: the spec itself if it names real levers (`--levers`)."""
    try:
        parse_levers(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return spec


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        # `SLACK_APP_TOKEN=` in a .env means unset, not an empty token.
        env_ignore_empty=True,
    )

    # Model tiers: the first route is primary, the rest are fallbacks in order.
    tier_small: str = "bedrock:amazon.nova-micro-v1:0, ec2:llama-3.1-8b-instruct"
    tier_medium: str = (
        "bedrock:global.anthropic.claude-haiku-4-5-20251001-v1:0, ec2:llama-3.1-8b-instruct"
    )
    tier_large: str = (
        "bedrock:global.anthropic.claude-sonnet-4-5-20250929-v1:0,"
        " bedrock:global.anthropic.claude-haiku-4-5-20251001-v1:0"
    )
    default_tier: str = "medium"

    # Bedrock (boto3 also reads ~/.aws; these override it).
    aws_region: str = "us-east-1"
    aws_profile: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    bedrock_endpoint_url: str | None = None

    # The self-hosted model on EC2 (any OpenAI-compatible server: vLLM, llama.cpp, Ollama).
    ec2_llm_base_url: str | None = None
    ec2_llm_api_key: SecretStr = SecretStr("not-needed")

    # Timeouts for model calls: connecting, and the longest silence inside a stream.
    model_connect_timeout_s: PositiveSeconds = 3.0
    model_read_timeout_s: PositiveSeconds = 60.0

    # Redis: queue/state (noeviction) and cache (allkeys-lfu); one URL is fine in development.
    redis_url: str = "redis://127.0.0.1:6379/0"
    cache_redis_url: str | None = None

    # Slack.
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    # While tokens arrive, the visible reply grows at least this often.
    slack_stream_flush_s: PositiveSeconds = 0.5
    # A question longer than this is refused with a message: Slack's own limit on a message's
    # text (compaction keeps what reaches the model within COMPACT_QUESTION_TOKENS).
    max_question_chars: Annotated[int, Field(gt=0)] = 40_000
    # Text files and snippets attached to a question are read up to this size (bytes); a
    # bigger one is left out with a sentence saying so.
    max_file_bytes: Annotated[int, Field(gt=0)] = 1_048_576
    # Slack workspace (team) ids, comma-separated, whose messages are NOT redacted before they
    # are queued, cached, quoted, logged or sent to a model; empty: redacted in every workspace.
    secret_redaction_off_teams: str = ""
    # How the root message of an /ask thread quotes the question (after redaction): "full"
    # (up to Slack's limit), "short" (the first 500 characters) or "none".
    ask_root_quote: Literal["full", "short", "none"] = "short"
    # Bot ids (B…), comma-separated, whose messages and mentions are answered; every other bot,
    # webhook and the bot itself are ignored (no bot-to-bot loops).
    allowed_bot_ids: str = ""
    # The HTTP port: /metrics needs `Authorization: Bearer METRICS_TOKEN`, or is served only
    # on METRICS_PORT (a port not exposed to the internet); neither set: not served at all.
    # Request bodies over MAX_REQUEST_BYTES are refused (413) before anything reads them.
    metrics_token: SecretStr | None = None
    metrics_port: Annotated[int, Field(gt=0, lt=65536)] | None = None
    max_request_bytes: Annotated[int, Field(ge=1024)] = 1_048_576
    # Token budgets of compaction: each message of the person's (a longer paste keeps its head,
    # tail and error lines), and a thread as a whole.
    compact_question_tokens: Annotated[int, Field(gt=0)] = 3_000
    thread_budget_tokens: Annotated[int, Field(gt=0)] = 6_000
    # The least capable tier per channel, e.g. "C0PAYMENTS=large, C0SRE=medium".
    channel_min_tiers: str = ""
    # Whether `--model` may name a model outside the configured tiers.
    allow_any_model: bool = False
    # How long a thread's history read from Slack is reused (`conversations.replies` is
    # rate-limited hard for some apps).
    thread_cache_ttl_s: Annotated[int, Field(gt=0)] = 600
    # Channel policies, set by workspace admins in the bot's App Home: whether a channel
    # nobody set a policy for may use the bot; a Slack user group (S…) whose members may
    # change policies besides the workspace's admins and owners; how long a process keeps a
    # policy it read (seconds).
    channels_allowed_by_default: bool = True
    policy_admin_usergroup: str = ""
    channel_policy_cache_s: Annotated[float, Field(ge=0)] = 5.0
    # Answers carry a short "AI-generated" line under them.
    ai_disclosure: bool = True
    # Many workspaces: Slack's OAuth flow (/slack/install → /slack/oauth_redirect) keeps each
    # installation's token in the queue Redis. Set the app's client id and secret instead of
    # SLACK_BOT_TOKEN. The redirect URL defaults to the app's configured one, and Slack's
    # authorize page to slack.com's (the sandbox points it at its emulator). A rotating token
    # is refreshed this many minutes before it expires.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_oauth_redirect_uri: str | None = None
    slack_oauth_authorize_url: str | None = None
    slack_token_rotation_minutes: Annotated[int, Field(gt=0)] = 120

    # Jobs: timeout and retries of one answer; RQ's maintenance pass finds jobs of killed
    # workers (seconds).
    job_timeout_s: Annotated[int, Field(gt=0)] = 180
    job_retries: Annotated[int, Field(ge=0)] = 2
    worker_maintenance_interval_s: Annotated[int, Field(gt=0)] = 60
    worker_job_monitoring_interval_s: Annotated[int, Field(gt=0)] = 10

    # Jira.
    jira_url: str | None = None
    jira_user: str | None = None
    jira_api_token: SecretStr | None = None
    jira_webhook_secret: SecretStr | None = None
    # "basic": Jira Cloud, JIRA_USER an e-mail and JIRA_API_TOKEN an API token; "pat": Server or
    # Data Center, JIRA_API_TOKEN a personal access token sent as a bearer token.
    jira_auth: Literal["basic", "pat"] = "basic"
    # REST API 2 (bodies in wiki markup) or 3 (Jira Cloud only; bodies are ADF JSON documents).
    jira_api_version: Literal["2", "3"] = "2"
    # Project keys the bot may read and comment on, comma-separated; empty means every project.
    jira_projects: str = ""
    # When Jira is down or answers 429: attempts per call, and the longest wait between them.
    jira_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    jira_max_retry_wait_s: PositiveSeconds = 20.0
    jira_timeout_s: PositiveSeconds = 10.0
    # Who sees the bot's summary comment: empty (whoever sees the issue), "role:<project role>"
    # or "group:<group>" — a service desk keeps it from customers with e.g. role:Developers.
    jira_comment_visibility: Annotated[str, Field(pattern=r"^((role|group):\S.*)?$")] = ""
    # Comment authors folded into one line as bot noise: comma-separated names matched against
    # the author's name, ignoring case, spaces and punctuation.
    jira_noise_authors: str = "Automation for Jira, jenkins, PagerDuty, github-actions, argocd"
    # Webhook triggers: projects, labels and issue types (comma-separated; empty means any),
    # the webhook events that count, and how many new comments make a new summary worth it.
    jira_trigger_projects: str = ""
    jira_trigger_labels: str = ""
    jira_trigger_issue_types: str = ""
    jira_trigger_events: str = "jira:issue_created, comment_created"
    jira_trigger_min_new_comments: Annotated[int, Field(ge=1)] = 5
    # Triage of new issues: each issue created in JIRA_PROJECTS (the webhook's
    # jira:issue_created) gets a line in this Slack channel — what it is, how urgent, what is
    # missing — written in batches (BATCH_MAX_ITEMS, BATCH_MAX_WAIT_MS). Empty: off.
    # JIRA_TRIAGE_TEAM names the channel's workspace when the bot is installed in several.
    jira_triage_channel: Annotated[str, Field(pattern=r"^([CG][A-Z0-9_]{2,})?$")] = ""
    jira_triage_team: str = ""

    # Token windowing of long documents (Jira issues, long threads): the largest window a map
    # call reads, in tokens (smaller still if the model's context is), the share of a window
    # repeated from the one before, how many windows are mapped at once, how many partial
    # summaries one reduce call takes, and how long a window's summary is kept in the cache.
    window_tokens: Annotated[int, Field(ge=500)] = 6000
    window_overlap: Annotated[float, Field(ge=0, le=0.5)] = 0.1
    window_concurrency: Annotated[int, Field(ge=1, le=32)] = 4
    window_reduce_fan_in: Annotated[int, Field(ge=2)] = 8
    window_cache_ttl_s: Annotated[int, Field(gt=0)] = 30 * 24 * 3600

    # Batching of batchable work (templates that declare `batchable`): the most items one
    # flush takes, the longest an item waits for others (ms; RQ's scheduler checks each
    # second), how each backend runs a batch — "packed" into one call, or "concurrent"
    # requests the server batches on its GPU — and how many of those at once. A flush keeps
    # its items for `batch_flush_lease_s` without renewing (a dead flush's items go back after
    # that, at the next maintenance pass); an item whose flush failed this often is given up.
    batch_max_items: Annotated[int, Field(ge=1, le=50)] = 8
    batch_max_wait_ms: Annotated[int, Field(ge=0, le=600_000)] = 2_000
    batch_strategy_bedrock: Strategy = "packed"
    batch_strategy_ec2: Strategy = "concurrent"
    batch_concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    batch_flush_lease_s: Annotated[int, Field(ge=2)] = 30
    batch_max_attempts: Annotated[int, Field(ge=1, le=10)] = 3

    # Response caches (cache Redis). Its client gives up after this long: a slow or dead
    # cache is a miss, never a wait.
    cache_redis_timeout_s: PositiveSeconds = 0.25
    # How long an answer is reused, per task (seconds); 0 turns the cache off for that task.
    cache_ttl_ask_s: Annotated[int, Field(ge=0)] = 86_400
    cache_ttl_thread_s: Annotated[int, Field(ge=0)] = 3_600
    cache_ttl_dm_s: Annotated[int, Field(ge=0)] = 3_600
    cache_ttl_api_s: Annotated[int, Field(ge=0)] = 3_600
    # Questions about the present ("who is on call now?", "is X down?", "today") are kept
    # this long at most; 0: never cached.
    cache_ttl_present_s: Annotated[int, Field(ge=0)] = 60
    # The semantic cache (top-level questions only): on or off; the similarity a stored
    # question needs before the look-alike guards judge it; how many recent questions each
    # scope keeps; and the optional smallest-tier "same answer? yes/no" check of a candidate
    # (auto: on when a real model is configured).
    semantic_cache: bool = False
    # 0.75: on the labelled pairs (bench/cache_pairs.jsonl) the guards alone make no false
    # hit down to 0.65; the threshold only trades recall for the embedding's work.
    semantic_threshold: Annotated[float, Field(gt=0, le=1)] = 0.75
    semantic_capacity: Annotated[int, Field(gt=0, le=100_000)] = 2_000
    semantic_confirm: Literal["auto", "on", "off"] = "auto"
    # Embeddings for the semantic cache: wordllama (embedded, no service), bedrock (Titan Text
    # Embeddings V2) or ec2 (the server's /v1/embeddings); the model (default per backend),
    # dimensions (wordllama: up to 256; Titan: 256, 512 or 1024), and the longest wait before
    # the cache skips the request.
    embedding_backend: Literal["wordllama", "bedrock", "ec2"] = "wordllama"
    embedding_model: str | None = None
    embedding_dimensions: Annotated[int, Field(ge=64, le=1024, multiple_of=64)] = 256
    embedding_timeout_s: PositiveSeconds = 0.2

    # Cost engine: prices, ledger, budgets, the EC2 instance, the /llm-cost report.
    # A JSON price file of your own (negotiated prices); it extends the packaged catalog.
    pricing_file: Path | None = None
    ledger_retention_days: Annotated[int, Field(gt=0)] = 90
    # Daily caps in micro-USD (1 USD = 1,000,000); 0 means no cap.
    budget_user_daily_micro_usd: Annotated[int, Field(ge=0)] = 0
    budget_channel_daily_micro_usd: Annotated[int, Field(ge=0)] = 0
    budget_workspace_daily_micro_usd: Annotated[int, Field(ge=0)] = 0
    # What one call on a model with no per-token price (missing from the price list) counts
    # against budgets, reserved and settled: unpriced spend must not escape the caps.
    budget_unpriced_call_micro_usd: Annotated[int, Field(ge=0)] = 50_000
    # The self-hosted model's instance and when it runs: "always", or days and UTC hours
    # such as "mon-fri 07-19".
    ec2_instance_type: str = "g5.xlarge"
    ec2_schedule: str = "always"
    # The instances the bot starts and stops (the instance controller): ids, comma-separated,
    # and/or a tag Key=Value every one of them must carry (default chatops-bot=llm when only
    # ids are given). Neither set: no instance is controlled and none is charged by the hour.
    ec2_instance_ids: str = ""
    ec2_instance_tag: str = ""
    # The EC2 API endpoint (the sandbox's moto server); unset: AWS in AWS_REGION.
    ec2_endpoint_url: str | None = None
    # Each instance's OpenAI-compatible URL: "i-0abc=http://…/v1, …", else the template filled
    # from DescribeInstances ({instance_id}, {private_ip}, {public_ip}, {private_dns},
    # {public_dns}).
    ec2_llm_urls: str = ""
    ec2_llm_url_template: str = "http://{private_ip}:8000/v1"
    # Stop an instance after this many minutes without a request (outside EC2_SCHEDULE's
    # windows); a start whose model server has not answered after EC2_START_TIMEOUT_S is
    # stopped; more than EC2_SCALE_OUT_IN_FLIGHT requests in flight per ready instance for
    # EC2_SCALE_OUT_AFTER_S starts another, up to EC2_MAX_INSTANCES; a start or stop EC2
    # refused is tried again after EC2_RETRY_AFTER_S; the controller looks every
    # EC2_CONTROLLER_INTERVAL_S.
    ec2_idle_stop_min: Annotated[float, Field(gt=0)] = 30.0
    ec2_start_timeout_s: PositiveSeconds = 600.0
    ec2_scale_out_in_flight: Annotated[float, Field(gt=0)] = 4.0
    ec2_scale_out_after_s: Annotated[float, Field(ge=0)] = 60.0
    ec2_max_instances: Annotated[int, Field(ge=1)] = 1
    ec2_retry_after_s: PositiveSeconds = 300.0
    ec2_controller_interval_s: PositiveSeconds = 15.0
    # Slack user ids allowed to run /llm-ec2; empty: those of COST_REPORT_USERS.
    ec2_control_users: str = ""
    # Who sees LLM spend (/llm-cost): Slack user ids, comma-separated, and/or the members of a
    # Slack user group (its id, S…; read with usergroups.users.list). Nobody when all three are
    # empty: spend reports name people and channels. COST_REPORT_ADMINS may also see other
    # people's spend (`@someone`, the per-person breakdown).
    cost_report_users: str = ""
    cost_report_usergroup: str = ""
    cost_report_admins: str = ""
    # Which cost levers run: "all", "none" (the naive baseline), or some of
    # right_sizing, prompt_caching, batching.
    levers: str = "all"

    # The OpenAI-compatible API (`chatops api`), in micro-USD where money: the daily cap of a
    # token created without --daily-budget-usd and of each team (0: no cap); the largest
    # `max_tokens` a request may ask for (keep it within every tier model's output limit) and
    # what a request that names none gets; the most input tokens its messages may carry; and
    # the teams whose text is NOT redacted before it goes anywhere (comma-separated).
    api_token_daily_micro_usd: Annotated[int, Field(ge=0)] = 0
    api_team_daily_micro_usd: Annotated[int, Field(ge=0)] = 0
    api_max_output_tokens: Annotated[int, Field(gt=0)] = 4096
    api_default_max_tokens: Annotated[int, Field(gt=0)] = 1024
    api_max_input_tokens: Annotated[int, Field(gt=0)] = 32_000
    api_secret_redaction_off_teams: str = ""

    log_level: str = "INFO"

    @field_validator("tier_small", "tier_medium", "tier_large")
    @classmethod
    def _check_tier(cls, value: str) -> str:
        parse_routes(value)
        return value

    @field_validator("jira_trigger_events")
    @classmethod
    def _check_jira_events(cls, value: str) -> str:
        unknown = sorted(set(split_names(value)) - set(JIRA_WEBHOOK_EVENTS))
        if unknown:
            raise ValueError(
                f"unknown event(s) {', '.join(unknown)}; expected some of "
                f"{', '.join(JIRA_WEBHOOK_EVENTS)}"
            )
        return value

    @field_validator("channel_min_tiers")
    @classmethod
    def _check_channel_floors(cls, value: str) -> str:
        _channel_floors(value)
        return value

    @field_validator("levers")
    @classmethod
    def _check_levers(cls, value: str) -> str:
        parse_levers(value)
        return value

    @field_validator("ec2_schedule")
    @classmethod
    def _check_ec2_schedule(cls, value: str) -> str:
        Ec2Schedule.parse(value)
        return value

    @field_validator("default_tier")
    @classmethod
    def _check_default_tier(cls, value: str) -> str:
        if value not in TIER_NAMES:
            raise ValueError(f"expected one of {', '.join(TIER_NAMES)} (got {value!r})")
        return value

    @property
    def tiers(self) -> dict[str, tuple[Route, ...]]:
        specs = {"small": self.tier_small, "medium": self.tier_medium, "large": self.tier_large}
        return {name: parse_routes(spec) for name, spec in specs.items()}

    @property
    def channel_floors(self) -> dict[str, str]:
        """`CHANNEL_MIN_TIERS` as channel id → tier."""
        return _channel_floors(self.channel_min_tiers)

    @property
    def oauth_enabled(self) -> bool:
        """True when installs come through Slack's OAuth flow, one token per workspace."""
        return bool(self.slack_client_id and self.slack_client_secret)

    def redacts_secrets(self, team_id: str) -> bool:
        """Whether pasted secrets are replaced in this workspace's text: everywhere but the
        workspaces named in SECRET_REDACTION_OFF_TEAMS."""
        return team_id not in split_names(self.secret_redaction_off_teams)

    @property
    def lever_set(self) -> frozenset[str]:
        return parse_levers(self.levers)

    @property
    def batch_strategies(self) -> dict[str, Strategy]:
        """How each backend runs a batch: `packed` or `concurrent`."""
        return {"bedrock": self.batch_strategy_bedrock, "ec2": self.batch_strategy_ec2}

    @property
    def budget_caps(self) -> BudgetCaps:
        return BudgetCaps(
            user_micro_usd=self.budget_user_daily_micro_usd,
            channel_micro_usd=self.budget_channel_daily_micro_usd,
            workspace_micro_usd=self.budget_workspace_daily_micro_usd,
        )

    @property
    def has_model_credentials(self) -> bool:
        """False means: nothing points at a real model, so the CLI runs the local emulators."""
        return any(
            (
                self.aws_access_key_id,
                self.aws_profile,
                self.bedrock_endpoint_url,
                self.ec2_llm_base_url,
            )
        )


def _channel_floors(spec: str) -> dict[str, str]:
    floors = {}
    for entry in (part.strip() for part in spec.split(",") if part.strip()):
        channel, sep, tier = (piece.strip() for piece in entry.partition("="))
        if not sep or not channel or tier not in TIER_NAMES:
            raise ValueError(
                f"expected channel=tier[, channel=tier…] with tier one of "
                f"{', '.join(TIER_NAMES)} (got {entry!r})"
            )
        floors[channel] = tier
    return floors


def load_settings(**overrides: object) -> Settings:
    """Build `Settings`, turning a validation failure into one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "_".join(str(part) for part in error["loc"]).upper() or "SETTINGS"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from exc


__all__ = [
    "BACKEND_NAMES",
    "JIRA_WEBHOOK_EVENTS",
    "TIER_NAMES",
    "Settings",
    "load_settings",
    "parse_levers_spec",
    "parse_routes",
    "split_names",
]
