"""`chatops sandbox bedrock|openai|slack|jira --port N`: run one emulator in the foreground."""

from __future__ import annotations

import argparse
import importlib
import sys

# name → (module, class): imported on use so `chatops --help` stays fast.
EMULATORS = {
    "bedrock": ("sandbox.bedrock", "BedrockEmulator"),
    "openai": ("sandbox.openai_compat", "OpenAICompatEmulator"),
    "slack": ("sandbox.slack", "SlackEmulator"),
    "jira": ("sandbox.jira", "JiraEmulator"),
}


DESCRIPTION = """\
Run one offline emulator in the foreground, to point a real client at it: the Slack Web
API, the Bedrock runtime (ConverseStream with AWS event-stream framing), an OpenAI-compatible
model server (as vLLM or llama.cpp serve it) or Jira's REST API. It prints its URL; Ctrl-C
stops it. `chatops up` starts all four for you."""

EXAMPLES = """\
Examples:
  chatops sandbox bedrock --port 4010
  BEDROCK_ENDPOINT_URL=http://127.0.0.1:4010 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x \\
    chatops ask "hello"
  chatops sandbox openai --port 8000          then EC2_LLM_BASE_URL=http://127.0.0.1:8000/v1"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run one local emulator in the foreground",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    parser.add_argument("emulator", choices=sorted(EMULATORS), help="which service to emulate")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--port", type=int, default=0, help="the port; 0 picks a free one")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    module_name, class_name = EMULATORS[args.emulator]
    emulator_class = getattr(importlib.import_module(module_name), class_name)
    server = emulator_class(host=args.host, port=args.port)
    print(f"{args.emulator} emulator listening on {server.url}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
