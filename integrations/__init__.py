"""The edges to other people's systems that are not Slack: today, Jira (`integrations.jira`).

Owns clients over foreign libraries and the pure parsing around them; maps their errors into
the tree of `gateway.errors` where they enter. May import `gateway`, `prompts` and
`chatops.settings` / `chatops.messages`; must not import `bot`, `workers` or `sandbox`.
"""

__all__: list[str] = []
