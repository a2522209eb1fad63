"""Offline model emulators for a machine with no model credentials: start them on loopback
and point a copy of the settings at them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import SecretStr

from chatops.settings import Settings


@contextmanager
def local_models(settings: Settings) -> Iterator[Settings]:
    from sandbox.bedrock import BedrockEmulator
    from sandbox.openai_compat import OpenAICompatEmulator

    ec2_models = tuple(
        sorted(
            {r.model for routes in settings.tiers.values() for r in routes if r.backend == "ec2"}
        )
    )
    bedrock = BedrockEmulator().start()
    ec2 = OpenAICompatEmulator(models=ec2_models).start()
    try:
        yield settings.model_copy(
            update={
                "bedrock_endpoint_url": bedrock.url,
                "ec2_llm_base_url": f"{ec2.url}/v1",
                # Explicit dummy keys: boto3 must never look for real credentials (or ask
                # the EC2 metadata service) to sign a request for a local emulator.
                "aws_access_key_id": "sandbox",
                "aws_secret_access_key": SecretStr("sandbox"),
            }
        )
    finally:
        bedrock.stop()
        ec2.stop()


__all__ = ["local_models"]
