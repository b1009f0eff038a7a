"""The alert and usage tests' world: Acme's Payments team publishes a public API with a
quota plan; Globex's Storefront application and Acme's own Checkout application use it;
Initech's owner is the outsider. Usage is written straight into the hourly rollups.

The ``usage_world`` fixture (tests/analytics/conftest.py) builds it with ``build_usage_world``.
"""

import datetime
from dataclasses import dataclass

from analytics.histogram import bucket
from analytics.models import RouteRollup, UsageRollup
from apis.models import Api, Application, Plan, Subscription
from apis.services.applications import application_create
from apis.services.plans import plan_create
from apis.services.subscriptions import subscription_request
from tenants.actors import Actor
from tenants.models import Organisation, User
from tenants.roles import OrgRole, TeamRole
from tests.apis.conftest import published_api
from tests.factories import OrganisationFactory, member_of

# A fixed "now": 10:20 UTC on a Wednesday, in the middle of a month.
NOW = datetime.datetime(2026, 3, 18, 10, 20, tzinfo=datetime.UTC)
HOUR = NOW.replace(minute=0)


@dataclass
class UsageWorld:
    acme: Organisation
    globex: Organisation
    initech: Organisation
    api: Api
    plan: Plan
    storefront: Application  # Globex's
    checkout: Application  # Acme's own
    subscription: Subscription  # Storefront's, approved
    app_developer: User  # Globex Storefront developer
    app_viewer: User
    outsider: User  # Initech's owner


def publish(*, organisation, team, actor, name: str, slug: str, visibility=Api.Visibility.PUBLIC):
    return published_api(
        organisation=organisation,
        team=team,
        actor=actor,
        name=name,
        slug=slug,
        summary=f"{name} for tests.",
        visibility=visibility,
    )


def build_usage_world(cast) -> UsageWorld:
    maintainer = Actor.for_user(cast.maintainer)
    api = publish(
        organisation=cast.org,
        team=cast.team,
        actor=maintainer,
        name="Acme Ledger API",
        slug="ledger",
    )
    plan = plan_create(
        api=api,
        actor=maintainer,
        name="Metered",
        approval=Plan.Approval.AUTOMATIC,
        quota_limit=1000,
        quota_period=Plan.Period.DAY,
    )
    app_developer = member_of(
        cast.other_org,
        team=cast.other_team,
        team_role=TeamRole.DEVELOPER,
        email="dev@globex.test",
    )
    app_viewer = member_of(
        cast.other_org, team=cast.other_team, team_role=TeamRole.VIEWER, email="view@globex.test"
    )
    storefront = application_create(
        team=cast.other_team, name="Storefront", actor=Actor.for_user(app_developer)
    )
    checkout = application_create(
        team=cast.team, name="Acme Checkout", actor=Actor.for_user(cast.developer)
    )
    subscription = subscription_request(
        application=storefront, api=api, plan=plan, actor=Actor.for_user(app_developer)
    )
    assert subscription.state == Subscription.State.APPROVED
    initech = OrganisationFactory(name="Initech", slug="initech")
    outsider = member_of(initech, role=OrgRole.OWNER, email="owner@initech.test")
    return UsageWorld(
        acme=cast.org,
        globex=cast.other_org,
        initech=initech,
        api=api,
        plan=plan,
        storefront=storefront,
        checkout=checkout,
        subscription=subscription,
        app_developer=app_developer,
        app_viewer=app_viewer,
        outsider=outsider,
    )


def add_usage(
    *,
    organisation,
    hour: datetime.datetime,
    api=None,
    application=None,
    calls: int,
    c4xx: int = 0,
    c5xx: int = 0,
    latency_ms: float = 50.0,
    api_version_id: int = 0,
) -> UsageRollup:
    """Add ``calls`` calls (all at ``latency_ms``) to the rollup row of that hour."""
    row, _ = UsageRollup.objects.get_or_create(
        organisation_id=organisation.pk,
        hour=hour,
        api_id=api.pk if api else 0,
        api_version_id=api_version_id,
        application_id=application.pk if application else 0,
    )
    row.calls += calls
    row.c4xx += c4xx
    row.c5xx += c5xx
    row.latency_sum += calls * latency_ms
    column = f"h{bucket(latency_ms):02d}"
    setattr(row, column, getattr(row, column) + calls)
    row.save()
    return row


def add_route(
    *,
    organisation,
    hour: datetime.datetime,
    api,
    route: str,
    status: int,
    calls: int,
    method: str = "GET",
    latency_ms: float = 50.0,
) -> RouteRollup:
    return RouteRollup.objects.create(
        organisation_id=organisation.pk,
        hour=hour,
        api_id=api.pk,
        method=method,
        route=route,
        status=status,
        calls=calls,
        latency_sum=calls * latency_ms,
    )
