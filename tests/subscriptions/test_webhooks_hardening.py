"""Webhook deliveries under attack and after loss: a receiver's name that resolves to a
public address when checked and to 127.0.0.1 a moment later still gets its delivery at
the checked address; deliveries whose task was lost are queued again by the per-minute
sweep, once, and a lost task that turns up after all sends nothing twice."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from apis.models import WebhookDelivery
from apis.services.webhooks import DeliveryFailed, delivery_execute, delivery_requeue_stuck
from apis.tasks import requeue_stuck_webhook_deliveries
from portal.celery import app as celery_app
from portal.schedule import PERIODIC_TASKS

from .receiver import Receiver
from .test_webhooks import ask

NAME = "hooks.rebind.test"
PUBLIC = "93.184.215.14"
STAND_IN = "127.0.0.2"


@pytest.fixture
def public_and_internal():
    """Two receivers on one port: the one on 127.0.0.2 stands for the public receiver,
    the one on 127.0.0.1 for an internal service a rebinding would reach instead."""
    for _ in range(20):
        public = Receiver(STAND_IN)
        try:
            internal = Receiver("127.0.0.1", public.port)
        except OSError:  # that port is taken on 127.0.0.1; try another
            public._server.server_close()
            continue
        break
    else:
        pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")
    public.start()
    internal.start()
    yield public, internal
    public.stop()
    internal.stop()


@pytest.fixture
def rebinding_dns(monkeypatch):
    """``NAME`` answers the public address once, then 127.0.0.1; the public address
    routes to the stand-in receiver. Returns the names asked for."""
    real = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host == NAME:
            asked.append(host)
            address = PUBLIC if len(asked) == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]
        if host == PUBLIC:
            return real(STAND_IN, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_rebinding_name_is_delivered_to_the_checked_address(
    world, settings, public_and_internal, rebinding_dns, django_capture_on_commit_callbacks
):
    public, internal = public_and_internal
    for slug in ("acme", "globex"):
        webhook = world.hooks[slug]
        webhook.url = f"http://{NAME}:{public.port}/{slug}"
        webhook.save(update_fields=["url"])
    ask(world, django_capture_on_commit_callbacks, execute=False)
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    acme = WebhookDelivery.objects.get(webhook=world.hooks["acme"])
    globex = WebhookDelivery.objects.get(webhook=world.hooks["globex"])

    assert delivery_execute(acme.pk).state == "succeeded"

    # The name was resolved once, checked, and the connection went to that answer.
    assert rebinding_dns == [NAME]
    (delivery,) = public.at("/acme")
    assert delivery.header("Host") == f"{NAME}:{public.port}"
    assert delivery.header("X-Portico-Delivery") == str(acme.pk)
    assert internal.received == []

    # The next delivery resolves again, gets 127.0.0.1 and is refused before any connection.
    refused = delivery_execute(globex.pk)
    assert refused.state == "failed"
    assert "127.0.0.1, a private, loopback" in refused.last_error
    assert refused.response_status is None
    assert internal.received == []
    assert public.at("/globex") == []


def _age(delivery: WebhookDelivery, minutes: float) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_the_sweep_queues_a_stuck_delivery_once(
    world, hooks, monkeypatch, django_capture_on_commit_callbacks
):
    ask(world, django_capture_on_commit_callbacks, execute=False)  # the tasks are lost
    stuck = WebhookDelivery.objects.get(webhook=world.hooks["acme"])
    fresh = WebhookDelivery.objects.get(webhook=world.hooks["globex"])
    _age(stuck, 6)
    _age(fresh, 1)  # its task may well still be on its way
    queued = []
    from apis import tasks

    monkeypatch.setattr(
        tasks.deliver_webhook, "delay", lambda pk, attempts=None: queued.append((pk, attempts))
    )

    requeue_stuck_webhook_deliveries()
    requeue_stuck_webhook_deliveries()

    assert queued == [(stuck.pk, 0)]
    stuck.refresh_from_db()
    assert timezone.now() - stuck.next_attempt_at < timedelta(minutes=1)
    assert hooks.received == []

    # Queued again and lost again: the sweep tries once more when it is stuck once more.
    _age(stuck, 6)
    requeue_stuck_webhook_deliveries()
    assert queued == [(stuck.pk, 0), (stuck.pk, 0)]


def test_the_sweep_leaves_waiting_and_finished_deliveries_alone(
    world, hooks, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.PROVISION_RETRY_BASE_DELAY = 3600.0
    ask(world, django_capture_on_commit_callbacks, execute=False)
    waiting = WebhookDelivery.objects.get(webhook=world.hooks["acme"])
    finished = WebhookDelivery.objects.get(webhook=world.hooks["globex"])
    hooks.statuses = [500, 204]
    with pytest.raises(DeliveryFailed) as failed:
        delivery_execute(waiting.pk)
    assert delivery_execute(finished.pk).state == "succeeded"
    waiting.refresh_from_db()
    assert waiting.next_attempt_at > timezone.now() + timedelta(seconds=failed.value.delay - 5)
    _age(finished, 60)

    assert delivery_requeue_stuck() == []

    # Once its retry is overdue by minutes (its task lost), it is queued with what was made.
    WebhookDelivery.objects.filter(pk=waiting.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=6)
    )
    assert delivery_requeue_stuck() == [(waiting.pk, 1)]


def test_a_lost_task_found_after_the_sweep_sends_nothing_twice(
    world, hooks, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    ask(world, django_capture_on_commit_callbacks, execute=False)
    row = WebhookDelivery.objects.get(webhook=world.hooks["acme"])
    _age(row, 10)
    hooks.statuses = [500, 204]

    ((pk, attempts),) = [t for t in delivery_requeue_stuck() if t[0] == row.pk]
    # The sweep's task runs and fails: the delivery stays pending for its retry.
    with pytest.raises(DeliveryFailed) as failed:
        delivery_execute(pk, attempts=attempts)
    assert failed.value.attempts == 1
    # The task queued at first, thought lost, turns up: it was for attempt one, made already.
    assert delivery_execute(row.pk, attempts=0) is None
    assert len(hooks.at("/acme")) == 1

    # The retry that follows the failure is the one that sends.
    assert delivery_execute(row.pk, attempts=1).state == "succeeded"
    assert delivery_execute(row.pk, attempts=1) is None
    assert len(hooks.at("/acme")) == 2


def test_the_sweep_runs_every_minute_and_delivers_through_the_worker(
    world, hooks, django_capture_on_commit_callbacks
):
    assert {s.task: s.every_seconds for s in PERIODIC_TASKS}[
        "apis.tasks.requeue_stuck_webhook_deliveries"
    ] == 60
    assert "apis.tasks.requeue_stuck_webhook_deliveries" in celery_app.tasks
    ask(world, django_capture_on_commit_callbacks, execute=False)
    row = WebhookDelivery.objects.get(webhook=world.hooks["globex"])
    _age(row, 6)

    requeue_stuck_webhook_deliveries.delay()
    requeue_stuck_webhook_deliveries.delay()

    row.refresh_from_db()
    assert (row.state, row.attempts) == ("succeeded", 1)
    assert len(hooks.at("/globex")) == 1
    assert hooks.at("/acme") == []
