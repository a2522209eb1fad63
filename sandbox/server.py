"""The HTTP server every emulator builds on: loopback, port 0, a thread per request, a request
log tests can read, and a queue of scripted faults.

An emulator subclasses `EmulatorServer` and registers routes as `(method, regex) → handler`.
Handlers get an `Exchange` and answer through it. `/_sandbox/requests` (GET) and
`/_sandbox/faults` (POST) expose the log and the fault queue to a process that did not start
the emulator (`chatops sandbox …`).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

# How often serve_forever checks for shutdown: stopping an emulator takes at most this long.
POLL_INTERVAL_S = 0.02


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (or a fault that cut the connection) is not an error here."""
        if not isinstance(sys.exc_info()[1], ConnectionError | OSError):
            super().handle_error(request, client_address)


@dataclass
class Fault:
    """One scripted failure, consumed by the next request whose path matches `path`.

    kind: `throttle` (429), `error` (5xx), `cut` (drop the connection after `after` deltas),
    or an emulator-specific kind such as Slack's `ratelimited`.
    """

    kind: str
    path: str = ""
    after: int = 0
    status: int = 0
    retry_after: int = 1
    times: int = 1


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.time)


class Exchange:
    """One request and the means to answer it."""

    def __init__(self, handler: BaseHTTPRequestHandler, match: re.Match[str], body: Any) -> None:
        self.handler = handler
        self.match = match
        self.body = body
        split = urlsplit(handler.path)
        self.path = unquote(split.path)
        self.query = parse_qs(split.query)
        self.headers = {k.lower(): v for k, v in handler.headers.items()}

    def param(self, name: str) -> str:
        return unquote(self.match.group(name))

    def send_json(
        self, payload: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", "application/json")
        self.handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.handler.send_header(name, value)
        self.handler.end_headers()
        self.handler.wfile.write(data)

    def start_chunked(self, content_type: str) -> None:
        self.handler.send_response(200)
        self.handler.send_header("Content-Type", content_type)
        self.handler.send_header("Transfer-Encoding", "chunked")
        self.handler.end_headers()

    def write_chunk(self, data: bytes) -> None:
        self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.handler.wfile.flush()

    def end_chunked(self) -> None:
        self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def cut(self) -> None:
        """Drop the connection mid-response, as a crashed server or a network fault would."""
        self.handler.close_connection = True
        self.handler.wfile.flush()
        self.handler.connection.shutdown(2)


Handler = Callable[[Exchange], None]


class EmulatorServer:
    name = "emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.route("GET", r"/_sandbox/requests", self._list_requests)
        self.route("POST", r"/_sandbox/faults", self._add_fault)
        self._host = host
        self._httpd = _QuietServer((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._httpd.server_port}"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            args=(POLL_INTERVAL_S,),
            name=f"{self.name}-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (`chatops sandbox …`) until interrupted."""
        self._httpd.serve_forever(POLL_INTERVAL_S)

    def stop(self) -> None:
        # shutdown() waits for serve_forever to notice; never started, it would wait forever.
        if self._thread is not None:
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routes, faults, log -----------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(pattern + r"$"), handler))

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, path: str, kinds: tuple[str, ...] | None = None) -> Fault | None:
        """The next scripted fault for this path (and of one of `kinds`, if given), if any.

        Each fault fires `times` times.
        """
        with self._lock:
            for fault in self._faults:
                if fault.path in path and (kinds is None or fault.kind in kinds):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def requests_to(self, path_part: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    def _list_requests(self, ex: Exchange) -> None:
        with self._lock:
            ex.send_json([asdict(r) for r in self.requests if not r.path.startswith("/_sandbox")])

    def _add_fault(self, ex: Exchange) -> None:
        self.inject(Fault(**ex.body))
        ex.send_json({"ok": True})

    # -- HTTP plumbing -----------------------------------------------------------------------

    def parse_body(self, raw: bytes, content_type: str) -> Any:
        if not raw:
            return {}
        if "json" in content_type:
            return json.loads(raw)
        if "x-www-form-urlencoded" in content_type:
            return {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        return raw.decode(errors="replace")

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = unquote(urlsplit(handler.path).path)
        body = self.parse_body(raw, handler.headers.get("Content-Type", ""))
        for method, pattern, route_handler in self._routes:
            if method != handler.command:
                continue
            match = pattern.match(path)
            if match is None:
                continue
            exchange = Exchange(handler, match, body)
            if not path.startswith("/_sandbox"):
                with self._lock:
                    self.requests.append(
                        RecordedRequest(
                            handler.command, path, exchange.query, exchange.headers, body
                        )
                    )
            route_handler(exchange)
            return
        data = json.dumps({"message": f"no route for {handler.command} {path}"}).encode()
        handler.send_response(404)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Each stream chunk goes out at once: with Nagle on, small writes wait for the
            # client's delayed ACK (~40 ms), which no real endpoint adds.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                server._dispatch(self)

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return _Handler


__all__ = ["EmulatorServer", "Exchange", "Fault", "RecordedRequest"]
