"""A developer asks for a subscription from an API's page, a maintainer of the API
approves it from the inbox, and the developer sees the key once, copies it, and on
the next visit sees only its prefix."""

import re

import pytest
from playwright.sync_api import expect

from apis.models import Api, Credential, Plan
from apis.services import keys
from apis.services.applications import application_create
from apis.services.catalogue import api_create, version_create
from apis.services.lifecycle import version_transition
from apis.services.plans import plan_create
from tenants.actors import Actor
from tenants.roles import TeamRole
from tests.apis.conftest import make_spec
from tests.factories import OrganisationFactory, TeamFactory, member_of

from .pages import field, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded(transactional_db):
    """Acme's Payments team publishes a public API with a manual plan; Globex's Storefront
    team has an application."""
    acme = OrganisationFactory(name="Acme", slug="acme")
    payments = TeamFactory(organisation=acme, name="Payments", slug="payments")
    maintainer = member_of(
        acme, team=payments, team_role=TeamRole.MAINTAINER, email="maintainer@acme.test"
    )
    globex = OrganisationFactory(name="Globex", slug="globex")
    storefront = TeamFactory(organisation=globex, name="Storefront", slug="storefront")
    developer = member_of(
        globex, team=storefront, team_role=TeamRole.DEVELOPER, email="dev@globex.test"
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
    plan_create(api=api, name="Gold", rate_limit=50, approval=Plan.Approval.MANUAL, actor=actor)
    application = application_create(
        team=storefront, name="Checkout", actor=Actor.for_user(developer)
    )
    return {"maintainer": maintainer, "developer": developer, "application": application}


def test_ask_approve_and_see_the_key_once(new_page, base_url, seeded):
    developer = new_page()
    developer.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    sign_in(developer, "dev@globex.test")

    # The developer asks from the API's page.
    developer.goto("/catalogue/acme/payments/")
    panel = developer.locator("#subscribe-panel")
    expect(panel.get_by_text("For an application of Globex.")).to_be_visible()
    field(developer, "Application").select_option(label="Checkout")
    panel.get_by_role("radio", name="Gold (50 req/s, needs approval)").check()
    field(developer, "Why do you need it?").fill("Checkout takes card payments.")
    panel.get_by_role("button", name="Ask for access").click()
    expect(panel.get_by_text("Requested.")).to_be_visible()
    expect(developer.locator("#messages")).to_contain_text(
        "Requested Payments API for Checkout; its maintainers decide."
    )

    # Another person, a maintainer of the API's team, approves it from the inbox.
    maintainer = new_page()
    sign_in(maintainer, "maintainer@acme.test")
    maintainer.goto("/o/acme/")
    nav = maintainer.get_by_role("navigation", name="Main")
    expect(nav.get_by_test_id("inbox-count")).to_have_text("1")
    nav.get_by_role("link", name=re.compile("^Inbox")).click()
    row = maintainer.get_by_test_id("inbox-row").filter(has_text="Checkout")
    expect(row).to_contain_text("Globex")
    expect(row).to_contain_text("Checkout takes card payments.")
    row.get_by_role("button", name="Approve").click()
    expect(row).to_have_count(0)
    expect(maintainer.locator("#messages")).to_contain_text(
        "Approved the request of Checkout for Payments API."
    )

    # The developer finds the key on the application's page, once.
    developer.goto("/o/globex/")
    developer.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Applications"
    ).click()
    developer.get_by_role("link", name="Checkout").click()
    keys_box = developer.get_by_test_id("subscription-keys")
    expect(keys_box).to_contain_text("Approved")
    expect(keys_box).to_contain_text("Not on a gateway")
    keys_box.get_by_role("button", name="Show key").click()
    value = developer.get_by_test_id("key-value")
    expect(value).to_be_visible()
    plaintext = value.inner_text().strip()
    credential = Credential.objects.get(subscription__application=seeded["application"])
    assert plaintext.startswith(credential.prefix)
    assert keys.credential_authenticate(plaintext) == credential

    copy = developer.get_by_test_id("revealed-key").get_by_role("button")
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert developer.evaluate("navigator.clipboard.readText()") == plaintext

    # A second visit shows only the prefix.
    developer.reload()
    keys_box = developer.get_by_test_id("subscription-keys")
    expect(keys_box.get_by_text(f"{credential.prefix}…")).to_be_visible()
    expect(developer.get_by_test_id("key-value")).to_have_count(0)
    expect(keys_box.get_by_role("button", name="Show key")).to_have_count(0)
    assert plaintext not in developer.content()
