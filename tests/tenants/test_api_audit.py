"""/api/v1/organisations/<org>/audit-events/: admins read, nobody writes."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tenants.actors import Actor
from tenants.models import AuditEvent
from tenants.services import organisations

EVENTS = "/api/v1/organisations/acme/audit-events/"


@pytest.fixture
def history(cast, make_token):
    """Three events in Acme on three days, one in Globex."""
    start = timezone.now() - timedelta(days=3)
    with time_machine.travel(start, tick=False):
        organisations.team_create(
            organisation=cast.org, name="Search", slug="search", actor=Actor.for_user(cast.owner)
        )
    with time_machine.travel(start + timedelta(days=1), tick=False):
        organisations.organisation_update(
            organisation=cast.org, name="Acme Inc", actor=Actor.for_user(cast.admin)
        )
    token, _ = make_token(cast.owner, organisation=cast.org)
    with time_machine.travel(start + timedelta(days=2), tick=False):
        organisations.team_update(
            team=cast.team,
            name="Payments",
            description="",
            actor=Actor(kind="token", user=cast.owner, token=token),
        )
    organisations.team_create(
        organisation=cast.other_org,
        name="Theirs",
        slug="theirs",
        actor=Actor.for_user(cast.outsider),
    )
    return start


def _actions(response):
    return [e["action"] for e in response.json()["results"]]


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_admins_read_the_events_of_their_organisation_newest_first(cast, api_for, history, who):
    response = api_for(getattr(cast, who)).get(EVENTS)
    assert response.status_code == 200
    assert _actions(response) == [
        "access_token.created",
        "team.updated",
        "organisation.updated",
        "team.created",
    ]
    event = response.json()["results"][1]
    assert set(event) == {
        "id",
        "created_at",
        "actor_type",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "before",
        "after",
        "request_id",
    }
    assert (event["actor_type"], event["before"], event["after"]) == (
        "token",
        {"name": "Payments Squad", "description": ""},
        {"name": "Payments", "description": ""},
    )


@pytest.mark.parametrize("who", ["member", "maintainer"])
def test_members_cannot_read_the_audit_log(cast, api_for, api_error, history, who):
    api_error(api_for(getattr(cast, who)).get(EVENTS), 403, "permission_denied")


def test_the_outsider_gets_404(cast, api_for, api_error, history):
    api_error(api_for(cast.outsider).get(EVENTS), 404, "not_found")


def test_an_event_of_another_organisation_is_404(cast, api_for, api_error, history):
    theirs = AuditEvent.objects.get(organisation=cast.other_org)
    api_error(api_for(cast.owner).get(f"{EVENTS}{theirs.pk}/"), 404, "not_found")


def test_filters(cast, api_for, history):
    client = api_for(cast.owner)
    get = lambda **query: _actions(client.get(EVENTS, query))  # noqa: E731
    assert get(action="team.") == ["team.updated", "team.created"]
    assert get(action="team.created") == ["team.created"]
    assert get(actor_type="token") == ["team.updated"]
    assert get(target_type="tenants.organisation") == ["organisation.updated"]
    since = (history + timedelta(hours=12)).isoformat()
    until = (history + timedelta(days=1, hours=12)).isoformat()
    assert get(since=since, until=until) == ["organisation.updated"]
    assert get(until=until) == ["organisation.updated", "team.created"]


def test_filter_by_request_id(cast, api_for):
    client = api_for(cast.owner)
    client.patch(
        "/api/v1/organisations/acme/",
        {"name": "Acme Inc"},
        format="json",
        HTTP_X_REQUEST_ID="trace-me-0000001",
    )
    client.patch("/api/v1/organisations/acme/", {"name": "Acme Two"}, format="json")
    body = client.get(EVENTS, {"request_id": "trace-me-0000001"}).json()
    assert [(e["action"], e["after"]) for e in body["results"]] == [
        ("organisation.updated", {"name": "Acme Inc"})
    ]


def test_a_bad_date_filter_is_400(cast, api_for, api_error, history):
    error = api_error(api_for(cast.owner).get(EVENTS, {"since": "last tuesday"}), 400, "invalid")
    assert "since" in error["fields"]


def test_events_are_paginated(cast, api_for, history):
    body = api_for(cast.owner).get(EVENTS, {"page_size": 3}).json()
    assert body["count"] == 4
    assert len(body["results"]) == 3
    assert body["next"]


def test_events_cannot_be_written_through_the_api(cast, api_for, api_error, history):
    event = AuditEvent.objects.filter(organisation=cast.org).first()
    client = api_for(cast.owner)
    count = AuditEvent.objects.count()
    api_error(client.post(EVENTS, {"action": "forged"}, format="json"), 405)
    api_error(client.patch(f"{EVENTS}{event.pk}/", {"action": "forged"}, format="json"), 405)
    api_error(client.delete(f"{EVENTS}{event.pk}/"), 405)
    assert AuditEvent.objects.count() == count
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_retrieve_an_event(cast, api_for, history):
    event = AuditEvent.objects.get(action="organisation.updated")
    body = api_for(cast.admin).get(f"{EVENTS}{event.pk}/").json()
    assert (body["id"], body["action"], body["actor_label"]) == (
        event.pk,
        "organisation.updated",
        "admin@acme.test",
    )
    assert (body["before"], body["after"]) == (
        {"name": "Acme Secret Works"},
        {"name": "Acme Inc"},
    )
