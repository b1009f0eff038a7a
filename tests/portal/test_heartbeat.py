import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from portal import observability
from portal.models import WorkerHeartbeat
from portal.schedule import periodic_tasks_install
from portal.tasks import heartbeat


@pytest.fixture
def request_id():
    token = observability._request_id.set("req-heartbeat-0001")
    yield "req-heartbeat-0001"
    observability._request_id.reset(token)


def test_heartbeat_records_the_worker_and_the_request_behind_it(db, request_id):
    heartbeat.delay()

    beat = WorkerHeartbeat.objects.get()
    assert beat.request_id == request_id


def test_heartbeat_updates_the_same_row(db):
    heartbeat.delay()
    first = WorkerHeartbeat.objects.get()
    heartbeat.delay()

    second = WorkerHeartbeat.objects.get()
    assert second.pk == first.pk
    assert second.last_seen > first.last_seen


def test_heartbeat_is_scheduled_every_minute_once(db):
    periodic_tasks_install()
    periodic_tasks_install()

    task = PeriodicTask.objects.get(task="portal.tasks.heartbeat")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (60, IntervalSchedule.SECONDS)


def test_install_keeps_an_operators_changes(db):
    periodic_tasks_install()
    PeriodicTask.objects.filter(task="portal.tasks.heartbeat").update(enabled=False)

    periodic_tasks_install()

    assert PeriodicTask.objects.get(task="portal.tasks.heartbeat").enabled is False


def test_admin_lists_heartbeats_read_only(db, client_for):
    from tests.factories import UserFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    WorkerHeartbeat.objects.create(name="celery@host-a", last_seen="2026-01-02T03:04:05Z")
    client = client_for(staff)

    listing = client.get("/admin/portal/workerheartbeat/")
    assert listing.status_code == 200
    assert b"celery@host-a" in listing.content
    assert client.get("/admin/portal/workerheartbeat/add/").status_code == 403
    beat = WorkerHeartbeat.objects.get()
    response = client.post(
        f"/admin/portal/workerheartbeat/{beat.pk}/change/",
        {"name": "changed", "last_seen_0": "2026-01-01", "last_seen_1": "00:00:00"},
    )
    assert response.status_code == 403
    assert WorkerHeartbeat.objects.get().name == "celery@host-a"
