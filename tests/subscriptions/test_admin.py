"""Subscriptions in the admin site: bulk decisions through the service as platform
staff, key search without secrets, retrying the gateway outbox."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from apis.models import Application, GatewayOperation, Subscription
from apis.services.applications import application_create
from apis.services.subscriptions import subscription_request
from apis.services.webhooks import webhook_create
from tenants.actors import Actor
from tenants.models import AuditEvent
from tenants.roles import TeamRole
from tests.factories import member_of

from .api_fixtures import *  # noqa: F403 - the fixtures

CHANGELIST = reverse("admin:apis_subscription_changelist")


@pytest.fixture
def staff(cast):
    """Platform staff who also develop in Acme's Payments team."""
    return member_of(
        cast.org,
        team=cast.team,
        team_role=TeamRole.DEVELOPER,
        email="staff@portico.test",
        is_staff=True,
        is_superuser=True,
    )


@pytest.fixture
def staffs_own(staff, cast, ledger, gold) -> Subscription:
    """A request the staff member made themselves, as a developer of the team."""
    application = application_create(
        team=cast.team, name="Back office", actor=Actor.for_user(staff)
    )
    return subscription_request(
        application=application, api=ledger, plan=gold, actor=Actor.for_user(staff)
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def choose(client, action: str, *subscriptions, **extra):
    return client.post(
        CHANGELIST,
        {
            "action": action,
            "_selected_action": [s.pk for s in subscriptions],
            **extra,
        },
    )


def test_bulk_approve_asks_then_approves_and_refuses_the_staffs_own(
    client_for, staff, pending, staffs_own
):
    client = client_for(staff)
    page = choose(client, "approve_selected", pending, staffs_own, index="0")
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="reason"' in content
    assert "skipped: You asked for it yourself" in content
    assert Subscription.objects.filter(state="approved").count() == 0

    done = choose(client, "approve_selected", pending, staffs_own, apply="yes", reason="Fine")
    assert done.status_code == 302
    pending.refresh_from_db()
    staffs_own.refresh_from_db()
    assert (pending.state, pending.decided_by, pending.decision_reason) == (
        "approved",
        staff,
        "Fine",
    )
    assert staffs_own.state == "pending"
    notes = messages_of(done)
    assert any(note.startswith("Approved:") and "Checkout" in note for note in notes)
    assert any(
        note.startswith("Not approved:") and "Back office" in note and "yourself" in note
        for note in notes
    )
    event = AuditEvent.objects.get(action="subscription.approved")
    assert event.actor_label == f"{staff.email} (platform staff)"


def test_bulk_reject_needs_a_reason(client_for, staff, pending):
    client = client_for(staff)
    again = choose(client, "reject_selected", pending, apply="yes", reason="")
    assert again.status_code == 200
    assert "This field is required" in again.content.decode()
    assert Subscription.objects.get(pk=pending.pk).state == "pending"

    done = choose(client, "reject_selected", pending, apply="yes", reason="Not this quarter")
    assert done.status_code == 302
    pending.refresh_from_db()
    assert (pending.state, pending.decision_reason) == ("rejected", "Not this quarter")
    assert any(note.startswith("Rejected:") for note in messages_of(done))


def test_a_decided_subscription_is_refused_by_the_table(client_for, staff, approved):
    done = choose(client_for(staff), "reject_selected", approved, apply="yes", reason="No")
    assert done.status_code == 302
    assert Subscription.objects.get(pk=approved.pk).state == "approved"
    assert any("cannot be rejected" in note for note in messages_of(done))


def test_credentials_are_found_by_prefix_without_their_secrets(client_for, staff, approved):
    credential = approved.credentials.get()
    url = reverse("admin:apis_credential_changelist")
    client = client_for(staff)
    found = client.get(url, {"q": credential.prefix[:10]})
    assert found.status_code == 200
    assert credential.prefix in found.content.decode()
    by_lookup = client.get(url, {"q": credential.lookup_id})
    assert credential.prefix in by_lookup.content.decode()
    assert "0 credentials" in client.get(url, {"q": "pakNOTHING"}).content.decode()
    page = client.get(reverse("admin:apis_credential_change", args=[credential.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert credential.prefix in body
    assert credential.digest not in body
    assert credential.sealed_reveal not in body
    assert "digest" not in body.lower()


def test_retry_queues_failed_operations_again(
    client_for, staff, failed_operation, django_capture_on_commit_callbacks
):
    url = reverse("admin:apis_gatewayoperation_changelist")
    client = client_for(staff)
    listed = client.get(url, {"state": "failed"})
    assert "sealed-value-never-shown" not in listed.content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        done = client.post(
            url,
            {"action": "retry_selected", "_selected_action": [failed_operation.pk], "index": "0"},
        )
    assert done.status_code == 302
    assert len(callbacks) == 1
    failed_operation.refresh_from_db()
    assert (failed_operation.state, failed_operation.attempts) == ("pending", 0)
    assert any(note.startswith("Queued again:") for note in messages_of(done))
    again = client.post(
        url, {"action": "retry_selected", "_selected_action": [failed_operation.pk], "index": "0"}
    )
    assert any("Only failed operations" in note for note in messages_of(again))
    page = client.get(reverse("admin:apis_gatewayoperation_change", args=[failed_operation.pk]))
    assert "sealed-value-never-shown" not in page.content.decode()
    assert GatewayOperation.objects.get(pk=failed_operation.pk).state == "pending"


def test_webhook_secrets_are_never_shown(client_for, staff, cast):
    webhook, secret = webhook_create(
        organisation=cast.org,
        url="https://hooks.acme.test/in",
        events=["subscription.*"],
        actor=Actor.for_user(cast.owner),
    )
    client = client_for(staff)
    for url in (
        reverse("admin:apis_webhook_changelist"),
        reverse("admin:apis_webhook_change", args=[webhook.pk]),
    ):
        body = client.get(url).content.decode()
        assert "hooks.acme.test" in body
        assert secret not in body
        assert webhook.sealed_secret not in body


def test_non_staff_cannot_decide(client_for, cast, pending):
    response = choose(client_for(cast.owner), "approve_selected", pending, apply="yes")
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert Subscription.objects.get(pk=pending.pk).state == "pending"
    assert Application.objects.count() == 1
