"""`chatops sandbox NAME --port N`: one emulator in the foreground, reachable by the real client."""

from __future__ import annotations

import os
import subprocess
import sys

import boto3
import openai
import pytest
from botocore.config import Config

from chatops.stack import free_port


def _serve(name: str, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "chatops.cli", "sandbox", name, "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith(f"{name} emulator listening on http://127.0.0.1:{port}"), line
    return process


@pytest.mark.parametrize("name", ["bedrock", "openai"])
def test_sandbox_serves_one_emulator_on_the_given_port(name: str) -> None:
    port = free_port()
    process = _serve(name, port)
    try:
        if name == "bedrock":
            client = boto3.client(
                "bedrock-runtime",
                endpoint_url=f"http://127.0.0.1:{port}",
                region_name="us-east-1",
                aws_access_key_id="x",
                aws_secret_access_key="y",
                config=Config(retries={"total_max_attempts": 1}),
            )
            reply = client.converse(
                modelId="amazon.nova-micro-v1:0",
                messages=[{"role": "user", "content": [{"text": "hello"}]}],
            )
            text = reply["output"]["message"]["content"][0]["text"]
            client.close()
        else:
            with openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x") as api:
                answer = api.chat.completions.create(
                    model="llama-3.1-8b-instruct",
                    messages=[{"role": "user", "content": "hello"}],
                )
            text = answer.choices[0].message.content or ""
        assert text.startswith("[offline emulator · ")
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stderr is not None
        process.stderr.close()
