from apis.demo import DEMO_APIS, seed_catalogue
from apis.models import Api, ApiVersion
from tenants.roles import OrgRole

from ..factories import OrganisationFactory, TeamFactory, member_of


def test_seed_catalogue_builds_every_state_and_is_idempotent(db):
    acme = OrganisationFactory(slug="acme", name="Acme Corp")
    globex = OrganisationFactory(slug="globex", name="Globex")
    payments = TeamFactory(organisation=acme, slug="payments")
    TeamFactory(organisation=acme, slug="identity")
    member_of(acme, team=payments, team_role="maintainer", email="maintainer@acme.example")
    member_of(acme, role=OrgRole.ADMIN, email="admin@acme.example")
    member_of(globex, role=OrgRole.OWNER, email="owner@globex.example")

    seed_catalogue()
    assert Api.objects.count() == len(DEMO_APIS)
    states = set(ApiVersion.objects.values_list("state", flat=True))
    assert states == set(ApiVersion.State.values)
    payments_v2 = ApiVersion.objects.get(api__slug="payments", version="2.0.0")
    assert payments_v2.is_breaking

    seed_catalogue()
    assert Api.objects.count() == len(DEMO_APIS)
