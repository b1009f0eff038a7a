"""The world of the subscription page tests: Acme's Payments team publishes a public
API with a manual plan (Gold) and an automatic one (Free); Globex's team (the cast's
other team) consumes it with an application; Initech is a third organisation.

Imported by the test_views_* modules: ``from .pages import market_fixture  # noqa: F401``.
"""

from dataclasses import dataclass

import pytest
from django.urls import reverse

from apis.models import Api, Application, Plan, Subscription
from apis.services.applications import application_create
from apis.services.catalogue import api_create, version_create
from apis.services.lifecycle import version_transition
from apis.services.plans import plan_create
from apis.services.subscriptions import subscription_act, subscription_request
from tenants.actors import Actor
from tenants.roles import OrgRole, TeamRole
from tests.apis.conftest import make_spec
from tests.factories import OrganisationFactory, member_of

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, org: str, **kwargs) -> str:
    return reverse(f"apis:{name}", kwargs={"org": org, **kwargs})


@dataclass
class Market:
    cast: object
    api: Api
    gold: Plan
    free: Plan
    application: Application  # Globex's
    developer: object  # Globex's developer
    viewer: object  # Globex's viewer
    third: object  # Initech's owner

    def request(self, plan=None, *, application=None, user=None) -> Subscription:
        return subscription_request(
            application=application or self.application,
            api=self.api,
            plan=plan or self.gold,
            reason="Storefront takes payments",
            actor=Actor.for_user(user or self.developer),
        )

    def approved(self, plan=None) -> Subscription:
        subscription = self.request(plan)
        return subscription_act(
            subscription=subscription, action="approve", actor=Actor.for_user(self.cast.maintainer)
        )


@pytest.fixture(name="market")
def market_fixture(cast) -> Market:
    maintainer = Actor.for_user(cast.maintainer)
    api = api_create(
        organisation=cast.org,
        team=cast.team,
        name="Payments API",
        slug="payments",
        summary="Take card payments.",
        visibility=Api.Visibility.PUBLIC,
        actor=maintainer,
    )
    version = version_create(api=api, raw=make_spec(), actor=maintainer)
    version_transition(version=version, to_state="published", actor=maintainer)
    api.refresh_from_db()
    gold = plan_create(
        api=api,
        name="Gold",
        rate_limit=50,
        quota_limit=100_000,
        quota_period=Plan.Period.MONTH,
        approval=Plan.Approval.MANUAL,
        actor=maintainer,
    )
    free = plan_create(
        api=api, name="Free", rate_limit=1, approval=Plan.Approval.AUTOMATIC, actor=maintainer
    )
    developer = member_of(
        cast.other_org,
        team=cast.other_team,
        team_role=TeamRole.DEVELOPER,
        email="dev@globex.test",
    )
    viewer = member_of(
        cast.other_org, team=cast.other_team, team_role=TeamRole.VIEWER, email="viewer@globex.test"
    )
    application = application_create(
        team=cast.other_team,
        name="Storefront",
        description="Globex's secret storefront plans",
        actor=Actor.for_user(developer),
    )
    third = member_of(OrganisationFactory(name="Initech", slug="initech"), role=OrgRole.OWNER)
    return Market(
        cast=cast,
        api=api,
        gold=gold,
        free=free,
        application=application,
        developer=developer,
        viewer=viewer,
        third=third,
    )
