"""Gateway sync when AWS misbehaves: throttling, server errors, dropped connections, an
endpoint nobody listens on, and exports that are or are not usable. Faults come from a
proxy in front of moto (faults.py); boto3's standard retry mode does the retrying."""

import json

import pytest
from django.core.management import CommandError, call_command

from apis.demo_gateways import RestApiShape, RestMethod, clients, rest_api_put
from apis.models import Api, GatewayConnection, SyncRun
from tests.emulators import free_port

from .aws_fixtures import connect, sync_run

STAGES = r"^GET /restapis/\w+/stages$"
APIS = r"^GET /restapis$"


pytestmark = pytest.mark.usefixtures("few_attempts")


@pytest.fixture
def apis(aws):
    apigw, _ = clients(aws.url)
    shapes = [
        RestApiShape(
            name=f"Faulty {i}",
            description="",
            version="1.0.0",
            methods=(RestMethod("GET", "/things"), RestMethod("ANY", "/things/{proxy+}")),
            stages={"prod": {}},
        )
        for i in range(3)
    ]
    return [rest_api_put(apigw, shape) for shape in shapes]


def test_throttling_is_retried_and_the_retries_are_counted(apis, proxy, cast):
    proxy.add(APIS, "throttle", times=2)
    connection = connect(cast, proxy.url)

    run = sync_run(connection)

    assert (run.status, run.errors, run.new) == (SyncRun.Status.SUCCEEDED, [], 3)
    assert proxy.count(APIS) == 3  # two throttled, then the answer
    assert run.calls == len(proxy.requests)


def test_server_errors_and_dropped_connections_are_retried(apis, proxy, cast):
    proxy.add(STAGES, "error", times=2)
    proxy.add(r"^GET /restapis/\w+/resources$", "close", times=1)
    proxy.add(r"^GET /usageplans$", "error", times=1)
    connection = connect(cast, proxy.url)

    run = sync_run(connection)

    assert (run.status, run.errors, run.new) == (SyncRun.Status.SUCCEEDED, [], 3)
    assert [f.hits for f in proxy.faults] == [2, 1, 1]
    assert proxy.count(STAGES) == len(apis) + 2
    assert run.calls == len(proxy.requests)
    assert Api.objects.filter(connection=connection).count() == 3


def test_throttling_past_the_attempts_fails_the_run(apis, proxy, cast):
    proxy.add(APIS, "throttle", times=None)
    connection = connect(cast, proxy.url)

    run = sync_run(connection)

    assert run.status == SyncRun.Status.FAILED
    assert run.errors == [
        {"where": "connection", "message": "AWS refused GetRestApis: TooManyRequestsException"}
    ]
    assert proxy.count(APIS) == 3
    assert run.calls == len(proxy.requests)
    connection.refresh_from_db()
    assert (connection.running_since, connection.last_run) == (None, run)


def test_an_unreachable_endpoint_fails_only_its_connection(apis, aws, cast):
    dead = connect(cast, f"http://127.0.0.1:{free_port()}", name="Dead account")
    alive = connect(cast, aws.url, name="Live account")

    with pytest.raises(CommandError, match="1 of 2 syncs failed"):
        call_command("sync_gateways", "--org", cast.org.slug)

    dead_run = SyncRun.objects.get(connection=dead)
    assert dead_run.status == SyncRun.Status.FAILED
    assert dead_run.errors == [
        {"where": "connection", "message": "Could not connect to the AWS endpoint."}
    ]
    # The first call (custom domains) is tried every attempt, and nothing after it.
    assert dead_run.calls == 3
    alive_run = SyncRun.objects.get(connection=alive)
    assert (alive_run.status, alive_run.new) == (SyncRun.Status.SUCCEEDED, 3)
    assert not GatewayConnection.objects.filter(running_since__isnull=False).exists()
    assert not Api.objects.filter(connection=dead).exists()


def _export(paths: dict) -> bytes:
    return json.dumps(
        {"openapi": "3.0.1", "info": {"title": "Exported", "version": "7.0"}, "paths": paths}
    ).encode()


def test_a_usable_export_is_the_spec_and_a_broken_one_is_refused(apis, proxy, cast):
    good, broken, plain = apis
    proxy.add(
        rf"^GET /restapis/{good}/stages/prod/exports/oas30$",
        "body",
        times=None,
        body=_export(
            {
                "/things/{proxy+}": {
                    "get": {
                        "summary": "Everything under things",
                        "parameters": [
                            {
                                "name": "proxy",
                                "in": "path",
                                "required": True,
                                "schema": {"type": "string"},
                            },
                        ],
                        "responses": {"200": {"description": "ok"}},
                    }
                }
            }
        ),
    )
    proxy.add(
        rf"^GET /restapis/{broken}/stages/prod/exports/oas30$",
        "body",
        times=None,
        body=_export({"/things": {"get": {"responses": "none"}}}),
    )
    connection = connect(cast, proxy.url)

    run = sync_run(connection)

    assert (run.status, run.new) == (SyncRun.Status.PARTIAL, 2), run.errors
    assert [e["where"] for e in run.errors] == ["Faulty 1"]
    assert run.errors[0]["message"] == (
        "The spec of stage prod was refused: The spec is not a valid OpenAPI 3.0 document "
        '(1 problems). First: "none" is not of type "object" at /paths/~1things/get/responses.'
    )
    exported = Api.objects.get(external_id=good).current_version
    # Exported as is, but for the greedy path, which OpenAPI cannot express.
    assert [(o.method, o.path, o.summary) for o in exported.operations.all()] == [
        ("get", "/things/{proxy}", "Everything under things")
    ]
    assert exported.spec.document["info"] == {"title": "Exported", "version": "7.0"}
    built = Api.objects.get(external_id=plain).current_version
    assert {(o.method, o.path) for o in built.operations.all()} == {("get", "/things")} | {
        (verb, "/things/{proxy}") for verb in ("get", "post", "put", "delete", "patch")
    }
    assert not Api.objects.filter(external_id=broken).exists()


def test_an_unexpected_failure_in_one_api_costs_only_that_api(apis, aws, cast, monkeypatch):
    from apis.services import sync

    real_ingest = sync.ingest

    def ingest(raw, **kwargs):
        if b"Faulty 2" in raw:
            raise RuntimeError("a bug in the parser")
        return real_ingest(raw, **kwargs)

    monkeypatch.setattr(sync, "ingest", ingest)
    connection = connect(cast, aws.url)

    run = sync_run(connection)

    assert (run.status, run.new) == (SyncRun.Status.PARTIAL, 2), run.errors
    assert run.errors == [{"where": "Faulty 2", "message": "Unexpected error; see the logs."}]
    assert "a bug in the parser" not in str(run.errors)
