"""The catalogue in the admin site: every page loads for staff, nothing is edited by hand,
and the lifecycle actions move versions through the service as platform staff."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from apis.models import Api, ApiVersion, LifecycleTransition, Operation, SpecDocument, Tag
from apis.policies import require_team_maintainer
from tenants.actors import Actor
from tenants.errors import NotAllowed
from tenants.models import AuditEvent
from tests.factories import UserFactory

CHANGELIST = "/admin/apis/apiversion/"


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@portico.test", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(staff, client_for):
    return client_for(staff)


def _objects(version):
    transition = LifecycleTransition.objects.filter(api_version=version).first()
    return {
        "api": version.api,
        "apiversion": version,
        "operation": Operation.objects.filter(api_version=version).first(),
        "lifecycletransition": transition,
        "tag": Tag.objects.get(name="payments"),
        "specdocument": SpecDocument.objects.get(api_version=version),
    }


@pytest.mark.parametrize(
    "model", ["api", "apiversion", "operation", "lifecycletransition", "tag", "specdocument"]
)
def test_changelist_and_change_pages_load_for_staff(published, admin_client, model):
    obj = _objects(published)[model]
    changelist = admin_client.get(f"/admin/apis/{model}/")
    assert changelist.status_code == 200
    assert admin_client.get(f"/admin/apis/{model}/", {"q": "pay"}).status_code == 200
    change = admin_client.get(f"/admin/apis/{model}/{obj.pk}/change/")
    assert change.status_code == 200
    assert admin_client.get(f"/admin/apis/{model}/add/").status_code == 403


def test_api_changelist_shows_organisation_team_and_current_state(published, admin_client):
    body = admin_client.get(
        "/admin/apis/api/", {"visibility__exact": "organisation"}
    ).content.decode()
    assert "Payments API" in body
    assert "Acme Secret Works" in body
    assert "1.0.0 (Published)" in body
    assert (
        "Payments API"
        not in admin_client.get(
            "/admin/apis/api/", {"visibility__exact": "public"}
        ).content.decode()
    )


def test_api_change_page_lists_versions_with_links(published, admin_client):
    body = admin_client.get(f"/admin/apis/api/{published.api_id}/change/").content.decode()
    assert published.spec_hash in body
    assert f"/admin/apis/apiversion/{published.pk}/change/" in body


def test_version_changelist_filters_by_state(published, admin_client):
    assert "1.0.0" in admin_client.get(CHANGELIST, {"state__exact": "published"}).content.decode()
    assert (
        "Payments API"
        not in admin_client.get(CHANGELIST, {"state__exact": "draft"}).content.decode()
    )


def test_spec_document_page_shows_the_document_read_only(published, admin_client):
    spec = SpecDocument.objects.get(api_version=published)
    body = admin_client.get(f"/admin/apis/specdocument/{spec.pk}/change/").content.decode()
    assert "listPayments" in body
    assert "<textarea" not in body


def test_pages_are_refused_to_non_staff(published, cast, client_for):
    client = client_for(cast.owner)
    response = client.get(CHANGELIST)
    assert response.status_code in (302, 403)
    assert b"Payments API" not in response.content


# --- Lifecycle actions ------------------------------------------------------------------


def test_publish_action_asks_then_publishes_as_platform_staff(draft, admin_client, staff):
    selection = {"action": "lifecycle_publish", "_selected_action": [draft.pk]}
    page = admin_client.post(CHANGELIST, {**selection, "index": 0})
    assert page.status_code == 200
    assert b"Publish versions" in page.content
    assert ApiVersion.objects.get(pk=draft.pk).state == "draft"

    response = admin_client.post(CHANGELIST, {**selection, "apply": "yes", "reason": "Go."})
    assert response.status_code == 302
    assert ApiVersion.objects.get(pk=draft.pk).state == "published"
    transition = LifecycleTransition.objects.get(api_version=draft)
    assert (transition.actor, transition.actor_label, transition.reason) == (
        staff,
        "staff@portico.test (platform staff)",
        "Go.",
    )
    event = AuditEvent.objects.get(action="api_version.publish")
    assert (event.actor_type, event.actor_user, event.organisation) == (
        "user",
        staff,
        draft.organisation,
    )
    assert event.actor_label == "staff@portico.test (platform staff)"


def test_deprecate_action_needs_a_reason_and_a_future_sunset(published, admin_client):
    selection = {"action": "lifecycle_deprecate", "_selected_action": [published.pk]}
    for data in ({}, {"reason": "Old."}, {"reason": "Old.", "sunset_at": "2001-01-01"}):
        response = admin_client.post(CHANGELIST, {**selection, "apply": "yes", **data})
        assert response.status_code == 200
        assert b"errorlist" in response.content
    assert ApiVersion.objects.get(pk=published.pk).state == "published"

    sunset = timezone.localdate() + datetime.timedelta(days=30)
    response = admin_client.post(
        CHANGELIST,
        {**selection, "apply": "yes", "reason": "Use 2.0.", "sunset_at": sunset.isoformat()},
    )
    assert response.status_code == 302
    version = ApiVersion.objects.get(pk=published.pk)
    assert (version.state, version.sunset_at) == ("deprecated", sunset)


def test_an_action_that_does_not_apply_skips_the_version(draft, admin_client):
    selection = {"action": "lifecycle_unblock", "_selected_action": [draft.pk]}
    page = admin_client.post(CHANGELIST, {**selection, "index": 0})
    assert "does not apply" in page.content.decode()
    response = admin_client.post(CHANGELIST, {**selection, "apply": "yes"}, follow=True)
    assert "Not changed" in response.content.decode()
    assert ApiVersion.objects.get(pk=draft.pk).state == "draft"
    assert not LifecycleTransition.objects.exists()


def test_staff_who_may_only_view_versions_get_no_lifecycle_actions(draft, client_for):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_apiversion", content_type__app_label="apis")
    )
    client = client_for(viewer)
    assert client.get(CHANGELIST).status_code == 200
    assert b"lifecycle_publish" not in client.get(CHANGELIST).content
    client.post(
        CHANGELIST,
        {"action": "lifecycle_publish", "_selected_action": [draft.pk], "apply": "yes"},
    )
    assert ApiVersion.objects.get(pk=draft.pk).state == "draft"


def test_staff_actor_is_only_for_staff_and_does_not_outlive_staff_status(api, cast):
    with pytest.raises(ValueError):
        Actor.for_staff(cast.owner)
    former = UserFactory(is_staff=True)
    actor = Actor.for_staff(former)
    require_team_maintainer(actor=actor, team=api.team)
    former.is_staff = False
    with pytest.raises(NotAllowed):
        require_team_maintainer(actor=actor, team=api.team)


def test_the_api_admin_edits_nothing(published, admin_client):
    response = admin_client.post(
        f"/admin/apis/api/{published.api_id}/change/", {"name": "Renamed", "visibility": "public"}
    )
    assert response.status_code == 403
    api = Api.objects.get(pk=published.api_id)
    assert (api.name, api.visibility) == ("Payments API", "organisation")
