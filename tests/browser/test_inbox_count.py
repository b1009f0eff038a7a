"""The menu's inbox count follows decisions made in place, without a reload: two requests
wait, one approval leaves one, one rejection leaves none."""

import pytest
from playwright.sync_api import expect

from apis.models import Api, Plan
from apis.services.applications import application_create
from apis.services.catalogue import api_create, version_create
from apis.services.lifecycle import version_transition
from apis.services.plans import plan_create
from apis.services.subscriptions import subscription_request
from tenants.actors import Actor
from tenants.roles import TeamRole
from tests.apis.conftest import make_spec
from tests.factories import OrganisationFactory, TeamFactory, member_of

from .pages import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def waiting(transactional_db):
    """Two requests for Acme's Payments API from two of Globex's applications."""
    acme = OrganisationFactory(name="Acme", slug="acme")
    payments = TeamFactory(organisation=acme, name="Payments", slug="payments")
    maintainer = member_of(
        acme, team=payments, team_role=TeamRole.MAINTAINER, email="maintainer@acme.test"
    )
    globex = OrganisationFactory(name="Globex", slug="globex")
    storefront = TeamFactory(organisation=globex, name="Storefront", slug="storefront")
    developer = Actor.for_user(
        member_of(globex, team=storefront, team_role=TeamRole.DEVELOPER, email="dev@globex.test")
    )
    actor = Actor.for_user(maintainer)
    api = api_create(
        organisation=acme,
        team=payments,
        name="Payments API",
        slug="payments",
        summary="Take card payments.",
        visibility=Api.Visibility.PUBLIC,
        actor=actor,
    )
    version = version_create(api=api, raw=make_spec(), actor=actor)
    version_transition(version=version, to_state="published", actor=actor)
    api.refresh_from_db()
    gold = plan_create(api=api, name="Gold", approval=Plan.Approval.MANUAL, actor=actor)
    for name in ("Checkout", "Kiosk"):
        application = application_create(team=storefront, name=name, actor=developer)
        subscription_request(
            application=application, api=api, plan=gold, reason=f"{name} pays", actor=developer
        )


def test_the_menu_count_follows_decisions_without_a_reload(page, waiting):
    sign_in(page, "maintainer@acme.test")
    page.goto("/o/acme/inbox/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_test_id("inbox-count")).to_have_text("2")

    page.get_by_test_id("inbox-row").filter(has_text="Checkout").get_by_role(
        "button", name="Approve"
    ).click()
    expect(page.get_by_test_id("inbox-row").filter(has_text="Checkout")).to_have_count(0)
    expect(nav.get_by_test_id("inbox-count")).to_have_text("1")
    expect(nav.get_by_role("link", name="Inbox: 1 waiting")).to_be_visible()

    kiosk = page.get_by_test_id("inbox-row").filter(has_text="Kiosk")
    kiosk.get_by_role("textbox").fill("One is enough.")
    kiosk.get_by_role("button", name="Reject").click()
    expect(kiosk).to_have_count(0)
    expect(nav.get_by_test_id("inbox-count")).to_have_count(0)
    expect(nav.get_by_role("link", name="Inbox", exact=True)).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("Rejected the request of Kiosk")
