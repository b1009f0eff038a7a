"""The catalogue offers "Add an API" for each organisation where the user may add one:
where they maintain a team or are an admin; to no one else."""

from django.urls import reverse

from tenants.roles import OrgRole
from tests.factories import MembershipFactory, OrganisationFactory


def add_links(client) -> tuple[list[str], str]:
    response = client.get(reverse("apis:catalogue"))
    assert response.status_code == 200
    context = response.context
    return [
        reverse("apis:api_new", kwargs={"org": o.slug}) for o in context["publishing"]
    ], response.content.decode()


def test_a_maintainer_and_an_admin_are_offered_their_organisation(cast, client_for):
    for person in (cast.maintainer, cast.admin, cast.owner):
        links, html = add_links(client_for(person))
        assert links == ["/o/acme/apis/new/"]
        assert 'href="/o/acme/apis/new/">Add an API</a>' in html


def test_developers_viewers_and_members_are_offered_nothing(cast, client_for):
    for person in (cast.developer, cast.viewer, cast.member):
        links, html = add_links(client_for(person))
        assert links == []
        assert "/apis/new/" not in html


def test_each_organisation_is_named_when_there_are_several(cast, client_for):
    initech = OrganisationFactory(name="Initech", slug="initech")
    MembershipFactory(organisation=initech, user=cast.maintainer, role=OrgRole.ADMIN)
    links, html = add_links(client_for(cast.maintainer))
    assert links == ["/o/acme/apis/new/", "/o/initech/apis/new/"]
    assert ">Add an API to Acme Secret Works</a>" in html
    assert ">Add an API to Initech</a>" in html

    initech.is_active = False
    initech.save(update_fields=["is_active"])
    links, _ = add_links(client_for(cast.maintainer))
    assert links == ["/o/acme/apis/new/"]
