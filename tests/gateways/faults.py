"""A small threaded HTTP proxy on 127.0.0.1 that forwards to moto and injects faults.

Each fault matches requests by a regular expression on "METHOD /path" and answers the
next ``times`` of them (every one with ``times=None``) in its own way:

* ``throttle``: 429 with AWS's TooManyRequestsException body and error-type header;
* ``error``: 500 with an internal-failure body;
* ``close``: the connection is closed without an answer;
* ``hold``: the request waits until ``release`` is set, then goes through;
* ``lose``: the request goes through, then the connection is closed without its answer
  (the gateway did the work; the client never heard);
* ``body``: the given JSON bytes instead of moto's answer, with ``status`` (200) and
  ``headers``.

Every request that reaches the proxy is logged in ``requests``, faults included, so a
test can compare what the client counted with what was sent; ``sent`` keeps each one's
headers and body too.
"""

import http.client
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


@dataclass
class Fault:
    pattern: str
    kind: str
    times: int | None = 1
    body: bytes = b""
    status: int = 200
    headers: dict | None = None
    hits: int = 0

    def matches(self, line: str) -> bool:
        return (self.times is None or self.hits < self.times) and bool(
            re.search(self.pattern, line)
        )


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format, *args):  # quiet: the tests read ``requests`` instead
        return

    def _handle(self) -> None:
        proxy = self.server.proxy
        line = f"{self.command} {urlsplit(self.path).path}"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = proxy.record(line, dict(self.headers.items()), body)
        if fault is None:
            self._forward(body)
        elif fault.kind == "throttle":
            self._answer(
                429,
                json.dumps({"message": "Too Many Requests"}).encode(),
                {"x-amzn-ErrorType": "TooManyRequestsException"},
            )
        elif fault.kind == "error":
            self._answer(
                500,
                json.dumps({"message": "Internal server error"}).encode(),
                {"x-amzn-ErrorType": "InternalFailure"},
            )
        elif fault.kind == "close":
            self.close_connection = True
        elif fault.kind == "lose":
            self._forward(body, answer=False)
            self.close_connection = True
        elif fault.kind == "hold":
            proxy.held.set()
            proxy.release.wait(timeout=60)
            self._forward(body)
        elif fault.kind == "body":
            self._answer(fault.status, fault.body, fault.headers or {})
        else:
            raise ValueError(f"unknown fault {fault.kind}")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def _answer(self, status: int, data: bytes, headers: dict) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _forward(self, body: bytes, *, answer: bool = True) -> None:
        upstream = urlsplit(self.server.proxy.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if not answer:
            return
        self._answer(
            response.status,
            data,
            {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP},
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: "FaultProxy"


class FaultProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.requests: list[str] = []
        self.sent: list[tuple[str, dict, bytes]] = []
        self.held = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "FaultProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def add(
        self,
        pattern: str,
        kind: str,
        *,
        times: int | None = 1,
        body: bytes = b"",
        status: int = 200,
        headers: dict | None = None,
    ) -> Fault:
        fault = Fault(
            pattern=pattern, kind=kind, times=times, body=body, status=status, headers=headers
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def record(self, line: str, headers: dict, body: bytes) -> Fault | None:
        """Log the request; the first fault that matches it (and is not used up), if any."""
        with self._lock:
            self.requests.append(line)
            self.sent.append((line, headers, body))
            for fault in self.faults:
                if fault.matches(line):
                    fault.hits += 1
                    return fault
        return None

    def count(self, pattern: str) -> int:
        with self._lock:
            return sum(1 for line in self.requests if re.search(pattern, line))
