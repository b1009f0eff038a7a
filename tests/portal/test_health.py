import socket

import pytest
from django.utils import timezone

from portal.celery import app as celery_app
from portal.models import WorkerHeartbeat


def _closed_port() -> int:
    # Bound then closed at once: nothing listens there while the test runs.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down():
    # The write URL is what enqueuing (and so the probe) uses; unlike broker_url
    # it is not overridden by the CELERY_BROKER_URL environment variable.
    original = celery_app.conf.get("broker_write_url")
    celery_app.conf.broker_write_url = f"redis://127.0.0.1:{_closed_port()}/0"
    yield
    celery_app.conf.broker_write_url = original


def test_healthz_answers_without_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_unavailable_when_the_broker_does_not_answer(client, db, broker_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"database": "ok", "broker": "unreachable"}
    assert body["message"] == "The Celery broker does not answer."


def test_readyz_shows_the_last_worker_heartbeat_without_judging_it(client, db):
    assert client.get("/readyz").json()["worker"] == {
        "last_heartbeat": None,
        "name": None,
        "age_seconds": None,
    }
    long_ago = timezone.now() - timezone.timedelta(days=3)
    WorkerHeartbeat.objects.create(name="celery@old", last_seen=long_ago)
    WorkerHeartbeat.objects.create(name="celery@new", last_seen=timezone.now())

    response = client.get("/readyz")

    assert response.status_code == 200
    worker = response.json()["worker"]
    assert worker["name"] == "celery@new"
    assert 0 <= worker["age_seconds"] < 60
