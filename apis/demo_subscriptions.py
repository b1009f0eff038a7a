"""The demo's consumers: plans on the demo APIs, applications of Acme's teams and one of
Globex's, and subscriptions in the states a maintainer meets (a request waiting in the
inbox, approved ones with a key to look at once, a suspended one), and the metered
subscriptions to Acme's AI models whose keys the demo's LiteLLM logs carry.

Everything goes through the services, so the inbox, notifications and audit trail are
real. Idempotent: plans, applications and subscriptions that exist are left alone.
"""

from dataclasses import dataclass

from tenants.actors import Actor
from tenants.models import Organisation, Team, User

from .models import Api, Application, Plan, Subscription
from .services.applications import application_create
from .services.plans import plan_create
from .services.subscriptions import subscription_act, subscription_request

# (organisation, API slug, plan actor): the published demo APIs that are offered.
PLAN_APIS = (
    ("acme", "payments", "maintainer@acme.example"),
    ("acme", "refunds", "maintainer@acme.example"),
    ("acme", "identity", "admin@acme.example"),
    ("globex", "weather", "owner@globex.example"),
)
PLANS = (
    {
        "name": "Free",
        "description": "For trying things out; approved at once.",
        "rate_limit": 5.0,
        "burst_limit": 10,
        "quota_limit": 1_000,
        "quota_period": Plan.Period.DAY,
        "approval": Plan.Approval.AUTOMATIC,
    },
    {
        "name": "Pro",
        "description": "For production traffic; a maintainer approves each request.",
        "rate_limit": 100.0,
        "burst_limit": 200,
        "quota_limit": 1_000_000,
        "quota_period": Plan.Period.MONTH,
        "approval": Plan.Approval.MANUAL,
        "key_grace_hours": 48,
    },
)


@dataclass(frozen=True)
class DemoApplication:
    organisation: str
    team: str
    name: str
    description: str
    owner: str  # e-mail of the developer who made it


@dataclass(frozen=True)
class DemoSubscription:
    application: str
    api: tuple[str, str]  # (organisation, slug)
    plan: str
    requester: str
    reason: str
    # (action, actor e-mail, reason), applied in order after the request
    moves: tuple = ()


DEMO_APPLICATIONS = (
    DemoApplication(
        "acme",
        "payments",
        "Checkout web",
        "The web checkout: signs customers in and takes their payments.",
        "developer@acme.example",
    ),
    DemoApplication(
        "acme",
        "identity",
        "Sign-in service",
        "Signs customers in and refunds failed sign-up fees.",
        "developer@acme.example",
    ),
    DemoApplication(
        "acme",
        "identity",
        "Account recovery",
        "Charges and refunds the fee for a recovered account.",
        "developer@acme.example",
    ),
    DemoApplication(
        "globex",
        "platform",
        "Globex storefront",
        "Globex's shop, refunding orders through Acme.",
        "owner@globex.example",
    ),
)

DEMO_SUBSCRIPTIONS = (
    # Waits in the Payments maintainer's inbox.
    DemoSubscription(
        "Sign-in service",
        ("acme", "payments"),
        "Pro",
        "developer@acme.example",
        "Sign-up fees for premium accounts, about 2,000 a day.",
    ),
    # Approved by an Identity admin; its key waits for one look.
    DemoSubscription(
        "Checkout web",
        ("acme", "identity"),
        "Pro",
        "developer@acme.example",
        "Customers sign in before they pay.",
        (("approve", "admin@acme.example", ""),),
    ),
    # A free plan: approved at once by the system.
    DemoSubscription(
        "Sign-in service",
        ("acme", "refunds"),
        "Free",
        "developer@acme.example",
        "Refund sign-up fees when an account is closed in its first week.",
    ),
    # Approved at once, then suspended by the API's maintainer.
    DemoSubscription(
        "Account recovery",
        ("acme", "payments"),
        "Free",
        "developer@acme.example",
        "The recovery fee.",
        (
            (
                "suspend",
                "maintainer@acme.example",
                "Thousands of failed charges an hour since Tuesday; paused until we know why.",
            ),
        ),
    ),
    # Another organisation on Acme's public Refunds API.
    DemoSubscription(
        "Globex storefront",
        ("acme", "refunds"),
        "Pro",
        "owner@globex.example",
        "Refunds for orders paid through Acme.",
        (("approve", "maintainer@acme.example", ""),),
    ),
    # Acme's AI models (apis/demo_models.py), on the metered plan that approves at once:
    # the keys the demo's LiteLLM logs carry.
    DemoSubscription(
        "Checkout web",
        ("acme", "gpt-4o-mini"),
        "Metered",
        "developer@acme.example",
        "Writes the order summary customers see before they pay.",
    ),
    DemoSubscription(
        "Checkout web",
        ("acme", "embed-small"),
        "Metered",
        "developer@acme.example",
        "Finds products like the ones in the basket.",
    ),
    DemoSubscription(
        "Sign-in service",
        ("acme", "llama-70b"),
        "Metered",
        "developer@acme.example",
        "Explains to customers why a sign-in was refused.",
    ),
    DemoSubscription(
        "Account recovery",
        ("acme", "llama-70b"),
        "Metered",
        "developer@acme.example",
        "The recovery assistant's conversations.",
    ),
    DemoSubscription(
        "Globex storefront",
        ("acme", "llama-70b"),
        "Metered",
        "owner@globex.example",
        "Product descriptions in the shop's languages.",
    ),
)


def _user(email: str) -> User | None:
    return User.objects.filter(email=email).first()


def _api(organisation: str, slug: str) -> Api | None:
    return Api.objects.filter(organisation__slug=organisation, slug=slug).first()


def seed_plans() -> list[Plan]:
    created = []
    for organisation, slug, actor_email in PLAN_APIS:
        api, actor = _api(organisation, slug), _user(actor_email)
        if api is None or actor is None:
            continue
        for values in PLANS:
            if not api.plans.filter(name=values["name"]).exists():
                created.append(plan_create(api=api, actor=Actor.for_user(actor), **values))
    return created


def seed_applications() -> dict[str, Application]:
    found = {}
    for demo in DEMO_APPLICATIONS:
        team = Team.objects.filter(organisation__slug=demo.organisation, slug=demo.team).first()
        owner = _user(demo.owner)
        if team is None or owner is None:
            continue
        found[demo.name] = Application.objects.filter(
            team=team, name=demo.name
        ).first() or application_create(
            team=team, name=demo.name, description=demo.description, actor=Actor.for_user(owner)
        )
    return found


def seed_subscriptions(*, out=None) -> list[Subscription]:
    """Plans, applications and the subscriptions above; returns those made now."""
    if not Organisation.objects.filter(slug="acme").exists():
        return []
    seed_plans()
    applications = seed_applications()
    made = []
    for demo in DEMO_SUBSCRIPTIONS:
        application = applications.get(demo.application)
        api = _api(*demo.api)
        requester = _user(demo.requester)
        if application is None or api is None or requester is None:
            continue
        if Subscription.objects.filter(application=application, api=api).exists():
            continue
        subscription = subscription_request(
            application=application,
            api=api,
            plan=api.plans.get(name=demo.plan),
            reason=demo.reason,
            actor=Actor.for_user(requester),
        )
        for action, actor_email, reason in demo.moves:
            subscription = subscription_act(
                subscription=subscription,
                action=action,
                actor=Actor.for_user(_user(actor_email)),
                reason=reason,
            )
        made.append(subscription)
        if out is not None:
            out.write(
                f"  subscription: {application.name} → {api.name} ({demo.plan}): "
                f"{subscription.state}\n"
            )
    return made
