"""The organisation last visited is remembered in the session, written only when it changes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Membership
from tenants.roles import OrgRole
from tenants.scoping import LAST_ORGANISATION_SESSION_KEY

pytestmark = pytest.mark.django_db


def session_writes(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return sum(
        'django_session"' in query["sql"] and query["sql"].startswith(("UPDATE", "INSERT"))
        for query in captured.captured_queries
    )


def test_the_session_is_written_when_the_organisation_changes_only(cast, client_for):
    Membership.objects.create(organisation=cast.other_org, user=cast.owner, role=OrgRole.MEMBER)
    client = client_for(cast.owner)
    assert session_writes(client, "/o/acme/usage/") == 1
    assert client.session[LAST_ORGANISATION_SESSION_KEY] == "acme"
    assert session_writes(client, "/o/acme/usage/") == 0
    assert session_writes(client, "/o/acme/teams/") == 0
    assert session_writes(client, "/o/globex/usage/") == 1
    assert client.session[LAST_ORGANISATION_SESSION_KEY] == "globex"
