"""The APIPark adapter against answers shaped as APIPark's source writes them
(tests/fixtures/apipark, see its README), replayed by a local server."""

import json
import logging
from pathlib import Path

import pytest

from apis.models import Api, GatewayDeployment, SyncRun
from apis.services.connections import connection_create
from apis.services.sync import sync_connection
from tenants.actors import Actor
from tenants.models import AuditEvent

from .replay import ReplayServer, Reply

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "apipark"
TOKEN = "3f1c9a0e-apipark-session-7d2b"
ORDERS = "b7f0c1de-2a3b-4c5d-8e9f-0a1b2c3d4e51"
INVENTORY = "c8a1d2ef-3b4c-4d5e-9fa0-1b2c3d4e5f62"
AI = "d9b2e3f0-4c5d-4e6f-a0b1-2c3d4e5f6a73"


def recorded(name: str, status: int = 200) -> Reply:
    return Reply.json_file(FIXTURES / name, status=status)


def api_doc(request):
    service = request.query.get("service", [""])[0]
    return recorded("api_doc_orders.json" if service == ORDERS else "api_doc_none.json")


@pytest.fixture
def apipark(settings):
    settings.GATEWAY_RETRY_BASE_DELAY = 0
    with ReplayServer() as server:
        server.add("GET", "/api/v1/system/general", recorded("system_general.json"))
        server.add("GET", "/api/v1/services", recorded("services.json"))
        server.add("GET", "/api/v1/service/api_doc", api_doc)
        server.add("GET", "/api/v1/service/routers", recorded("routers_inventory.json"))
        server.add("GET", "/api/v1/service/ai-routers", recorded("ai_routers_openai.json"))
        yield server


@pytest.fixture
def connection(cast, apipark):
    return connection_create(
        organisation=cast.org,
        team=cast.team,
        name="apipark",
        kind="apipark",
        config={"base_url": apipark.url},
        secret=TOKEN,
        actor=Actor.for_user(cast.owner),
    )


def sync(connection) -> SyncRun:
    return sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)


def operations(api: Api) -> list[tuple[str, str]]:
    return sorted((o.method, o.path) for o in api.current_version.operations.all())


def test_sync_brings_rest_and_ai_services(connection, apipark):
    run = sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert run.new == 3
    apis = {a.external_id: a for a in Api.objects.filter(connection=connection)}
    assert {k: (a.name, a.kind) for k, a in apis.items()} == {
        ORDERS: ("Orders", "rest"),
        INVENTORY: ("Inventory", "rest"),
        AI: ("openai AI Service", "ai"),
    }
    # the document APIPark stores
    assert operations(apis[ORDERS]) == [("get", "/orders/list"), ("get", "/orders/{id}")]
    assert apis[ORDERS].current_version.version == "1.0.0"
    # built from the routes: the disabled one left out, the wildcard as its prefix
    assert operations(apis[INVENTORY]) == [
        ("delete", "/inventory"),
        ("get", "/inventory"),
        ("get", "/inventory/items/{sku}"),
        ("options", "/inventory"),
        ("patch", "/inventory"),
        ("post", "/inventory"),
        ("put", "/inventory"),
    ]
    assert operations(apis[AI]) == [("post", "/d9b2e3f0/chat")]
    chat = apis[AI].current_version.spec.document["paths"]["/d9b2e3f0/chat"]["post"]
    assert chat["x-apipark-model"] == {
        "provider": "OpenAI",
        "model": "gpt-4o-mini",
        "type": "online",
    }
    assert {"apipark", "ai", "openai"} <= {t.name for t in apis[AI].tags.all()}
    deployment = GatewayDeployment.objects.get(api=apis[INVENTORY])
    assert deployment.invoke_url == "http://127.0.0.1:8099"
    assert apis[INVENTORY].current_version.base_url == "http://127.0.0.1:8099"

    first = apipark.requests[0]
    assert first.header("Authorization") == TOKEN
    assert first.header("Cookie") == f"session={TOKEN}"
    assert [r.query for r in apipark.received("GET", "/api/v1/service/routers")] == [
        {"service": [INVENTORY]}
    ]


def test_unchanged_services_make_no_versions(connection, apipark):
    first = sync(connection)

    again = sync(connection)

    assert (again.new, again.changed, again.unchanged) == (0, 0, 3)
    assert sum(a.versions.count() for a in Api.objects.filter(connection=connection)) == 3
    # settings, the list, one document per service and the routes of the two without one
    assert again.calls == first.calls == 7


def test_changed_document_gives_one_new_version(connection, apipark):
    sync(connection)
    apipark.add(
        "GET",
        "/api/v1/service/api_doc",
        lambda r: recorded(
            "api_doc_orders_changed.json" if r.query["service"] == [ORDERS] else "api_doc_none.json"
        ),
    )

    run = sync(connection)

    assert (run.new, run.changed, run.unchanged) == (0, 1, 2), run.errors
    orders = Api.objects.get(connection=connection, external_id=ORDERS)
    assert orders.versions.count() == 2
    assert ("post", "/orders/{id}/cancel") in operations(orders)


def test_refusal_in_the_answer_body_fails_the_connection(connection, apipark):
    apipark.add("GET", "/api/v1/services", recorded("refused.json"))

    run = sync(connection)

    assert run.status == SyncRun.Status.FAILED
    assert run.errors == [
        {"where": "connection", "message": "APIPark refused /api/v1/services: permission denied"}
    ]


def test_not_logged_in_fails_the_connection_without_showing_the_token(connection, apipark, caplog):
    caplog.set_level(logging.DEBUG)
    apipark.add("GET", "/api/v1/system/general", recorded("not_login.json", status=401))

    run = sync(connection)

    assert run.status == SyncRun.Status.FAILED
    assert run.errors == [
        {"where": "connection", "message": "The gateway refused the credentials (HTTP 401)."}
    ]
    assert TOKEN not in caplog.text
    assert TOKEN not in json.dumps(list(AuditEvent.objects.values("before", "after")))
