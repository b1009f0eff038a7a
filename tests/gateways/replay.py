"""A small local HTTP server that answers with recorded responses and records
the requests it received: the gateway the adapter tests talk to.

    with ReplayServer() as server:
        server.add("GET", "/model/info", Reply.json_file(FIXTURES / "model_info.json"))
        ...
        server.requests  # what the adapter sent

Replies for one route are served in order and the last one repeats, so
``add(..., Reply(429), Reply.json(...))`` answers 429 once, then the body. A
reply may also be a function of the request (for conditional GETs).
"""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data, status: int = 200, **headers: str) -> "Reply":
        return cls(
            status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers}
        )

    @classmethod
    def json_file(cls, path: Path, status: int = 200) -> "Reply":
        return cls(status, path.read_bytes(), {"Content-Type": "application/json"})


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


Responder = Reply | Callable[[Received], Reply]


class ReplayServer:
    def __init__(self):
        self.routes: dict[tuple[str, str], list[Responder]] = {}
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                reply = server._next(received)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def add(self, method: str, path: str, *replies: Responder) -> None:
        with self._lock:
            self.routes[(method, path)] = list(replies)

    def _next(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            queue = self.routes.get((received.method, received.path))
            if not queue:
                return Reply.json({"error": "not recorded"}, status=404)
            responder = queue.pop(0) if len(queue) > 1 else queue[0]
        return responder(received) if callable(responder) else responder

    def received(self, method: str, path: str) -> list[Received]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def start(self) -> "ReplayServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
