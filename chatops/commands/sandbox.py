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


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("sandbox", help="run one local emulator in the foreground")
    parser.add_argument("emulator", choices=sorted(EMULATORS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
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
