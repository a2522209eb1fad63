"""Embeddings through the real clients against the emulators: Titan Text Embeddings V2 with
boto3 `invoke_model`, the EC2 server's `/v1/embeddings` with the openai client; a backend
that fails or is slow is skipped (a miss), never an error."""

from __future__ import annotations

import time

import numpy as np
import pytest

from chatops.settings import Settings
from gateway.embeddings import OpenAIEmbedder, TitanEmbedder, build_embedder, embed_within
from gateway.errors import EmbeddingUnavailableError
from sandbox.bedrock import BedrockEmulator
from sandbox.llm import Pace
from sandbox.openai_compat import EMBEDDING_DIMENSIONS, OpenAICompatEmulator
from sandbox.server import Fault
from tests.conftest import free_port

TEXTS = ["how do I rotate the staging DB password?", "who owns the billing-events topic?"]


def test_titan_v2_through_boto3(settings: Settings, bedrock_emulator: BedrockEmulator) -> None:
    embedder = build_embedder(settings.model_copy(update={"embedding_backend": "bedrock"}))
    assert isinstance(embedder, TitanEmbedder)
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (2, 256)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(embedder.embed(TEXTS[:1])[0], vectors[0])
    sent = bedrock_emulator.requests_to("/invoke")
    assert [r.path for r in sent][:1] == ["/model/amazon.titan-embed-text-v2:0/invoke"]
    assert sent[0].body == {"inputText": TEXTS[0], "dimensions": 256}


def test_titan_v2_dimensions_follow_the_setting(settings: Settings) -> None:
    update = {"embedding_backend": "bedrock", "embedding_dimensions": 1024}
    embedder = build_embedder(settings.model_copy(update=update))
    assert embedder.embed(TEXTS).shape == (2, 1024)
    assert embedder.name == "bedrock:amazon.titan-embed-text-v2:0:1024"


def test_ec2_embeddings_through_the_openai_client(
    settings: Settings, openai_emulator: OpenAICompatEmulator
) -> None:
    update = {"embedding_backend": "ec2", "embedding_model": "nomic-embed-text"}
    embedder = build_embedder(settings.model_copy(update=update))
    assert isinstance(embedder, OpenAIEmbedder)
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (2, EMBEDDING_DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert openai_emulator.requests_to("/v1/embeddings")[0].body["model"] == "nomic-embed-text"


def test_a_failing_titan_is_skipped(settings: Settings, bedrock_emulator: BedrockEmulator) -> None:
    embedder = build_embedder(settings.model_copy(update={"embedding_backend": "bedrock"}))
    for kind in ("throttle", "error"):
        bedrock_emulator.inject(Fault(kind, path="/invoke"))
        with pytest.raises(EmbeddingUnavailableError):
            embedder.embed(TEXTS[:1])
        bedrock_emulator.inject(Fault(kind, path="/invoke"))
        assert embed_within(embedder, TEXTS[0], budget_s=1.0) is None
    assert embed_within(embedder, TEXTS[0], budget_s=1.0) is not None


def test_a_slow_titan_is_skipped_within_the_timeout(
    settings: Settings, bedrock_emulator: BedrockEmulator
) -> None:
    update = {"embedding_backend": "bedrock", "embedding_timeout_s": 0.2}
    embedder = build_embedder(settings.model_copy(update=update))
    bedrock_emulator.pace = Pace(ttft_ms=1_000)
    started = time.monotonic()
    assert embed_within(embedder, TEXTS[0], budget_s=0.2) is None
    assert time.monotonic() - started < 0.9


def test_an_unreachable_ec2_server_is_skipped(settings: Settings) -> None:
    update = {
        "embedding_backend": "ec2",
        "ec2_llm_base_url": f"http://127.0.0.1:{free_port()}/v1",
    }
    embedder = build_embedder(settings.model_copy(update=update))
    started = time.monotonic()
    assert embed_within(embedder, TEXTS[0], budget_s=0.2) is None
    assert time.monotonic() - started < 1.0
