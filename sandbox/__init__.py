"""Local emulators that speak the real wire protocols: Bedrock runtime (AWS event-stream
framing), an OpenAI-compatible LLM server, the Slack Web API and Jira REST v2.

Each is a real HTTP server on loopback that tests and `chatops sandbox …` start; each records
what it received and takes scripted failures. Imports nothing of ours but `gateway.tokens`
(so emulated token counts and the gateway's local estimate are one rule).
"""

from sandbox.server import EmulatorServer, Fault

__all__ = ["EmulatorServer", "Fault"]
