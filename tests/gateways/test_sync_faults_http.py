"""HTTP API sync when AWS misbehaves, as test_sync_faults.py does for REST APIs:
throttling, server errors, dropped connections, an endpoint nobody listens on, and an
export the gateway answers. Faults come from the proxy in front of moto (faults.py)."""

import json

import pytest
from django.core.management import CommandError, call_command

from apis.demo_gateways import HttpApiShape, HttpRoute, clients, http_api_put
from apis.models import Api, GatewayConnection, SyncRun
from tests.emulators import free_port

from .aws_fixtures import connect, sync_run

APIS = r"^GET /v2/apis$"
STAGES = r"^GET /v2/apis/\w+/stages$"
ROUTES = r"^GET /v2/apis/\w+/routes$"


pytestmark = pytest.mark.usefixtures("few_attempts")


@pytest.fixture
def apis(aws):
    _, apigw2 = clients(aws.url)
    shapes = [
        HttpApiShape(
            name=f"Faulty HTTP {i}",
            description="",
            version="1.0.0",
            routes=(HttpRoute("GET /things"), HttpRoute("ANY /things/{proxy+}")),
            stages={"prod": {}},
        )
        for i in range(3)
    ]
    return [http_api_put(apigw2, shape) for shape in shapes]


def _export_of(api_id: str) -> str:
    return rf"^GET /v2/apis/{api_id}/exports/OAS30$"


def test_throttling_is_retried_and_the_retries_are_counted(apis, proxy, cast):
    proxy.add(APIS, "throttle", times=2)
    connection = connect(cast, proxy.url, kind="aws_http")

    run = sync_run(connection)

    assert (run.status, run.errors, run.new) == (SyncRun.Status.SUCCEEDED, [], 3)
    assert proxy.count(APIS) == 3  # two throttled, then the answer
    assert run.calls == len(proxy.requests)


def test_server_errors_and_dropped_connections_are_retried(apis, proxy, cast):
    proxy.add(STAGES, "error", times=2)
    proxy.add(ROUTES, "close", times=1)
    connection = connect(cast, proxy.url, kind="aws_http")

    run = sync_run(connection)

    assert (run.status, run.errors, run.new) == (SyncRun.Status.SUCCEEDED, [], 3)
    assert [f.hits for f in proxy.faults] == [2, 1]
    assert proxy.count(STAGES) == len(apis) + 2
    assert proxy.count(ROUTES) == len(apis) + 1
    assert run.calls == len(proxy.requests)
    assert Api.objects.filter(connection=connection).count() == 3


def test_server_errors_past_the_attempts_cost_only_their_api(apis, proxy, cast):
    broken = apis[1]
    fault = proxy.add(_export_of(broken), "error", times=None)
    connection = connect(cast, proxy.url, kind="aws_http")

    run = sync_run(connection)

    assert (run.status, run.new) == (SyncRun.Status.PARTIAL, 2)
    assert run.errors == [
        {"where": "Faulty HTTP 1", "message": "AWS refused ExportApi: InternalFailure"}
    ]
    assert proxy.count(_export_of(broken)) == 3  # every attempt, then the API gives up
    assert run.calls == len(proxy.requests)
    assert not Api.objects.filter(external_id=broken).exists()

    fault.times = 0  # the gateway recovers: the next run brings the API, and only it
    again = sync_run(connection)

    assert (again.status, again.new, again.unchanged) == (SyncRun.Status.SUCCEEDED, 1, 2)
    assert Api.objects.filter(connection=connection).count() == 3


def test_throttling_past_the_attempts_fails_the_run(apis, proxy, cast):
    proxy.add(APIS, "throttle", times=None)
    connection = connect(cast, proxy.url, kind="aws_http")

    run = sync_run(connection)

    assert run.status == SyncRun.Status.FAILED
    assert run.errors == [
        {"where": "connection", "message": "AWS refused GetApis: TooManyRequestsException"}
    ]
    assert proxy.count(APIS) == 3
    assert run.calls == len(proxy.requests)
    connection.refresh_from_db()
    assert (connection.running_since, connection.last_run) == (None, run)


def test_an_unreachable_endpoint_fails_only_its_connection(apis, aws, cast):
    dead = connect(cast, f"http://127.0.0.1:{free_port()}", kind="aws_http", name="Dead")
    alive = connect(cast, aws.url, kind="aws_http", name="Live")

    with pytest.raises(CommandError, match="1 of 2 syncs failed"):
        call_command("sync_gateways", "--org", cast.org.slug)

    dead_run = SyncRun.objects.get(connection=dead)
    assert dead_run.status == SyncRun.Status.FAILED
    assert dead_run.errors == [
        {"where": "connection", "message": "Could not connect to the AWS endpoint."}
    ]
    assert dead_run.calls == 3  # the first call (APIs), every attempt, and nothing after it
    alive_run = SyncRun.objects.get(connection=alive)
    assert (alive_run.status, alive_run.errors, alive_run.new) == (
        SyncRun.Status.SUCCEEDED,
        [],
        3,
    )
    assert not GatewayConnection.objects.filter(running_since__isnull=False).exists()
    assert not Api.objects.filter(connection=dead).exists()


def test_an_export_the_gateway_answers_is_the_spec(apis, proxy, cast):
    exported, built, _ = apis
    document = {
        "openapi": "3.0.1",
        "info": {"title": "Exported", "version": "7.0"},
        "servers": [{"url": "https://example.execute-api.eu-west-1.amazonaws.com/prod"}],
        "paths": {
            "/things": {
                "get": {
                    "summary": "All the things",
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": {"type": "http_proxy", "uri": "https://b"},
                }
            }
        },
    }
    proxy.add(_export_of(exported), "body", times=None, body=json.dumps(document).encode())
    connection = connect(cast, proxy.url, kind="aws_http")

    run = sync_run(connection)

    assert (run.status, run.errors, run.new) == (SyncRun.Status.SUCCEEDED, [], 3)
    version = Api.objects.get(external_id=exported).current_version
    assert [(o.method, o.path, o.summary) for o in version.operations.all()] == [
        ("get", "/things", "All the things")
    ]
    assert version.spec.document["info"] == {"title": "Exported", "version": "7.0"}
    assert "servers" not in version.spec.document
    # moto has no export of its own: the others are built from their routes.
    other = Api.objects.get(external_id=built).current_version
    assert {(o.method, o.path) for o in other.operations.all()} == {("get", "/things")} | {
        (verb, "/things/{proxy}") for verb in ("get", "post", "put", "delete", "patch")
    }
