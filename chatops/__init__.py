"""The glue: `Settings`, the `chatops` command line, and wiring (clients built from settings).

May import `gateway`, `prompts` and, in the CLI and wiring only, the edges it starts
(`bot`, `workers`, `sandbox`). Importing this package has no side effects.
"""

__all__: list[str] = []
