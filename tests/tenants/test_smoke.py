from django.urls import reverse


def test_owner_sees_organisation_page(cast, client_for):
    response = client_for(cast.owner).get(reverse("tenants:organisation", kwargs={"org": "acme"}))
    assert response.status_code == 200
    assert b"Acme Secret Works" in response.content


def test_outsider_gets_404(cast, client_for):
    response = client_for(cast.outsider).get(
        reverse("tenants:organisation", kwargs={"org": "acme"})
    )
    assert response.status_code == 404
    assert b"Acme Secret Works" not in response.content


def test_api_lists_my_organisations(cast, api_for):
    response = api_for(cast.outsider).get("/api/v1/organisations/")
    assert response.status_code == 200
    assert [o["slug"] for o in response.json()["results"]] == ["globex"]
