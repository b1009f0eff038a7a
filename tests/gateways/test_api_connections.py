"""REST API of gateway connections, their runs and drift.

Members of the organisation read connections and runs; only owners and admins
write them or read drift. Secrets are write-only everywhere.
"""

import json

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apis.models import GatewayConnection, SyncRun
from apis.services.connections import schedule_name
from tenants.models import AuditEvent

from .moto_apis import create_rest_api

BASE = "/api/v1/organisations/acme"
SECRET = "sk-apipark-admin-4c8e1f2a9b7d3e50"
NEW_SECRET = "sk-apipark-rotated-a1b2c3d4e5f60718"


def schedule_of(connection) -> PeriodicTask:
    return PeriodicTask.objects.select_related("interval").get(name=schedule_name(connection))


def aws_body(aws, **overrides) -> dict:
    body = {
        "name": "prod",
        "kind": "aws_rest",
        "team": "payments",
        "config": {"region": "eu-west-1", "endpoint_url": aws.url},
        "interval_minutes": 30,
    }
    body.update(overrides)
    return body


# --- Writing ---------------------------------------------------------------------


def test_admin_creates_a_connection_and_its_schedule(aws, cast, api_for):
    response = api_for(cast.admin).post(f"{BASE}/connections/", aws_body(aws), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "aws_rest"
    assert body["team"] == "payments"
    assert body["config"] == {"region": "eu-west-1", "endpoint_url": aws.url}
    assert body["has_secret"] is False
    assert body["last_run"] is None
    assert "secret" not in body
    assert "sealed_secret" not in body
    task = schedule_of(GatewayConnection.objects.get(pk=body["id"]))
    assert task.interval.every == 30
    assert json.loads(task.args)[0] == body["id"]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "region"),
        ({"region": "eu-west-1", "base_url": "https://x.test"}, "config"),
        ({"region": "eu-west-1", "endpoint_url": "ftp://x"}, "endpoint_url"),
    ],
)
def test_config_is_checked_by_kind(config, field, aws, cast, api_for, api_error):
    response = api_for(cast.admin).post(
        f"{BASE}/connections/", aws_body(aws, config=config), format="json"
    )
    error = api_error(response, 400, "invalid")
    assert field in error["fields"]
    assert not GatewayConnection.objects.exists()


def test_a_secret_is_needed_by_kinds_that_use_one(cast, api_for, api_error):
    response = api_for(cast.admin).post(
        f"{BASE}/connections/",
        {
            "name": "park",
            "kind": "apipark",
            "team": "payments",
            "config": {"base_url": "https://p.test"},
        },
        format="json",
    )
    assert "secret" in api_error(response, 400)["fields"]


def test_a_team_of_another_organisation_is_refused(aws, cast, api_for, api_error):
    response = api_for(cast.admin).post(
        f"{BASE}/connections/", aws_body(aws, team="globex-team"), format="json"
    )
    assert "team" in api_error(response, 400)["fields"]
    assert not GatewayConnection.objects.exists()


def test_patching_the_interval_moves_the_schedule(cast, api_for, aws_connection):
    response = api_for(cast.owner).patch(
        f"{BASE}/connections/{aws_connection.pk}/",
        {"interval_minutes": 720, "enabled": False},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["interval_minutes"] == 720
    task = schedule_of(aws_connection)
    assert (task.interval.every, task.enabled) == (720, False)


def test_delete_removes_the_connection_and_its_schedule(cast, api_for, aws_connection):
    response = api_for(cast.admin).delete(f"{BASE}/connections/{aws_connection.pk}/")
    assert response.status_code == 204
    assert not GatewayConnection.objects.exists()
    assert not PeriodicTask.objects.filter(name=schedule_name(aws_connection)).exists()


def test_secrets_are_write_only_in_responses_and_never_audited(cast, api_for):
    client = api_for(cast.owner)
    created = client.post(
        f"{BASE}/connections/",
        {
            "name": "park",
            "kind": "apipark",
            "team": "payments",
            "config": {"base_url": "https://park.test"},
            "secret": SECRET,
        },
        format="json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json()["has_secret"] is True

    kept = client.patch(f"{BASE}/connections/{pk}/", {"name": "park2"}, format="json")
    assert GatewayConnection.objects.get(pk=pk).secret() == SECRET
    replaced = client.patch(f"{BASE}/connections/{pk}/", {"secret": NEW_SECRET}, format="json")
    assert replaced.status_code == 200
    assert GatewayConnection.objects.get(pk=pk).secret() == NEW_SECRET

    bodies = [
        created,
        kept,
        replaced,
        client.get(f"{BASE}/connections/"),
        client.get(f"{BASE}/connections/{pk}/"),
        client.get(f"{BASE}/audit-events/"),
    ]
    events = str(list(AuditEvent.objects.values("before", "after")))
    for secret in (SECRET, NEW_SECRET):
        for response in bodies:
            assert response.status_code in (200, 201)
            assert secret not in response.content.decode()
        assert secret not in events
    assert "secret" not in replaced.json()


# --- Sync and runs -------------------------------------------------------------------


def test_sync_answers_202_with_the_queued_run_which_then_runs(
    aws, apigw, cast, api_for, aws_connection, django_capture_on_commit_callbacks
):
    create_rest_api(apigw, "orders")
    client = api_for(cast.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{BASE}/connections/{aws_connection.pk}/sync/")
    assert response.status_code == 202
    queued = response.json()
    assert (queued["status"], queued["trigger"], queued["is_finished"]) == (
        "queued",
        "manual",
        False,
    )

    run = client.get(f"{BASE}/connections/{aws_connection.pk}/runs/{queued['id']}/").json()
    assert run["status"] == "succeeded"
    assert (run["new"], run["changed"], run["unchanged"], run["missing"]) == (1, 0, 0, 0)
    assert run["calls"] > 0
    assert run["duration_seconds"] >= 0
    listing = client.get(f"{BASE}/connections/{aws_connection.pk}/runs/").json()
    assert [r["id"] for r in listing["results"]] == [queued["id"]]
    connection = client.get(f"{BASE}/connections/{aws_connection.pk}/").json()
    assert connection["last_run"]["id"] == queued["id"]


def test_runs_of_another_connection_are_404(cast, api_for, aws_connection, make_connection):
    other = make_connection(name="other")
    run = SyncRun.objects.create(
        connection=other, organisation=cast.org, trigger=SyncRun.Trigger.SCHEDULE
    )
    response = api_for(cast.admin).get(f"{BASE}/connections/{aws_connection.pk}/runs/{run.pk}/")
    assert response.status_code == 404


# --- Roles and isolation ---------------------------------------------------------------


def test_members_read_connections_and_runs_but_change_nothing(
    aws, cast, api_for, aws_connection, api_error
):
    run = SyncRun.objects.create(
        connection=aws_connection,
        organisation=cast.org,
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
    )
    client = api_for(cast.member)
    pk = aws_connection.pk
    assert client.get(f"{BASE}/connections/").json()["count"] == 1
    assert client.get(f"{BASE}/connections/{pk}/").status_code == 200
    assert client.get(f"{BASE}/connections/{pk}/runs/").json()["count"] == 1
    assert client.get(f"{BASE}/connections/{pk}/runs/{run.pk}/").status_code == 200

    api_error(client.post(f"{BASE}/connections/", aws_body(aws), format="json"), 403)
    api_error(client.patch(f"{BASE}/connections/{pk}/", {"name": "x"}, format="json"), 403)
    api_error(client.delete(f"{BASE}/connections/{pk}/"), 403)
    api_error(client.post(f"{BASE}/connections/{pk}/sync/"), 403)
    assert GatewayConnection.objects.get(pk=pk).name == "aws"
    assert SyncRun.objects.count() == 1


def test_drift_is_for_admins_only(cast, api_for, api_error):
    api_error(api_for(cast.member).get(f"{BASE}/drift/"), 403)
    response = api_for(cast.admin).get(f"{BASE}/drift/")
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_read_token_cannot_sync(cast, aws_connection, make_token, bearer, api_error):
    _, plaintext = make_token(cast.owner, scope="read")
    client = bearer(plaintext)
    assert client.get(f"{BASE}/connections/").status_code == 200
    api_error(client.post(f"{BASE}/connections/{aws_connection.pk}/sync/"), 403)
    assert not SyncRun.objects.exists()


def test_outsiders_get_404_on_every_endpoint(aws, cast, api_for, aws_connection, api_error):
    run = SyncRun.objects.create(
        connection=aws_connection, organisation=cast.org, trigger=SyncRun.Trigger.SCHEDULE
    )
    pk = aws_connection.pk
    client = api_for(cast.outsider)
    calls = [
        ("get", f"{BASE}/connections/"),
        ("post", f"{BASE}/connections/"),
        ("get", f"{BASE}/connections/{pk}/"),
        ("patch", f"{BASE}/connections/{pk}/"),
        ("delete", f"{BASE}/connections/{pk}/"),
        ("post", f"{BASE}/connections/{pk}/sync/"),
        ("get", f"{BASE}/connections/{pk}/runs/"),
        ("get", f"{BASE}/connections/{pk}/runs/{run.pk}/"),
        ("get", f"{BASE}/drift/"),
    ]
    for method, path in calls:
        response = getattr(client, method)(path, aws_body(aws), format="json")
        api_error(response, 404)
    assert GatewayConnection.objects.get(pk=pk).name == "aws"
    assert SyncRun.objects.count() == 1


def test_a_connection_of_another_organisation_is_404_under_ours(cast, api_for):
    from apis.services.connections import connection_create
    from tenants.actors import Actor

    theirs = connection_create(
        organisation=cast.other_org,
        team=cast.other_team,
        name="theirs",
        kind="aws_rest",
        config={"region": "eu-west-1"},
        actor=Actor.for_user(cast.outsider),
    )
    client = api_for(cast.owner)
    assert client.get(f"{BASE}/connections/{theirs.pk}/").status_code == 404
    assert client.post(f"{BASE}/connections/{theirs.pk}/sync/").status_code == 404
    assert client.get(f"{BASE}/connections/{theirs.pk}/runs/").status_code == 404
    assert client.delete(f"{BASE}/connections/{theirs.pk}/").status_code == 404
    assert GatewayConnection.objects.filter(pk=theirs.pk).exists()
