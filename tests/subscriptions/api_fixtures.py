"""Fixtures of the subscriptions REST API and admin tests, on the usual cast: Acme's
Payments team publishes the Ledger API (seen by Acme's members) with a manual and an
automatic plan and has an application, Checkout; Globex publishes a public API that
Acme's application may subscribe to. Test modules import what they use."""

import pytest

from apis.models import Api, GatewayOperation, Plan
from apis.services.applications import application_create
from apis.services.plans import plan_create
from apis.services.subscriptions import subscription_act, subscription_request
from tenants.actors import Actor

# The REST API tests share the tenants tests' helpers: error bodies and audit marks.
from tests.apis.conftest import published_api
from tests.tenants.conftest import api_error, new_audit_events  # noqa: F401

BASE = "/api/v1/organisations/acme"
GLOBEX = "/api/v1/organisations/globex"


def publish_api(*, organisation, team, actor, name: str, slug: str, visibility: str) -> Api:
    return published_api(
        organisation=organisation,
        team=team,
        actor=actor,
        name=name,
        slug=slug,
        summary=f"{name} of {organisation.name}.",
        visibility=visibility,
    )


@pytest.fixture
def ledger(cast) -> Api:
    return publish_api(
        organisation=cast.org,
        team=cast.team,
        actor=Actor.for_user(cast.maintainer),
        name="Ledger API",
        slug="ledger",
        visibility=Api.Visibility.ORGANISATION,
    )


@pytest.fixture
def gold(ledger, cast) -> Plan:
    return plan_create(
        api=ledger,
        actor=Actor.for_user(cast.maintainer),
        name="Gold",
        approval=Plan.Approval.MANUAL,
        rate_limit=50,
        quota_limit=100_000,
        quota_period=Plan.Period.MONTH,
    )


@pytest.fixture
def free(ledger, cast) -> Plan:
    return plan_create(
        api=ledger, actor=Actor.for_user(cast.maintainer), name="Free", approval="automatic"
    )


@pytest.fixture
def checkout(cast):
    return application_create(team=cast.team, name="Checkout", actor=Actor.for_user(cast.developer))


@pytest.fixture
def pending(checkout, ledger, gold, cast):
    """Checkout's request for Gold, made by Acme's developer."""
    return subscription_request(
        application=checkout,
        api=ledger,
        plan=gold,
        reason="Checkout posts its sales",
        actor=Actor.for_user(cast.developer),
    )


@pytest.fixture
def approved(pending, cast):
    return subscription_act(
        subscription=pending, action="approve", actor=Actor.for_user(cast.maintainer)
    )


@pytest.fixture
def globex_api(cast) -> Api:
    """A public API of Globex, whose owner (the outsider) maintains its team."""
    return publish_api(
        organisation=cast.other_org,
        team=cast.other_team,
        actor=Actor.for_user(cast.outsider),
        name="Globex Rates",
        slug="rates",
        visibility=Api.Visibility.PUBLIC,
    )


@pytest.fixture
def globex_plan(globex_api, cast) -> Plan:
    return plan_create(
        api=globex_api, actor=Actor.for_user(cast.outsider), name="Partner", approval="manual"
    )


@pytest.fixture
def cross(checkout, globex_api, globex_plan, cast):
    """Acme's Checkout asking Globex for its Rates API."""
    return subscription_request(
        application=checkout,
        api=globex_api,
        plan=globex_plan,
        reason="Checkout converts currencies",
        actor=Actor.for_user(cast.developer),
    )


@pytest.fixture
def failed_operation(approved, cast):
    """A provision of Checkout's key that failed on a gateway of Acme."""
    from apis.services.connections import connection_create

    connection = connection_create(
        organisation=cast.org,
        team=cast.team,
        name="Acme gateway",
        kind="openapi_url",
        config={"url": "https://specs.acme.test/openapi.json"},
        actor=Actor.for_user(cast.owner),
    )
    return GatewayOperation.objects.create(
        organisation=cast.org,
        connection=connection,
        subscription=approved,
        credential=approved.credentials.get(),
        action=GatewayOperation.Action.PROVISION,
        state=GatewayOperation.State.FAILED,
        sealed_value="sealed-value-never-shown",
        attempts=8,
        last_error="The gateway answered HTTP 400.",
    )
