"""Notifications in the admin site: staff can find and read them, and delete one, but never
write one or mark it read for its user."""

import pytest

from tenants.models import Notification
from tenants.services.notifications import notifications_mark_read, notify
from tests.factories import UserFactory

CHANGELIST = "/admin/tenants/notification/"


@pytest.fixture
def admin_client(db, client_for):
    return client_for(UserFactory(email="staff@portico.test", is_staff=True, is_superuser=True))


@pytest.fixture
def notifications(cast) -> dict[str, Notification]:
    (published,) = notify(
        users=[cast.owner],
        organisation=cast.org,
        kind="api.published",
        title="Acme published Ledger API 1.0.0",
    )
    (invited,) = notify(
        users=[cast.outsider], organisation=None, kind="invitation", title="Globex invites you"
    )
    notifications_mark_read(user=cast.outsider)
    return {"published": published, "invited": invited}


def test_changelist_searches_and_filters(notifications, admin_client):
    body = admin_client.get(CHANGELIST).content.decode()
    assert "Acme published Ledger API 1.0.0" in body
    assert "Globex invites you" in body

    found = admin_client.get(CHANGELIST, {"q": "owner@acme.test"}).content.decode()
    assert "Acme published Ledger API 1.0.0" in found
    assert "Globex invites you" not in found

    by_kind = admin_client.get(CHANGELIST, {"kind": "invitation"}).content.decode()
    assert "Globex invites you" in by_kind
    assert "Acme published Ledger API 1.0.0" not in by_kind

    unread = admin_client.get(CHANGELIST, {"read_at__isempty": "1"}).content.decode()
    assert "Acme published Ledger API 1.0.0" in unread
    assert "Globex invites you" not in unread


def test_change_page_is_read_only(notifications, admin_client):
    notification = notifications["published"]
    url = f"{CHANGELIST}{notification.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'name="title"' not in page.content.decode()
    assert "Acme published Ledger API 1.0.0" in page.content.decode()

    refused = admin_client.post(url, {"title": "Edited by staff", "read_at_0": "2030-01-01"})
    assert refused.status_code == 403
    notification.refresh_from_db()
    assert notification.title == "Acme published Ledger API 1.0.0"
    assert notification.read_at is None

    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403


def test_staff_may_delete_a_notification(notifications, admin_client):
    notification = notifications["invited"]
    response = admin_client.post(f"{CHANGELIST}{notification.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Notification.objects.filter(pk=notification.pk).exists()
    assert Notification.objects.filter(pk=notifications["published"].pk).exists()


def test_non_staff_are_refused(notifications, client_for, cast):
    response = client_for(cast.owner).get(CHANGELIST)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
