import json

import pytest

from apis.models import Api
from apis.services.catalogue import api_create, version_create
from apis.services.lifecycle import version_transition
from tenants.actors import Actor

# The REST API tests share the tenants tests' helpers: error bodies, audit marks, tokens.
from tests.tenants.conftest import api_error, bearer, make_token, new_audit_events  # noqa: F401


def make_spec(
    paths: dict | None = None,
    *,
    version: str = "1.0.0",
    title: str = "Payments",
    components: dict | None = None,
) -> bytes:
    """A small valid OpenAPI 3.0 document as bytes."""
    paths = (
        paths
        if paths is not None
        else {
            "/payments": {
                "get": {
                    "summary": "List payments",
                    "operationId": "listPayments",
                    "responses": {"200": {"description": "ok"}},
                },
                "post": {
                    "summary": "Create a payment",
                    "operationId": "createPayment",
                    "responses": {"201": {"description": "created"}},
                },
            },
            "/payments/{id}/refunds": {
                "post": {
                    "summary": "Refund a payment",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {"201": {"description": "refunded"}},
                }
            },
        }
    )
    document = {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version},
        "servers": [{"url": "https://api.acme.test/v1"}],
        "paths": paths,
    }
    if components:
        document["components"] = components
    return json.dumps(document).encode()


def published_api(
    *, organisation, team, actor, name: str, slug: str, summary: str, **fields
) -> Api:
    """An API with one published version (``make_spec`` titled ``name``), made through the
    services as ``actor``; ``fields`` go to api_create (visibility: public unless said)."""
    fields.setdefault("visibility", Api.Visibility.PUBLIC)
    api = api_create(
        organisation=organisation,
        team=team,
        name=name,
        slug=slug,
        summary=summary,
        actor=actor,
        **fields,
    )
    version = version_create(api=api, raw=make_spec(title=name), actor=actor)
    version_transition(version=version, to_state="published", actor=actor)
    api.refresh_from_db()
    return api


@pytest.fixture
def api(cast):
    return api_create(
        organisation=cast.org,
        team=cast.team,
        name="Payments API",
        slug="payments",
        summary="Take and refund card payments.",
        tags=["payments", "cards"],
        visibility=Api.Visibility.ORGANISATION,
        actor=Actor.for_user(cast.maintainer),
    )


@pytest.fixture
def draft(api, cast):
    return version_create(api=api, raw=make_spec(), actor=Actor.for_user(cast.maintainer))


@pytest.fixture
def published(draft, cast):
    version_transition(version=draft, to_state="published", actor=Actor.for_user(cast.maintainer))
    draft.refresh_from_db()
    return draft
