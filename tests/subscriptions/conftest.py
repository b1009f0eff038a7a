"""The subscription tests' world: a provider (Acme, whose Payments team publishes a
public API with a manual and an automatic plan), a consumer in another organisation
(Globex, whose Storefront team has an application), a consumer team inside Acme
(Mobile) for the same-organisation case, a third organisation's outsider, and a
webhook receiver on 127.0.0.1 that both organisations' webhooks point at."""

from dataclasses import dataclass, field

import pytest

from apis.models import Api, Application, Plan, Webhook
from apis.services.applications import application_create
from apis.services.plans import plan_create
from apis.services.webhooks import webhook_create
from portal.celery import app as celery_app
from tenants.actors import Actor
from tenants.models import Organisation, Team, User
from tenants.roles import OrgRole, TeamRole
from tests.apis.conftest import published_api
from tests.factories import (
    OrganisationFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
    member_of,
)

# The gateway tests' fixtures: a boto3 client on moto, connections, the fault proxy.
from tests.gateways.conftest import proxy  # noqa: F401
from tests.gateways.connection_fixtures import *  # noqa: F403

from .receiver import Receiver

WEBHOOK_EVENTS = ["subscription.*", "credential.*", "lifecycle.*"]


@dataclass
class World:
    provider: Organisation
    api_team: Team
    consumer: Organisation
    app_team: Team
    local_team: Team
    third: Organisation
    api: Api
    manual: Plan
    automatic: Plan
    application: Application  # Globex's
    local_application: Application  # Acme's Mobile team's
    people: dict[str, User]
    hooks: dict[str, Webhook] = field(default_factory=dict)
    hook_secrets: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> User:
        try:
            return self.__dict__["people"][name]
        except KeyError:
            raise AttributeError(name) from None

    def actor(self, name: str) -> Actor:
        if name == "staff":
            return Actor.for_staff(self.people[name])
        return Actor.for_user(self.people[name])


@pytest.fixture
def eager_retries():
    """Let an eager task's retries run at once, in process, as a worker would run them
    later (the test settings make eager tasks raise their Retry instead)."""
    before = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = before


@pytest.fixture(scope="session")
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def hooks(receiver, settings):
    """The receiver, cleared, and webhooks allowed to reach 127.0.0.1."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    receiver.clear()
    receiver.statuses = [204]
    yield receiver
    receiver.clear()


def publish_api(*, organisation, team, actor, name="Payments API", slug="payments", **fields):
    return published_api(
        organisation=organisation,
        team=team,
        actor=actor,
        name=name,
        slug=slug,
        summary="Take and refund card payments.",
        **fields,
    )


@pytest.fixture
def world(cast, hooks) -> World:
    acme, payments = cast.org, cast.team
    globex, storefront = cast.other_org, cast.other_team
    mobile = TeamFactory(organisation=acme, name="Mobile", slug="mobile")
    initech = OrganisationFactory(name="Initech", slug="initech")
    people = {
        # The provider's side: Acme's Payments team owns the API.
        "api_maintainer": cast.maintainer,
        "api_developer": cast.developer,
        "api_viewer": cast.viewer,
        "provider_admin": cast.admin,
        "provider_owner": cast.owner,
        "provider_member": cast.member,
        "second_maintainer": member_of(
            acme, team=payments, team_role=TeamRole.MAINTAINER, email="second@acme.test"
        ),
        # The consumer's side in Globex.
        "app_developer": member_of(
            globex, team=storefront, team_role=TeamRole.DEVELOPER, email="dev@globex.test"
        ),
        "app_maintainer": member_of(
            globex, team=storefront, team_role=TeamRole.MAINTAINER, email="lead@globex.test"
        ),
        "app_viewer": member_of(
            globex, team=storefront, team_role=TeamRole.VIEWER, email="viewer@globex.test"
        ),
        "consumer_admin": member_of(globex, role=OrgRole.ADMIN, email="admin@globex.test"),
        "consumer_owner": cast.outsider,
        # The consumer's side inside Acme.
        "local_developer": member_of(
            acme, team=mobile, team_role=TeamRole.DEVELOPER, email="dev@mobile.acme.test"
        ),
        "local_maintainer": member_of(
            acme, team=mobile, team_role=TeamRole.MAINTAINER, email="lead@mobile.acme.test"
        ),
        "local_viewer": member_of(
            acme, team=mobile, team_role=TeamRole.VIEWER, email="viewer@mobile.acme.test"
        ),
        # Maintainer of the API's team and developer of the consuming team at once.
        "dual": member_of(
            acme, team=payments, team_role=TeamRole.MAINTAINER, email="dual@acme.test"
        ),
        "outsider": member_of(initech, role=OrgRole.OWNER, email="owner@initech.test"),
        "staff": UserFactory(is_staff=True, email="staff@portico.test"),
    }
    TeamMembershipFactory(team=mobile, user=people["dual"], role=TeamRole.DEVELOPER)
    maintainer = Actor.for_user(cast.maintainer)
    api = publish_api(organisation=acme, team=payments, actor=maintainer)
    manual = plan_create(
        api=api, actor=maintainer, name="Pro", approval=Plan.Approval.MANUAL, rate_limit=100
    )
    automatic = plan_create(
        api=api, actor=maintainer, name="Free", approval=Plan.Approval.AUTOMATIC, rate_limit=5
    )
    application = application_create(
        team=storefront, name="Storefront", actor=Actor.for_user(people["app_developer"])
    )
    local_application = application_create(
        team=mobile, name="Mobile app", actor=Actor.for_user(people["local_developer"])
    )
    world = World(
        provider=acme,
        api_team=payments,
        consumer=globex,
        app_team=storefront,
        local_team=mobile,
        third=initech,
        api=api,
        manual=manual,
        automatic=automatic,
        application=application,
        local_application=local_application,
        people=people,
    )
    for slug, organisation, admin in (
        ("acme", acme, cast.admin),
        ("globex", globex, people["consumer_admin"]),
    ):
        webhook, secret = webhook_create(
            organisation=organisation,
            url=f"{hooks.url}/{slug}",
            events=WEBHOOK_EVENTS,
            actor=Actor.for_user(admin),
        )
        world.hooks[slug] = webhook
        world.hook_secrets[slug] = secret
    return world


@dataclass
class AwsGateway:
    """A REST API on moto with two usage plans, synced into Acme's catalogue."""

    client: object
    connection: object
    api: Api
    gold: Plan
    silver: Plan
    rest_api_id: str

    def api_keys(self, **params) -> list[dict]:
        return self.client.get_api_keys(includeValues=True, **params)["items"]

    def plan_key_ids(self, plan: Plan) -> list[str]:
        items = self.client.get_usage_plan_keys(usagePlanId=plan.gateway_plan_id)["items"]
        return sorted(item["id"] for item in items)


@pytest.fixture
def aws_gateway(aws, apigw, world, make_connection):
    """Build the gateway API and sync it; ``endpoint`` may put a proxy in front of moto."""
    from apis.models import SyncRun
    from apis.services.sync import sync_connection
    from tests.gateways.moto_apis import create_rest_api

    def build(endpoint: str | None = None) -> AwsGateway:
        rest_api_id = create_rest_api(apigw, "orders")
        for name, rate in (("gold", 50), ("silver", 10)):
            apigw.create_usage_plan(
                name=name,
                apiStages=[{"apiId": rest_api_id, "stage": "prod"}],
                throttle={"rateLimit": rate, "burstLimit": rate * 2},
            )
        connection = make_connection(
            config={"region": "eu-west-1", "endpoint_url": endpoint or aws.url},
            visibility=Api.Visibility.PUBLIC,
            publish_on_sync=True,
        )
        run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
        assert run.status == SyncRun.Status.SUCCEEDED, run.errors
        api = Api.objects.get(connection=connection, external_id=rest_api_id)
        return AwsGateway(
            client=apigw,
            connection=connection,
            api=api,
            gold=Plan.objects.get(api=api, name="gold"),
            silver=Plan.objects.get(api=api, name="silver"),
            rest_api_id=rest_api_id,
        )

    return build
