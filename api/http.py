"""`chatops api` under gunicorn: its own process, served as the bot is (`bot.http`).

gthread workers: a streamed answer holds its thread while the model writes, so threads are
the unit of concurrency. The app is built in each worker after the fork (`load`), so no
socket, Redis pool or boto3 client crosses a fork.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from api.app import ApiApp, build_app
from chatops.settings import Settings


class ApiServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, bind: str, workers: int, threads: int) -> None:
        self._settings = settings
        self._options = {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
            # The workers' heartbeat, not a request's limit: a long stream keeps its thread.
            "timeout": 30,
            "graceful_timeout": 10,
            "keepalive": 5,
        }
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)
        # gunicorn 27 opens a control socket at one default path per user: the bot's and the
        # API's would contend for it, and neither uses it. Older releases have none.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> ApiApp:
        return build_app(self._settings)


__all__ = ["ApiServer"]
