"""The demo's consumers: plans on the demo APIs, Acme's and Globex's applications, and
subscriptions waiting, approved with a key, and suspended; seeding twice changes nothing."""

import pytest

from apis.demo_subscriptions import DEMO_SUBSCRIPTIONS, PLAN_APIS
from apis.models import Application, Credential, Plan, Subscription
from apis.selectors_subscriptions import inbox_list
from apis.services import keys
from portal.demo import seed
from tenants.actors import Actor
from tenants.models import AuditEvent, Notification, Organisation, User


@pytest.fixture
def seeded(db):
    seed(password="demo-password-for-tests")


def state_of(application: str, api: str) -> Subscription:
    return Subscription.objects.select_related("plan", "organisation", "provider").get(
        application__name=application, api__slug=api
    )


def test_every_offered_api_has_a_free_automatic_and_a_pro_manual_plan(seeded):
    for organisation, slug, _ in PLAN_APIS:
        plans = dict(
            Plan.objects.filter(api__organisation__slug=organisation, api__slug=slug).values_list(
                "name", "approval"
            )
        )
        assert plans == {"Free": "automatic", "Pro": "manual"}, slug


def test_the_subscriptions_are_in_the_states_a_maintainer_meets(seeded):
    acme = Organisation.objects.get(slug="acme")
    maintainer = User.objects.get(email="maintainer@acme.example")
    developer = User.objects.get(email="developer@acme.example")

    waiting = state_of("Sign-in service", "payments")
    assert (waiting.state, waiting.plan.name) == ("pending", "Pro")
    assert list(inbox_list(organisation=acme, user=maintainer, is_admin=False)) == [waiting]
    assert maintainer.notifications.filter(kind="subscription.requested").exists()

    approved = state_of("Checkout web", "identity")
    assert approved.state == "approved"
    assert approved.decided_by.email == "admin@acme.example"
    credential = approved.credentials.get()
    value = keys.credential_reveal(credential=credential, actor=Actor.for_user(developer))
    assert keys.credential_authenticate(value) == credential

    automatic = state_of("Sign-in service", "refunds")
    assert (automatic.state, automatic.decided_by) == ("approved", None)
    assert automatic.credentials.filter(revoked_at=None).count() == 1

    suspended = state_of("Account recovery", "payments")
    assert suspended.state == "suspended"
    assert "failed charges" in suspended.decision_reason

    globex = state_of("Globex storefront", "refunds")
    assert globex.state == "approved"
    assert (globex.organisation.slug, globex.provider.slug) == ("globex", "acme")
    assert globex.credentials.get().sealed_reveal  # waiting for Globex's one look
    assert (
        User.objects.get(email="owner@globex.example")
        .notifications.filter(kind="subscription.approved")
        .exists()
    )

    assert Subscription.objects.count() == len(DEMO_SUBSCRIPTIONS)


def _snapshot():
    return {
        "plans": Plan.objects.count(),
        "applications": sorted(Application.objects.values_list("name", flat=True)),
        "subscriptions": sorted(
            Subscription.objects.values_list("application__name", "api__slug", "state")
        ),
        "credentials": Credential.objects.count(),
        "audit": AuditEvent.objects.count(),
        "notifications": Notification.objects.count(),
    }


def test_seeding_again_changes_nothing(seeded):
    first = _snapshot()
    seed(password="demo-password-for-tests")
    assert _snapshot() == first
