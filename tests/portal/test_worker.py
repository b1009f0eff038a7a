"""A real Celery worker process, a real broker, the test database."""

import json
import os
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import pytest
from django.conf import settings

from portal import observability
from portal.celery import app as celery_app
from portal.models import WorkerHeartbeat
from portal.tasks import heartbeat

DEADLINE_SECONDS = 90


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{credentials}{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def enqueue_for_real():
    """Send tasks to the broker instead of running them in the test process."""
    original = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = original


@pytest.mark.worker
def test_worker_runs_heartbeat_with_the_request_id_behind_it(
    transactional_db, enqueue_for_real, tmp_path
):
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    # A queue of its own: nothing left on the broker by other runs can answer for it.
    queue = f"test-{uuid.uuid4().hex[:12]}"
    request_id = f"req-{uuid.uuid4().hex}"
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTICO_ENV": "development",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": celery_app.conf.broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        token = observability._request_id.set(request_id)
        try:
            heartbeat.apply_async(queue=queue)
        finally:
            observability._request_id.reset(token)

        beat = None
        deadline = time.monotonic() + DEADLINE_SECONDS
        while beat is None:
            assert worker.poll() is None, f"worker exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"no heartbeat:\n{log_path.read_text()}"
            beat = WorkerHeartbeat.objects.filter(name__startswith=f"{queue}@").first()
            if beat is None:
                time.sleep(0.2)

        assert beat.request_id == request_id
        # The task's own log line lands just after its row; wait for it the same way.
        while True:
            lines = [_json(line) for line in log_path.read_text().splitlines()]
            task_lines = [
                line
                for line in lines
                if line and line["logger"] == "portal.tasks" and beat.name in line["message"]
            ]
            if task_lines or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert task_lines, log_path.read_text()
        assert all(line["request_id"] == request_id for line in task_lines)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def _json(line: str) -> dict | None:
    try:
        value = json.loads(line)
    except ValueError:  # the worker's banner and other plain lines
        return None
    return value if isinstance(value, dict) and "logger" in value else None
