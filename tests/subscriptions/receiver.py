"""A webhook receiver on 127.0.0.1 for the tests: it records each POST (headers and raw
body) and answers with the next status of ``statuses`` (the last one repeats)."""

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class Receiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.received: list[Delivery] = []
        self.statuses: list[int] = [204]
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                delivery = Delivery(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                status = receiver._record(delivery)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _record(self, delivery: Delivery) -> int:
        with self._lock:
            self.received.append(delivery)
            return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def at(self, path: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.received if d.path == path]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def start(self) -> "Receiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
