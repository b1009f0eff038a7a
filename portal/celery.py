"""The Celery application.

Payloads are JSON and carry ids only; tasks re-read their rows. A task is
acknowledged after it finishes and re-queued if its worker dies, so every
task must be safe to run twice.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portico")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=300,
    task_time_limit=360,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
)
app.autodiscover_tasks()
