"""A real Celery worker process, a real broker, the test database."""

import json
import uuid

import pytest
from django.conf import settings

from portal import observability
from portal.models import WorkerHeartbeat
from portal.tasks import heartbeat
from tests.workers import Worker, drop_queue, new_queue

DEADLINE_SECONDS = 90


@pytest.mark.worker
def test_worker_runs_heartbeat_with_the_request_id_behind_it(
    transactional_db, enqueue_for_real, tmp_path
):
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    queue = new_queue()
    request_id = f"req-{uuid.uuid4().hex}"
    worker = Worker(queue, tmp_path / "worker.log", loglevel="INFO", env={"LOG_FORMAT": "json"})
    worker.start()
    try:
        token = observability._request_id.set(request_id)
        try:
            heartbeat.apply_async(queue=queue)
        finally:
            observability._request_id.reset(token)

        beat = worker.wait_for(
            lambda: WorkerHeartbeat.objects.filter(name__startswith=f"{worker.name}@").first(),
            what="a heartbeat",
            seconds=DEADLINE_SECONDS,
        )
        assert beat.request_id == request_id
        # The task's own log line lands just after its row; wait for it the same way.
        task_lines = worker.wait_for(
            lambda: [
                line
                for line in map(_json, worker.log().splitlines())
                if line and line["logger"] == "portal.tasks" and beat.name in line["message"]
            ],
            what="the task's log line",
            seconds=DEADLINE_SECONDS,
        )
        assert all(line["request_id"] == request_id for line in task_lines)
    finally:
        worker.stop()
        drop_queue(queue)


def _json(line: str) -> dict | None:
    try:
        value = json.loads(line)
    except ValueError:  # the worker's banner and other plain lines
        return None
    return value if isinstance(value, dict) and "logger" in value else None
