"""`app_uninstalled` and `tokens_revoked`: a workspace (or org) the bot no longer serves.
Its installation, data and queued jobs are dropped (`bot.uninstall`); people's own tokens
revoked alone change nothing for the bot (it asks for none)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.deps import BotDeps
from bot.uninstall import forget_installation


def register(app: App, deps: BotDeps) -> None:
    @app.event("app_uninstalled")
    def handle_uninstalled(context: BoltContext) -> None:
        forget(deps, context)

    @app.event("tokens_revoked")
    def handle_tokens_revoked(event: dict[str, Any], context: BoltContext) -> None:
        tokens = event.get("tokens") or {}
        for user in tokens.get("oauth") or []:
            deps.installations.delete_installation(
                enterprise_id=context.enterprise_id, team_id=context.team_id, user_id=user
            )
        if tokens.get("bot"):
            forget(deps, context)


def forget(deps: BotDeps, context: BoltContext) -> None:
    org_wide = bool(context.is_enterprise_install)
    forget_installation(deps, context.enterprise_id, context.team_id, org_wide=org_wide)
