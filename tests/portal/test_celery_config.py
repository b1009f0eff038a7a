from portal.celery import app


def test_tasks_are_acknowledged_late_and_requeued_when_a_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_payloads_are_json_only():
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]


def test_tasks_have_soft_and_hard_time_limits():
    assert 0 < app.conf.task_soft_time_limit < app.conf.task_time_limit


def test_beat_reads_its_schedule_from_the_database():
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def test_the_heartbeat_task_is_registered():
    app.loader.import_default_modules()
    assert "portal.tasks.heartbeat" in app.tasks
