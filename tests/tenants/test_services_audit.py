"""The audit log is append-only and records who did what, where and in which request."""

import pytest
from django.db import transaction
from django.db.models import ProtectedError

from tenants.actors import Actor
from tenants.models import AuditEvent
from tenants.services.audit import audit_record


@pytest.fixture
def event(cast, request_id):
    with transaction.atomic():
        return audit_record(
            actor=Actor.for_user(cast.owner),
            organisation=cast.org,
            action="team.updated",
            target=cast.team,
            before={"name": "Old"},
            after={"name": "New"},
        )


def test_audit_record_stores_actor_organisation_target_change_and_request_id(cast, event):
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor_type, stored.actor_user, stored.actor_label) == (
        "user",
        cast.owner,
        "owner@acme.test",
    )
    assert stored.organisation == cast.org
    assert (stored.action, stored.target_type, stored.target_id, stored.target_label) == (
        "team.updated",
        "tenants.team",
        str(cast.team.pk),
        "Payments Squad",
    )
    assert (stored.before, stored.after) == ({"name": "Old"}, {"name": "New"})
    assert stored.request_id == "req-tenants-test-0001"


def test_audit_record_without_a_request_has_an_empty_request_id(cast):
    with transaction.atomic():
        event = audit_record(
            actor=Actor.system(), organisation=cast.org, action="x.y", target=cast.org
        )
    assert event.request_id == ""
    assert (event.actor_type, event.actor_user, event.actor_label) == ("system", None, "system")


def test_a_token_actor_is_labelled_with_the_token_prefix(cast, make_token):
    token, _ = make_token(cast.owner)
    with transaction.atomic():
        event = audit_record(
            actor=Actor(kind="token", user=cast.owner, token=token),
            organisation=cast.org,
            action="x.y",
            target=cast.org,
        )
    assert event.actor_type == "token"
    assert event.actor_user == cast.owner
    assert event.actor_label == f"owner@acme.test via {token.display_prefix}"


def test_saving_an_existing_event_is_refused(event):
    event.action = "nothing.happened"
    with pytest.raises(TypeError):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "team.updated"


def test_deleting_an_event_is_refused(event):
    with pytest.raises(TypeError):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_queryset_update_is_refused(event):
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing.happened")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().update(after=None)
    assert AuditEvent.objects.get(pk=event.pk).action == "team.updated"


def test_queryset_delete_is_refused(event):
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_bulk_update_is_refused(event):
    event.action = "nothing.happened"
    with pytest.raises(TypeError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get(pk=event.pk).action == "team.updated"


def test_an_organisation_with_audit_events_cannot_be_deleted(cast, event):
    with pytest.raises(ProtectedError), transaction.atomic():
        cast.org.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction(cast):
    with pytest.raises(RuntimeError):
        audit_record(actor=Actor.system(), organisation=cast.org, action="x.y", target=cast.org)
    assert not AuditEvent.objects.filter(action="x.y").exists()
