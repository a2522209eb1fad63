"""Sentence embeddings for the semantic cache, behind one small protocol.

Three implementations, chosen by `EMBEDDING_BACKEND`:

    wordllama   the embedded default: 256-dimension static embeddings shipped inside the
                `wordllama` wheel; no service, no download; loaded once, lazily (`warm()`)
    bedrock     Amazon Titan Text Embeddings V2 through boto3 `invoke_model`
    ec2         the EC2 server's OpenAI-compatible `/v1/embeddings`, through the openai client

A backend that fails, or answers later than `EMBEDDING_TIMEOUT_S`, is skipped for that
request (`embed_within` returns None): the semantic cache then misses; nothing fails.
Vectors are float32 rows of unit length, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import openai
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from gateway.aws import aws_client
from gateway.errors import EmbeddingUnavailableError

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

TITAN_V2 = "amazon.titan-embed-text-v2:0"
DEFAULT_TIMEOUT_S = 0.2


class Embedder(Protocol):
    """Turns texts into unit-length float32 rows; raises `EmbeddingUnavailableError`."""

    # Names the model and its dimensions: vectors of different names are never compared.
    name: str

    def embed(self, texts: Sequence[str]) -> Vectors: ...

    def warm(self) -> None:
        """Load what the first call would (before a worker forks, say)."""


def _unit_rows(rows: Any) -> Vectors:
    matrix = np.asarray(rows, dtype=np.float32)
    if matrix.ndim != 2 or not matrix.shape[1]:
        raise EmbeddingUnavailableError(f"embedding of shape {matrix.shape}")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: Vectors = matrix / norms
    return unit


def _import_wordllama() -> Any:
    """Importing wordllama takes ~0.25 s (only a process that embeds pays it) and calls
    `logging.basicConfig(level=INFO)`: the process's own logging set-up is put back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import wordllama

    root.handlers[:] = handlers
    root.setLevel(level)
    return wordllama


class WordLlamaEmbedder:
    """The `wordllama` wheel's own weights (`WordLlama.load()` alone would look in the wrong
    folder and try the network)."""

    def __init__(self, dimensions: int = 256) -> None:
        self.dimensions = dimensions
        self.name = f"wordllama-{dimensions}"
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> WordLlamaEmbedder:
        return cls(min(int(settings.embedding_dimensions), 256))

    def warm(self) -> None:
        with self._lock:
            if self._model is None:
                wordllama = _import_wordllama()

                self._model = wordllama.WordLlama.load(
                    cache_dir=Path(wordllama.__file__).parent,
                    disable_download=True,
                    trunc_dim=self.dimensions if self.dimensions < 256 else None,
                )

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.warm()
        return _unit_rows(self._model.embed(list(texts), norm=True))


class TitanEmbedder:
    """Titan Text Embeddings V2: one `InvokeModel` call per text (it takes one input)."""

    def __init__(self, client: Any, model_id: str = TITAN_V2, dimensions: int = 256) -> None:
        self._client = client
        self.model_id = model_id
        self.dimensions = dimensions
        self.name = f"bedrock:{model_id}:{dimensions}"

    @classmethod
    def from_settings(cls, settings: Any) -> TitanEmbedder:
        timeout = settings.embedding_timeout_s
        config = Config(
            region_name=settings.aws_region,
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
        client = aws_client(
            settings,
            "bedrock-runtime",
            endpoint_url=settings.bedrock_endpoint_url,
            endpoint_setting="BEDROCK_ENDPOINT_URL",
            config=config,
        )
        return cls(client, settings.embedding_model or TITAN_V2, settings.embedding_dimensions)

    def warm(self) -> None:
        return None

    def embed(self, texts: Sequence[str]) -> Vectors:
        rows = []
        try:
            for text in texts:
                response = self._client.invoke_model(
                    modelId=self.model_id,
                    body=json.dumps({"inputText": text, "dimensions": self.dimensions}),
                    contentType="application/json",
                    accept="application/json",
                )
                rows.append(json.loads(response["body"].read())["embedding"])
        except (BotoCoreError, ClientError, KeyError, ValueError) as exc:
            raise EmbeddingUnavailableError(f"{self.name}: {type(exc).__name__}") from exc
        return _unit_rows(rows)


class OpenAIEmbedder:
    """Any OpenAI-compatible `/v1/embeddings` (vLLM, llama.cpp server, Ollama)."""

    def __init__(self, client: Any, model: str) -> None:
        self._client = client
        self.model = model
        self.name = f"ec2:{model}"

    @classmethod
    def from_settings(cls, settings: Any) -> OpenAIEmbedder:
        client = openai.OpenAI(
            base_url=settings.ec2_llm_base_url or "http://127.0.0.1:8000/v1",
            api_key=settings.ec2_llm_api_key.get_secret_value(),
            timeout=settings.embedding_timeout_s,
            max_retries=0,
        )
        return cls(client, settings.embedding_model or "text-embedding")

    def warm(self) -> None:
        return None

    def embed(self, texts: Sequence[str]) -> Vectors:
        try:
            response = self._client.embeddings.create(model=self.model, input=list(texts))
        except openai.OpenAIError as exc:
            raise EmbeddingUnavailableError(f"{self.name}: {type(exc).__name__}") from exc
        rows = [item.embedding for item in sorted(response.data, key=lambda item: item.index)]
        if len(rows) != len(texts):
            raise EmbeddingUnavailableError(f"{self.name}: {len(rows)} of {len(texts)} vectors")
        return _unit_rows(rows)


EMBEDDERS: dict[str, Any] = {
    "wordllama": WordLlamaEmbedder,
    "bedrock": TitanEmbedder,
    "ec2": OpenAIEmbedder,
}


def build_embedder(settings: Any) -> Embedder:
    embedder: Embedder = EMBEDDERS[settings.embedding_backend].from_settings(settings)
    return embedder


def embed_within(embedder: Embedder, text: str, budget_s: float) -> Vectors | None:
    """One unit vector (shape `(dims,)`), or None when the backend failed or took longer than
    `budget_s`: the caller treats that as a miss."""
    started = time.perf_counter()
    try:
        vector: Vectors = embedder.embed([text])[0]
    except EmbeddingUnavailableError as exc:
        log.warning("embedding_skipped embedder=%s reason=%s", embedder.name, exc)
        return None
    elapsed = time.perf_counter() - started
    if elapsed > budget_s:
        log.warning(
            "embedding_skipped embedder=%s reason=slow elapsed_ms=%.0f",
            embedder.name,
            elapsed * 1000,
        )
        return None
    return vector


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "EMBEDDERS",
    "TITAN_V2",
    "Embedder",
    "OpenAIEmbedder",
    "TitanEmbedder",
    "Vectors",
    "WordLlamaEmbedder",
    "build_embedder",
    "embed_within",
]
