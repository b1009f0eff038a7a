"""The OpenAPI-URL adapter: one document, fetched conditionally from a local server."""

import json

import pytest

from apis.models import Api, GatewayDeployment, SyncRun
from apis.services.connections import connection_create
from apis.services.sync import sync_connection
from tenants.actors import Actor

from .replay import ReplayServer, Reply


def spec(version: str = "1.0.0", *paths: str) -> bytes:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Pet Store", "version": version},
        "paths": {
            path: {"get": {"summary": path, "responses": {"200": {"description": "OK"}}}}
            for path in ("/pets", *paths)
        },
    }
    return json.dumps(document).encode()


class Document:
    """A document served with an ETag, answering 304 to a matching If-None-Match."""

    def __init__(self, body: bytes, etag: str = '"v1"', last_modified: str = ""):
        self.body, self.etag, self.last_modified = body, etag, last_modified

    def __call__(self, request) -> Reply:
        headers = {"Content-Type": "application/json"}
        if self.etag:
            headers["ETag"] = self.etag
        if self.last_modified:
            headers["Last-Modified"] = self.last_modified
        if (self.etag and request.header("If-None-Match") == self.etag) or (
            self.last_modified and request.header("If-Modified-Since") == self.last_modified
        ):
            return Reply(304, b"", headers)
        return Reply(200, self.body, headers)


@pytest.fixture
def server():
    with ReplayServer() as replay:
        yield replay


def connect(cast, url: str, **config) -> object:
    return connection_create(
        organisation=cast.org,
        team=cast.team,
        name="pet store",
        kind="openapi_url",
        config={"url": url, **config},
        actor=Actor.for_user(cast.owner),
    )


def sync(connection) -> SyncRun:
    return sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)


def test_first_sync_creates_the_api(cast, server):
    server.add("GET", "/openapi.json", Document(spec()))
    connection = connect(cast, f"{server.url}/openapi.json")

    run = sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert (run.new, run.calls) == (1, 1)
    api = Api.objects.get(connection=connection)
    assert (api.name, api.kind, api.external_id) == ("Pet Store", "rest", connection.config["url"])
    assert [(o.method, o.path) for o in api.current_version.operations.all()] == [("get", "/pets")]
    assert GatewayDeployment.objects.get(api=api).fingerprint == 'etag:"v1"'


def test_unchanged_document_answers_304_and_nothing_is_made(cast, server):
    server.add("GET", "/openapi.json", Document(spec()))
    connection = connect(cast, f"{server.url}/openapi.json")
    sync(connection)

    again = sync(connection)

    assert again.status == SyncRun.Status.SUCCEEDED, again.errors
    assert (again.new, again.changed, again.unchanged, again.calls) == (0, 0, 1, 1)
    first, second = server.received("GET", "/openapi.json")
    assert first.header("If-None-Match") == ""
    assert second.header("If-None-Match") == '"v1"'
    assert Api.objects.get(connection=connection).versions.count() == 1


def test_changed_document_gives_one_new_version(cast, server):
    server.add("GET", "/openapi.json", Document(spec()))
    connection = connect(cast, f"{server.url}/openapi.json", name="Pets")
    sync(connection)
    server.add("GET", "/openapi.json", Document(spec("1.1.0", "/owners"), etag='"v2"'))

    run = sync(connection)
    again = sync(connection)

    assert (run.changed, again.unchanged) == (1, 1)
    api = Api.objects.get(connection=connection)
    assert api.name == "Pets"
    assert list(api.versions.order_by("created_at").values_list("version", flat=True)) == [
        "1.0.0",
        "1.1.0",
    ]
    assert GatewayDeployment.objects.get(api=api).fingerprint == 'etag:"v2"'


def test_last_modified_is_sent_back_when_there_is_no_etag(cast, server):
    stamp = "Wed, 21 Oct 2026 07:28:00 GMT"
    server.add("GET", "/spec", Document(spec(), etag="", last_modified=stamp))
    connection = connect(cast, f"{server.url}/spec")
    sync(connection)

    again = sync(connection)

    assert again.unchanged == 1
    assert server.received("GET", "/spec")[-1].header("If-Modified-Since") == stamp


def test_server_without_validators_is_compared_by_content(cast, server):
    server.add("GET", "/spec", Reply(200, spec(), {"Content-Type": "application/json"}))
    connection = connect(cast, f"{server.url}/spec")
    sync(connection)

    again = sync(connection)

    assert (again.changed, again.unchanged) == (0, 1)
    assert Api.objects.get(connection=connection).versions.count() == 1
    assert GatewayDeployment.objects.get(connection=connection).fingerprint.startswith("sha256:")


def test_missing_document_fails_the_connection(cast, server):
    connection = connect(cast, f"{server.url}/nothing-here.json")

    run = sync(connection)

    assert run.status == SyncRun.Status.FAILED
    assert run.errors == [{"where": "connection", "message": "127.0.0.1 answered HTTP 404."}]


def test_private_networks_can_be_refused(cast, server, settings):
    settings.GATEWAY_ALLOW_PRIVATE_NETWORKS = False
    server.add("GET", "/openapi.json", Document(spec()))
    connection = connect(cast, f"{server.url}/openapi.json")

    run = sync(connection)

    assert run.status == SyncRun.Status.FAILED
    assert "private, loopback or link-local" in run.errors[0]["message"]
    assert server.requests == []
