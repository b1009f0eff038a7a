from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apis.models import Api
from apis.services.lifecycle import version_transition
from tenants.actors import Actor

from .conftest import make_spec


def test_catalogue_pages_render(draft, cast, client_for):
    version_transition(version=draft, to_state="published", actor=Actor.for_user(cast.maintainer))
    client = client_for(cast.member)
    response = client.get(reverse("apis:catalogue"), {"q": "refunds"})
    assert response.status_code == 200
    assert b"Payments API" in response.content
    kwargs = {"owner": "acme", "api": "payments"}
    assert client.get(reverse("apis:api", kwargs=kwargs)).status_code == 200
    kwargs["version"] = "1.0.0"
    assert client.get(reverse("apis:version", kwargs=kwargs)).status_code == 200
    assert client.get(reverse("apis:docs", kwargs=kwargs)).status_code == 200
    spec = client.get(reverse("apis:spec", kwargs=kwargs)).json()
    assert spec["servers"] == [{"url": "https://api.acme.test/v1"}]


def test_htmx_search_returns_results_partial(draft, cast, client_for):
    response = client_for(cast.maintainer).get(
        reverse("apis:catalogue"),
        {"q": "pay"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="catalogue-results",
    )
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b"Payments API" in response.content


def test_maintainer_adds_api_by_upload(cast, client_for):
    client = client_for(cast.maintainer)
    response = client.post(
        reverse("apis:api_new", kwargs={"org": "acme"}),
        {
            "team": cast.team.pk,
            "name": "Ledger",
            "slug": "ledger",
            "visibility": "public",
            "kind": "rest",
            "tags": "finance, ledger",
            "spec_file": SimpleUploadedFile("ledger.json", make_spec(title="Ledger")),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    api = Api.objects.get(slug="ledger")
    assert api.versions.get().operations.count() == 3


def test_bad_spec_writes_nothing(cast, client_for):
    client = client_for(cast.maintainer)
    response = client.post(
        reverse("apis:api_new", kwargs={"org": "acme"}),
        {
            "team": cast.team.pk,
            "name": "Ledger",
            "slug": "ledger",
            "visibility": "public",
            "kind": "rest",
            "spec_text": '{"name": "not a spec"}',
        },
    )
    assert response.status_code == 400
    assert b"neither an" in response.content
    assert not Api.objects.filter(slug="ledger").exists()
