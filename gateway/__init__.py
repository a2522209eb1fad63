"""The cost engine: everything between a job and a model.

Owns request and usage types, the error tree, the backends (Bedrock ConverseStream and the
OpenAI-compatible EC2 server), failover between them, and — as they land — routing,
compaction, caches, windowing, batching, pricing, the ledger and budgets.

Must not import Slack, Jira or RQ code, nor `bot`, `integrations` or `workers`.
"""

from gateway.errors import ChatOpsError
from gateway.gateway import Gateway
from gateway.types import Completion, LLMRequest, Message, Route, Usage

__all__ = ["ChatOpsError", "Completion", "Gateway", "LLMRequest", "Message", "Route", "Usage"]
