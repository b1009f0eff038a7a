"""Real Celery worker processes for tests marked ``worker``: the test database, the test
broker and a queue of the test's own, so that nothing another run left on the broker can
answer for it."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

from portal.celery import app as celery_app


def database_url() -> str:
    """The test database as a URL, for a worker's environment."""
    db = settings.DATABASES["default"]
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{credentials}{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"


def new_queue(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def drop_queue(queue: str) -> None:
    """The queue, and any message a killed worker left unacknowledged for it."""
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        channel.queue_delete(queue)
        client = getattr(channel, "client", None)
        if client is None:
            return
        for tag, payload in client.hgetall("unacked").items():
            try:
                _, _, routing_key = json.loads(payload)
            except (ValueError, TypeError):
                continue
            if routing_key == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


class Worker:
    """One solo-pool worker consuming ``queue``, its output appended to ``log_path``.
    ``env`` adds to the environment; ``name`` is unique, so that two workers may share a
    queue one after the other."""

    def __init__(
        self, queue: str, log_path: Path, *, loglevel: str = "WARNING", env: dict | None = None
    ):
        self.queue, self.log_path, self.loglevel = queue, log_path, loglevel
        self.env = env or {}
        self.name = f"{queue}-{uuid.uuid4().hex[:4]}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTICO_ENV": "development",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": celery_app.conf.broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "LOG_LEVEL": self.loglevel,
            **self.env,
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo",
                 "--without-mingle", "--without-gossip", f"--loglevel={self.loglevel}",
                 "-Q", self.queue, "-n", f"{self.name}@%h"],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def wait_for(self, condition, *, what: str, seconds: float, interval: float = 0.2):
        """``condition()``'s first true value; fails as soon as the worker exits, or after
        ``seconds``, with the end of the worker's log."""
        deadline = time.monotonic() + seconds
        while True:
            value = condition()
            if value:
                return value
            log = self.log()[-3000:]
            assert self.alive(), f"the worker exited:\n{log}"
            assert time.monotonic() < deadline, f"{what}: not within {seconds} s\n{log}"
            time.sleep(interval)
