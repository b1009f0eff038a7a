"""The periodic tasks Portico needs, kept in django-celery-beat's tables.

They are installed after every ``migrate`` (see ``PortalConfig.ready``), so a
fresh database, the demo and production all get them without a manual step.
An operator's later changes in the admin (interval, enabled) are kept.
"""

from dataclasses import dataclass

from django.db import connections


@dataclass(frozen=True)
class PeriodicTaskSpec:
    name: str
    task: str
    every_seconds: int


PERIODIC_TASKS = [
    PeriodicTaskSpec(name="Worker heartbeat", task="portal.tasks.heartbeat", every_seconds=60),
    PeriodicTaskSpec(
        name="Gateway operations due", task="apis.tasks.run_due_operations", every_seconds=60
    ),
    PeriodicTaskSpec(
        name="Webhook deliveries stuck",
        task="apis.tasks.requeue_stuck_webhook_deliveries",
        every_seconds=60,
    ),
    PeriodicTaskSpec(
        name="Key expiry notices", task="apis.tasks.notify_expiring_keys", every_seconds=86400
    ),
    PeriodicTaskSpec(
        name="Alert rules", task="analytics.tasks.evaluate_alert_rules", every_seconds=60
    ),
    PeriodicTaskSpec(
        name="Analytics imports due", task="analytics.tasks.queue_due_imports", every_seconds=60
    ),
    PeriodicTaskSpec(
        name="Analytics partitions ahead",
        task="analytics.tasks.ensure_partitions",
        every_seconds=86400,
    ),
    PeriodicTaskSpec(
        name="Analytics retention", task="analytics.tasks.purge_old_analytics", every_seconds=86400
    ),
]


def periodic_tasks_install(*, using: str = "default") -> None:
    """Create the missing periodic tasks; leave existing ones as they are."""
    if "django_celery_beat_periodictask" not in connections[using].introspection.table_names():
        return
    # Imported late: django-celery-beat's models need the app registry ready.
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for spec in PERIODIC_TASKS:
        if PeriodicTask.objects.using(using).filter(name=spec.name).exists():
            continue
        # IntervalSchedule has no uniqueness constraint, so reuse the first match.
        interval = (
            IntervalSchedule.objects.using(using)
            .filter(every=spec.every_seconds, period=IntervalSchedule.SECONDS)
            .order_by("pk")
            .first()
        ) or IntervalSchedule.objects.using(using).create(
            every=spec.every_seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.using(using).create(name=spec.name, task=spec.task, interval=interval)
