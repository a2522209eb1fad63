"""boto3 clients built from settings, in one place: the session (profile, keys, region) and the
set-up errors botocore finds while building it, each turned into one line naming the setting —
a missing profile, half a key pair, a malformed endpoint — never a traceback."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ProfileNotFound

from gateway.errors import ConfigError


def aws_client(
    settings: Any, service: str, *, endpoint_url: str | None, endpoint_setting: str, config: Config
) -> Any:
    """boto3's `service` client for `settings` (`endpoint_setting` names the variable behind
    `endpoint_url`, for the error line)."""
    secret = settings.aws_secret_access_key
    token = settings.aws_session_token
    if bool(settings.aws_access_key_id) != bool(secret):
        missing = "AWS_ACCESS_KEY_ID" if secret else "AWS_SECRET_ACCESS_KEY"
        raise ConfigError(
            f"{missing}: not set; AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together"
        )
    try:
        session = boto3.session.Session(
            profile_name=settings.aws_profile,
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            aws_session_token=token.get_secret_value() if token else None,
            region_name=settings.aws_region,
        )
        return session.client(service, endpoint_url=endpoint_url, config=config)
    except ProfileNotFound as exc:
        raise ConfigError(
            f"AWS_PROFILE: no profile {settings.aws_profile!r} in the AWS config or"
            " credentials files (~/.aws/config, ~/.aws/credentials)"
        ) from exc
    except ValueError as exc:  # botocore's word for a malformed endpoint URL
        raise ConfigError(f"{endpoint_setting}: {exc}") from exc
    except BotoCoreError as exc:
        raise ConfigError(f"AWS_PROFILE, AWS_REGION or ~/.aws: {exc}") from exc


__all__ = ["aws_client"]
