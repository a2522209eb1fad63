"""A workspace (or an Enterprise Grid org) that uninstalled the app, or revoked its bot token:
its installation, its channels' policies and daily digests, and its queued jobs are dropped,
and nothing of it is left to run. Other workspaces are untouched.

A job already running when this happens finds no installation and stops with one log line
(`workers.installations`).
"""

from __future__ import annotations

import logging

from bot.deps import BotDeps
from chatops.installations import installation_id
from gateway import keys

log = logging.getLogger(__name__)


def forget_installation(
    deps: BotDeps, enterprise_id: str | None, team_id: str | None, *, org_wide: bool
) -> int:
    """Drop everything of the installation; how many queued jobs were dropped."""
    store = deps.installations
    teams = set(store.org_members(enterprise_id)) if org_wide and enterprise_id else set()
    if team_id and not org_wide:
        teams.add(team_id)
    store.delete_all(enterprise_id=enterprise_id, team_id=None if org_wide else team_id)
    channels: list[str] = []
    for team in sorted(teams):
        channels += deps.policies.drop_team(team)
    if channels:
        deps.redis.delete(*(keys.digest_schedules(channel) for channel in channels))
    dropped = deps.jobs.drop_team_jobs(
        frozenset(teams), enterprise_id if org_wide or not team_id else None
    )
    log.info(
        "installation_forgotten installation=%s teams=%s channels=%d jobs_dropped=%d",
        installation_id(enterprise_id, None if org_wide else team_id),
        ",".join(sorted(teams)) or "-",
        len(channels),
        dropped,
    )
    return dropped


__all__ = ["forget_installation"]
