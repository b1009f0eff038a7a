"""A maintainer adds an API by uploading its OpenAPI file, makes it public and publishes
it; a developer of another organisation finds it by one of its paths in the catalogue's
live search, opens it and reads its operations in the rendered docs."""

import re

import pytest
from playwright.sync_api import expect

from apis.models import Api
from apis.services.catalogue import api_create, version_create
from apis.services.lifecycle import version_transition
from tenants.actors import Actor
from tenants.roles import TeamRole
from tests.apis.conftest import make_spec
from tests.factories import OrganisationFactory, TeamFactory, member_of

from .pages import field, sign_in

pytestmark = pytest.mark.browser

PATH = "/ledgers/{ledger_id}/reconciliations"
SPEC = f"""\
openapi: 3.0.3
info:
  title: Ledger API
  version: 2.4.0
paths:
  {PATH}:
    get:
      operationId: listReconciliations
      summary: The reconciliations of one ledger.
      parameters:
        - name: ledger_id
          in: path
          required: true
          schema:
            type: string
      responses:
        "200":
          description: The reconciliations, newest first.
"""


@pytest.fixture
def seeded(transactional_db):
    """Acme's Finance team, whose maintainer adds the API; a published public API of
    Acme's that the search must leave out; Globex's developer, who looks for it."""
    acme = OrganisationFactory(name="Acme", slug="acme")
    finance = TeamFactory(organisation=acme, name="Finance", slug="finance")
    maintainer = member_of(
        acme, team=finance, team_role=TeamRole.MAINTAINER, email="maintainer@acme.test"
    )
    actor = Actor.for_user(maintainer)
    other = api_create(
        organisation=acme,
        team=finance,
        name="Payments API",
        slug="payments",
        summary="Take card payments.",
        visibility=Api.Visibility.PUBLIC,
        actor=actor,
    )
    version = version_create(api=other, raw=make_spec(), actor=actor)
    version_transition(version=version, to_state="published", actor=actor)
    globex = OrganisationFactory(name="Globex", slug="globex")
    storefront = TeamFactory(organisation=globex, name="Storefront", slug="storefront")
    member_of(globex, team=storefront, team_role=TeamRole.DEVELOPER, email="dev@globex.test")


def test_upload_publish_find_by_path_and_read_the_docs(new_page, seeded, tmp_path):
    spec_file = tmp_path / "ledger.yaml"
    spec_file.write_text(SPEC)

    # Acme's maintainer adds the API from its file, public, and publishes the draft.
    maintainer = new_page()
    sign_in(maintainer, "maintainer@acme.test")
    maintainer.goto("/catalogue/")
    maintainer.get_by_role("link", name="Add an API").click()
    expect(maintainer).to_have_url(re.compile(r"/o/acme/apis/new/$"))
    expect(maintainer.get_by_role("heading", name="Add an API")).to_be_visible()
    field(maintainer, "Team").select_option(label="Finance")
    field(maintainer, "Name").fill("Ledger API")
    field(maintainer, "Slug").fill("ledger")
    field(maintainer, "Summary").fill("Balances, entries and reconciliations.")
    field(maintainer, "Visibility").select_option(value="public")
    field(maintainer, "Upload a file").set_input_files(spec_file)
    maintainer.get_by_role("button", name="Add API").click()

    expect(maintainer).to_have_url(re.compile(r"/catalogue/acme/ledger/versions/2\.4\.0/$"))
    expect(maintainer.locator("#messages")).to_contain_text("Ledger API 2.4.0 added as a draft.")
    heading = maintainer.get_by_role("heading", level=1)
    expect(heading).to_contain_text("draft")
    expect(maintainer.get_by_role("cell", name=PATH)).to_be_visible()
    lifecycle = maintainer.locator("section.panel").filter(
        has=maintainer.get_by_role("heading", name="Lifecycle")
    )
    lifecycle.get_by_label("Move to").select_option(value="published")
    lifecycle.get_by_role("button", name="Apply").click()
    expect(maintainer.locator("#messages")).to_contain_text("Version 2.4.0 is now Published.")
    expect(heading).to_contain_text("published")

    # Globex's developer searches the catalogue as they type, without leaving the page.
    developer = new_page()
    sign_in(developer, "dev@globex.test")
    developer.goto("/catalogue/")
    results = developer.locator("#catalogue-results")
    cards = results.locator(".api-card")
    expect(cards.filter(has_text="Payments API")).to_have_count(1)
    expect(cards.filter(has_text="Ledger API")).to_have_count(1)
    developer.evaluate("window.portalPageMarker = 'still here'")

    developer.get_by_label("Search APIs").press_sequentially("ledger_id}/reconcil", delay=20)

    expect(developer).to_have_url(re.compile(r"/catalogue/\?(.*&)?q=ledger_id%7D%2Freconcil"))
    expect(results).to_contain_text("1 API for “ledger_id}/reconcil”")
    card = cards.filter(has_text="Ledger API")
    expect(card).to_be_visible()
    expect(card).to_contain_text("published")
    expect(card).to_contain_text("Acme · Finance")
    expect(cards).to_have_count(1)
    assert developer.evaluate("window.portalPageMarker") == "still here"

    # The API's page, then its docs as Swagger UI draws them from the spec.
    card.get_by_role("link", name="Ledger API").click()
    expect(developer).to_have_url(re.compile(r"/catalogue/acme/ledger/$"))
    expect(developer.get_by_role("heading", level=1)).to_contain_text("Ledger API")
    developer.get_by_role("link", name="Read the docs").click()
    expect(developer).to_have_url(re.compile(r"/catalogue/acme/ledger/versions/2\.4\.0/docs/$"))
    operation = developer.locator(f'.opblock-summary-path[data-path="{PATH}"]')
    expect(operation).to_be_visible()
    # Swagger UI puts a zero-width space before each slash so long paths can wrap.
    expect(operation).to_have_text(PATH.replace("/", "\u200b/"))
    expect(developer.locator(".opblock-summary-method")).to_have_text("GET")
    expect(developer.locator(".opblock-summary-description")).to_have_text(
        "The reconciliations of one ledger."
    )
