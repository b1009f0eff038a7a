"""The usual cast: organisation A ("Acme") with an owner, an admin, a member and
a team ("payments") with a maintainer, a developer and a viewer; organisation
B ("Globex") with its own owner, the outsider."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from portal.celery import app as celery_app
from tenants.roles import OrgRole, TeamRole

from .factories import OrganisationFactory, TeamFactory, member_of


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    return


@pytest.fixture
def enqueue_for_real():
    """Send tasks to the broker instead of running them in the test process (tests that
    start a real worker: tests/workers.py)."""
    original = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = original


@dataclass
class Cast:
    org: object
    team: object
    owner: object
    admin: object
    member: object
    maintainer: object
    developer: object
    viewer: object
    other_org: object
    other_team: object
    outsider: object


@pytest.fixture
def cast(db) -> Cast:
    org = OrganisationFactory(name="Acme Secret Works", slug="acme")
    team = TeamFactory(organisation=org, name="Payments Squad", slug="payments")
    other_org = OrganisationFactory(name="Globex", slug="globex")
    other_team = TeamFactory(organisation=other_org, name="Globex Team", slug="globex-team")
    return Cast(
        org=org,
        team=team,
        owner=member_of(org, role=OrgRole.OWNER, email="owner@acme.test"),
        admin=member_of(org, role=OrgRole.ADMIN, email="admin@acme.test"),
        member=member_of(org, email="member@acme.test"),
        maintainer=member_of(
            org, team=team, team_role=TeamRole.MAINTAINER, email="maintainer@acme.test"
        ),
        developer=member_of(
            org, team=team, team_role=TeamRole.DEVELOPER, email="developer@acme.test"
        ),
        viewer=member_of(org, team=team, team_role=TeamRole.VIEWER, email="viewer@acme.test"),
        other_org=other_org,
        other_team=other_team,
        outsider=member_of(
            other_org,
            role=OrgRole.OWNER,
            team=other_team,
            team_role=TeamRole.MAINTAINER,
            email="outsider@globex.test",
        ),
    )


@pytest.fixture
def client_for():
    """A browser client signed in as the given user."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api_for():
    """An API client authenticated by session as the given user."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return make


@pytest.fixture(scope="session")
def moto_server():
    """A moto server for the whole session; tests reset it through ``aws``."""
    from .emulators import MotoServer

    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server, monkeypatch):
    """A clean moto server and credentials for boto3's chain (fake, local only)."""
    moto_server.reset()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_server
