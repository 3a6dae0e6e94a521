"""A fault-injecting HTTP proxy for the S3 tests: 127.0.0.1 in front of the moto server.

In: the upstream URL and a fault plan. Out: `FaultProxy.url`, an endpoint that forwards every
request upstream, except that the plan picks some to fail, and `injected`, the faults by kind:

    error      reply 503 SlowDown without forwarding (the server never saw the request)
    delay      wait `delay_s`, then forward
    lost_put   forward a PUT, then reply 500 instead of the server's answer (the write
               happened, the client does not know)

The plan is deterministic: `every_nth(n)` fails every n-th request, cycling through the kinds
(a `lost_put` that falls on another method becomes an `error`); `lose_every_nth_put(n)` loses
the reply of every n-th PUT; `lose_puts_to(suffix)` loses the reply of the first PUT to each
path ending in `suffix`; `first_of` combines plans.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

KINDS = ("error", "delay", "lost_put")
# A fault plan: (request number from 1, method, path) -> the fault kind, or None.
Plan = Callable[[int, str, str], str | None]
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding"}
_ERROR = b"<Error><Code>{code}</Code><Message>injected fault</Message></Error>"


def every_nth(n: int, kinds: tuple[str, ...] = KINDS) -> Plan:
    """Fail every `n`-th request, cycling through `kinds`."""

    def plan(number: int, method: str, path: str) -> str | None:
        if number % n:
            return None
        kind = kinds[(number // n) % len(kinds)]
        return "error" if kind == "lost_put" and method != "PUT" else kind

    return plan


def lose_every_nth_put(n: int) -> Plan:
    """Lose the reply of every `n`-th PUT."""
    puts = 0

    def plan(number: int, method: str, path: str) -> str | None:
        nonlocal puts
        if method != "PUT":
            return None
        puts += 1
        return None if puts % n else "lost_put"

    return plan


def lose_puts_to(suffix: str) -> Plan:
    """Lose the reply of the first PUT to each path ending in `suffix`."""
    seen: set[str] = set()

    def plan(number: int, method: str, path: str) -> str | None:
        if method != "PUT" or not path.split("?")[0].endswith(suffix) or path in seen:
            return None
        seen.add(path)
        return "lost_put"

    return plan


def first_of(*plans: Plan) -> Plan:
    """The first fault any of `plans` picks (each plan still sees every request)."""

    def plan(number: int, method: str, path: str) -> str | None:
        kinds = [each(number, method, path) for each in plans]
        return next((kind for kind in kinds if kind is not None), None)

    return plan


class FaultProxy:
    """The proxy server, run on a daemon thread; use as a context manager."""

    def __init__(self, upstream: str, plan: Plan, delay_s: float = 0.05) -> None:
        target = urlparse(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.plan = plan
        self.delay_s = delay_s
        self.injected: Counter[str] = Counter()
        self.requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def decide(self, method: str, path: str) -> str | None:
        with self._lock:
            self.requests += 1
            kind = self.plan(self.requests, method, path)
            if kind is not None:
                self.injected[kind] += 1
            return kind

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the test output is for failures

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                kind = proxy.decide(self.command, self.path)
                if kind == "error":
                    return self._reply(503, _ERROR.replace(b"{code}", b"SlowDown"))
                if kind == "delay":
                    time.sleep(proxy.delay_s)
                status, headers, data = self._forward(body)
                if kind == "lost_put":
                    return self._reply(500, _ERROR.replace(b"{code}", b"InternalError"))
                self._reply(status, data, headers)

            def _forward(self, body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
                connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    kept = [
                        (k, v) for k, v in response.getheaders() if k.lower() not in _HOP_HEADERS
                    ]
                    return response.status, kept, data
                finally:
                    connection.close()

            def _reply(
                self, status: int, data: bytes, headers: list[tuple[str, str]] | None = None
            ) -> None:
                self.send_response(status)
                headers = headers or [("Content-Type", "application/xml")]
                if self.command == "HEAD":
                    # A HEAD reply carries the object's length and no body.
                    for key, value in headers:
                        self.send_header(key, value)
                    self.end_headers()
                    return
                for key, value in headers:
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler
