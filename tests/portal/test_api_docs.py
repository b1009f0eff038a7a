"""The API's Swagger UI and Redoc pages load everything from Portico's own static files
(drf-spectacular-sidecar), nothing from a CDN or any other host."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

# Attributes through which a page makes the browser fetch something.
FETCHING = {"src", "href", "spec-url", "data", "poster", "action"}


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in FETCHING and value:
                self.urls.append((tag, name, value))


def _references(html: str) -> list[tuple[str, str, str]]:
    parser = _References()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("name", ["api-docs", "api-redoc"])
def test_docs_pages_reference_only_local_urls(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html
    assert "https://" not in html

    references = _references(html)
    scripts = [url for tag, _, url in references if tag == "script"]
    assert scripts, "the page loads no script: the docs would not render"
    for tag, attribute, url in references:
        assert re.match(r"/[^/]", url), (tag, attribute, url)

    static = [url for _, _, url in references if url.startswith(settings.STATIC_URL)]
    assert all("drf_spectacular_sidecar/" in url for url in static), static
    for url in static:
        path = url.removeprefix(settings.STATIC_URL)
        assert finders.find(path), f"{url} is not among the static files"

    schema_url = reverse("api-schema")
    assert schema_url in html
    assert client.get(schema_url).status_code == 200


def test_swagger_ui_loads_its_bundle_from_the_sidecar_and_has_no_validator_badge(client, db):
    html = client.get(reverse("api-docs")).content.decode()
    scripts = [url for tag, _, url in _references(html) if tag == "script"]
    assert any(url.endswith("swagger-ui-dist/swagger-ui-bundle.js") for url in scripts)
    stylesheets = [url for tag, _, url in _references(html) if tag == "link"]
    assert any(url.endswith("swagger-ui-dist/swagger-ui.css") for url in stylesheets)
    # Swagger UI's default validator is validator.swagger.io; it is switched off.
    match = re.search(r"const swaggerSettings = (\{.*?\});", html, re.S)
    assert match is not None
    assert json.loads(match.group(1))["validatorUrl"] is None


def test_redoc_loads_its_bundle_from_the_sidecar(client, db):
    html = client.get(reverse("api-redoc")).content.decode()
    scripts = [url for tag, _, url in _references(html) if tag == "script"]
    assert scripts == [
        f"{settings.STATIC_URL}drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
    ]
    assert "fonts.googleapis.com" not in html
