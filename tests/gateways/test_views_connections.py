"""The gateway pages: list, add, edit, delete, the connection page, runs and "Sync now"."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apis.models import Api, GatewayConnection, SyncRun
from apis.services.connections import schedule_name
from tenants.models import AuditEvent

from .moto_apis import create_rest_api

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, **kwargs):
    return reverse(f"apis:{name}", kwargs={"org": "acme", **kwargs})


def schedule_of(connection) -> PeriodicTask:
    return PeriodicTask.objects.select_related("interval").get(name=schedule_name(connection))


def aws_form(aws, **overrides):
    data = {
        "kind": "aws_rest",
        "name": "Production account",
        "team": "",
        "region": "eu-west-1",
        "endpoint_url": aws.url,
        "role_arn": "",
        "external_id": "",
        "visibility": "organisation",
        "interval_minutes": "15",
        "enabled": "on",
    }
    data.update(overrides)
    return data


# --- Adding -----------------------------------------------------------------------


def test_admin_adds_an_aws_connection_and_its_schedule_exists(aws, cast, client_for):
    client = client_for(cast.admin)
    response = client.post(url("connection_new"), aws_form(aws, team=cast.team.pk))
    connection = GatewayConnection.objects.get(organisation=cast.org)
    assert response.status_code == 302
    assert response["Location"] == connection.get_absolute_url()
    assert connection.config == {"region": "eu-west-1", "endpoint_url": aws.url}
    task = schedule_of(connection)
    assert (task.interval.every, task.interval.period) == (15, "minutes")
    assert task.enabled
    assert task.task == "apis.tasks.sync_connection"


def test_the_new_page_asks_for_the_kind_first_then_shows_its_settings(cast, client_for):
    client = client_for(cast.admin)
    chooser = client.get(url("connection_new")).content.decode()
    assert "?kind=aws_rest" in chooser
    assert "?kind=litellm" in chooser
    assert 'name="region"' not in chooser

    aws_page = client.get(url("connection_new") + "?kind=aws_rest").content.decode()
    for field in ("region", "endpoint_url", "role_arn", "external_id"):
        assert f'name="{field}"' in aws_page
    assert 'name="base_url"' not in aws_page
    assert 'name="secret"' not in aws_page

    litellm_page = client.get(url("connection_new") + "?kind=litellm").content.decode()
    assert 'name="base_url"' in litellm_page
    assert 'name="secret"' in litellm_page
    assert 'name="region"' not in litellm_page

    openapi_page = client.get(url("connection_new") + "?kind=openapi_url").content.decode()
    assert 'name="url"' in openapi_page
    assert 'name="api_name"' in openapi_page


def test_a_form_with_errors_answers_400_and_creates_nothing(aws, cast, client_for):
    client = client_for(cast.admin)
    response = client.post(url("connection_new"), aws_form(aws, team=cast.team.pk, region=""))
    assert response.status_code == 400
    assert "field--invalid" in response.content.decode()
    assert not GatewayConnection.objects.exists()


def test_a_taken_name_is_shown_on_the_form(aws, cast, client_for, make_connection):
    make_connection(name="Production account")
    response = client_for(cast.admin).post(url("connection_new"), aws_form(aws, team=cast.team.pk))
    assert response.status_code == 400
    assert "A connection with this name exists." in response.content.decode()


def test_an_unknown_kind_posted_shows_the_kind_choice(cast, client_for):
    response = client_for(cast.admin).post(url("connection_new"), {"kind": "ftp"})
    assert response.status_code == 400
    assert "?kind=aws_rest" in response.content.decode()


def test_a_team_of_another_organisation_cannot_be_chosen(aws, cast, client_for):
    response = client_for(cast.admin).post(
        url("connection_new"), aws_form(aws, team=cast.other_team.pk)
    )
    assert response.status_code == 400
    assert not GatewayConnection.objects.exists()


# --- Roles -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member", "maintainer"])
def test_members_cannot_add_change_delete_or_sync(role, aws, cast, client_for, aws_connection):
    client = client_for(getattr(cast, role))
    pk = aws_connection.pk
    assert client.get(url("connection_new")).status_code == 403
    assert client.post(url("connection_new"), aws_form(aws, team=cast.team.pk)).status_code == 403
    assert client.get(url("connection_edit", pk=pk)).status_code == 403
    assert client.post(url("connection_edit", pk=pk), {"name": "x"}).status_code == 403
    assert client.post(url("connection_delete", pk=pk)).status_code == 403
    assert client.post(url("connection_sync", pk=pk)).status_code == 403
    assert client.get(url("drift")).status_code == 403
    assert GatewayConnection.objects.filter(organisation=cast.org).count() == 1
    assert not SyncRun.objects.exists()


def test_members_read_connections_and_runs(cast, client_for, aws_connection):
    run = SyncRun.objects.create(
        connection=aws_connection,
        organisation=cast.org,
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
    )
    client = client_for(cast.member)
    listing = client.get(url("connection_list"))
    assert listing.status_code == 200
    assert aws_connection.name in listing.content.decode()
    assert "Add a connection" not in listing.content.decode()
    page = client.get(url("connection", pk=aws_connection.pk))
    assert page.status_code == 200
    assert "Sync now" not in page.content.decode()
    assert client.get(url("connection_run", pk=aws_connection.pk, run=run.pk)).status_code == 200


def test_the_gateways_link_is_in_the_navigation_of_admins_only(cast, client_for):
    link = f'href="{url("connection_list")}"'
    assert link in client_for(cast.admin).get(url("connection_list")).content.decode()
    assert link not in client_for(cast.member).get(url("connection_list")).content.decode()


def test_outsiders_get_404_on_every_gateway_page(cast, client_for, aws_connection):
    run = SyncRun.objects.create(
        connection=aws_connection, organisation=cast.org, trigger=SyncRun.Trigger.SCHEDULE
    )
    pk = aws_connection.pk
    client = client_for(cast.outsider)
    pages = [
        url("connection_list"),
        url("connection_new"),
        url("connection", pk=pk),
        url("connection_edit", pk=pk),
        url("connection_delete", pk=pk),
        url("connection_sync", pk=pk),
        url("connection_run", pk=pk, run=run.pk),
        url("drift"),
    ]
    for page in pages:
        assert client.get(page).status_code == 404, page
        assert client.post(page, {"name": "taken", "kind": "aws_rest"}).status_code == 404, page
    assert GatewayConnection.objects.get(pk=pk).name == aws_connection.name
    assert PeriodicTask.objects.filter(name=schedule_name(aws_connection)).exists()


def test_a_connection_of_another_organisation_is_404_under_ours(cast, client_for):
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
    client = client_for(cast.owner)
    assert client.get(url("connection", pk=theirs.pk)).status_code == 404
    assert client.post(url("connection_sync", pk=theirs.pk)).status_code == 404
    assert client.post(url("connection_delete", pk=theirs.pk)).status_code == 404
    assert GatewayConnection.objects.filter(pk=theirs.pk).exists()


# --- Editing and deleting ----------------------------------------------------------


def test_editing_the_interval_moves_the_schedule(aws, cast, client_for, aws_connection):
    assert schedule_of(aws_connection).interval.every == 60
    response = client_for(cast.admin).post(
        url("connection_edit", pk=aws_connection.pk),
        aws_form(aws, name="aws", team=cast.team.pk, interval_minutes="240", enabled=""),
    )
    assert response.status_code == 302
    task = schedule_of(aws_connection)
    assert (task.interval.every, task.interval.period) == (240, "minutes")
    assert not task.enabled
    aws_connection.refresh_from_db()
    assert (aws_connection.interval_minutes, aws_connection.enabled) == (240, False)


def test_an_interval_out_of_range_is_refused(aws, cast, client_for, aws_connection):
    response = client_for(cast.admin).post(
        url("connection_edit", pk=aws_connection.pk),
        aws_form(aws, name="aws", team=cast.team.pk, interval_minutes="1"),
    )
    assert response.status_code == 400
    assert schedule_of(aws_connection).interval.every == 60


def test_the_edit_form_shows_the_settings_of_the_connection(cast, client_for, aws_connection):
    page = client_for(cast.admin).get(url("connection_edit", pk=aws_connection.pk))
    assert page.status_code == 200
    assert aws_connection.config["endpoint_url"] in page.content.decode()
    assert 'name="kind"' not in page.content.decode()


def test_delete_asks_first_then_removes_the_connection_and_its_schedule(
    cast, client_for, aws_connection
):
    client = client_for(cast.admin)
    confirm = client.get(url("connection_delete", pk=aws_connection.pk))
    assert confirm.status_code == 200
    assert "Delete aws?" in confirm.content.decode()
    assert GatewayConnection.objects.filter(pk=aws_connection.pk).exists()

    response = client.post(url("connection_delete", pk=aws_connection.pk))
    assert response.status_code == 302
    assert response["Location"] == url("connection_list")
    assert not GatewayConnection.objects.filter(pk=aws_connection.pk).exists()
    assert not PeriodicTask.objects.filter(name=schedule_name(aws_connection)).exists()


def test_a_running_connection_is_not_deleted(cast, client_for, aws_connection):
    GatewayConnection.objects.filter(pk=aws_connection.pk).update(running_since=timezone.now())
    response = client_for(cast.admin).post(url("connection_delete", pk=aws_connection.pk))
    assert response.status_code == 302
    assert response["Location"] == aws_connection.get_absolute_url()
    assert GatewayConnection.objects.filter(pk=aws_connection.pk).exists()


# --- Sync now ----------------------------------------------------------------------


def test_sync_now_queues_a_run_and_its_status_box_polls_until_it_finishes(
    aws, apigw, cast, client_for, aws_connection, django_capture_on_commit_callbacks
):
    create_rest_api(apigw, "orders")
    client = client_for(cast.admin)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url("connection_sync", pk=aws_connection.pk), **HTMX)
    assert response.status_code == 200
    assert len(callbacks) == 1
    run = SyncRun.objects.get(connection=aws_connection)
    box = response.content.decode()
    assert 'id="run-status"' in box
    assert 'data-status="queued"' in box
    assert 'hx-trigger="every 1s"' in box
    assert url("connection_run", pk=aws_connection.pk, run=run.pk) in box
    assert "<html" not in box

    # The worker (eager in tests) has run it; the next poll shows it done and stops.
    status = client.get(url("connection_run", pk=aws_connection.pk, run=run.pk), **HTMX)
    finished = status.content.decode()
    assert status.status_code == 200
    assert 'data-status="succeeded"' in finished
    assert "hx-trigger" not in finished
    assert "1 new" in finished
    run.refresh_from_db()
    assert (run.trigger, run.status, run.new) == ("manual", "succeeded", 1)


def test_sync_now_without_javascript_redirects_to_the_connection(
    cast, client_for, aws_connection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(cast.admin).post(url("connection_sync", pk=aws_connection.pk))
    assert response.status_code == 302
    assert response["Location"] == aws_connection.get_absolute_url()
    page = client_for(cast.admin).get(aws_connection.get_absolute_url()).content.decode()
    # The queued run polls on the connection page too.
    assert 'data-status="queued"' in page
    assert 'hx-trigger="every 1s"' in page


def test_sync_now_twice_gives_the_same_queued_run(
    cast, client_for, aws_connection, django_capture_on_commit_callbacks
):
    client = client_for(cast.admin)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(url("connection_sync", pk=aws_connection.pk), **HTMX)
        client.post(url("connection_sync", pk=aws_connection.pk), **HTMX)
    assert SyncRun.objects.filter(connection=aws_connection).count() == 1


def test_the_connection_page_shows_runs_and_apis_with_missing_ones_marked(
    aws, apigw, cast, client_for, aws_connection
):
    from apis.services.sync import sync_connection

    create_rest_api(apigw, "orders")
    gone = create_rest_api(apigw, "legacy")
    sync_connection(connection=aws_connection, trigger=SyncRun.Trigger.COMMAND)
    apigw.delete_rest_api(restApiId=gone)
    run = sync_connection(connection=aws_connection, trigger=SyncRun.Trigger.COMMAND)
    assert run.missing == 1

    page = client_for(cast.admin).get(aws_connection.get_absolute_url()).content.decode()
    assert "orders" in page
    assert "legacy" in page
    assert page.count("missing since") == 1
    legacy = Api.objects.get(connection=aws_connection, external_id=gone)
    assert f'href="{legacy.get_absolute_url()}"' in page
    assert f"{run.calls}</td>" in page  # the calls column of the run


def test_the_run_page_lists_its_errors(cast, client_for, aws_connection):
    run = SyncRun.objects.create(
        connection=aws_connection,
        organisation=cast.org,
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.PARTIAL,
        finished_at=timezone.now(),
        errors=[{"where": "orders", "message": "The spec of stage prod was refused."}],
    )
    page = client_for(cast.member).get(url("connection_run", pk=aws_connection.pk, run=run.pk))
    assert "The spec of stage prod was refused." in page.content.decode()
    assert "hx-trigger" not in page.content.decode()


def test_the_list_shows_each_connections_last_run(cast, client_for, aws_connection):
    run = SyncRun.objects.create(
        connection=aws_connection,
        organisation=cast.org,
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
    )
    GatewayConnection.objects.filter(pk=aws_connection.pk).update(last_run=run)
    page = client_for(cast.member).get(url("connection_list")).content.decode()
    assert "badge--failed" in page


# --- Secrets -----------------------------------------------------------------------

SECRET = "sk-litellm-master-7f3a9c1e5b2d4f60"
NEW_SECRET = "sk-litellm-rotated-0b1c2d3e4f5a6978"


def test_secrets_never_appear_in_pages_runs_logs_or_the_audit_log(
    cast,
    client_for,
    closed_port,
    fast_gateway_failures,
    caplog,
    django_capture_on_commit_callbacks,
):
    caplog.set_level("DEBUG")
    client = client_for(cast.owner)
    base_url = f"http://127.0.0.1:{closed_port}"
    response = client.post(
        url("connection_new"),
        {
            "kind": "litellm",
            "name": "llm",
            "team": cast.team.pk,
            "base_url": base_url,
            "secret": SECRET,
            "visibility": "organisation",
            "interval_minutes": "60",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    connection = GatewayConnection.objects.get(name="llm")
    assert connection.secret() == SECRET
    assert SECRET not in connection.sealed_secret

    edit = client.get(url("connection_edit", pk=connection.pk)).content.decode()
    assert "A secret is set; type a new one to replace it." in edit
    assert SECRET not in edit

    # Saving without typing a secret keeps it; a form with errors does not echo a typed one.
    form = {
        "name": "llm",
        "team": cast.team.pk,
        "base_url": base_url,
        "secret": "",
        "visibility": "organisation",
        "interval_minutes": "30",
    }
    assert client.post(url("connection_edit", pk=connection.pk), form).status_code == 302
    connection.refresh_from_db()
    assert connection.secret() == SECRET
    refused = client.post(
        url("connection_edit", pk=connection.pk), {**form, "secret": NEW_SECRET, "base_url": "x"}
    )
    assert refused.status_code == 400
    assert NEW_SECRET not in refused.content.decode()
    assert (
        client.post(
            url("connection_edit", pk=connection.pk), {**form, "secret": NEW_SECRET}
        ).status_code
        == 302
    )
    connection.refresh_from_db()
    assert connection.secret() == NEW_SECRET

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("connection_sync", pk=connection.pk), **HTMX)
    run = SyncRun.objects.get(connection=connection)
    assert run.status == SyncRun.Status.FAILED
    assert run.errors

    pages = [
        client.get(url("connection_list")),
        client.get(url("connection", pk=connection.pk)),
        client.get(url("connection_edit", pk=connection.pk)),
        client.get(url("connection_run", pk=connection.pk, run=run.pk)),
        client.get(reverse("tenants:audit_list", kwargs={"org": "acme"})),
    ]
    events = list(AuditEvent.objects.filter(organisation=cast.org).values("before", "after"))
    assert any(e["after"] and e["after"].get("secret") == "replaced" for e in events)
    for secret in (SECRET, NEW_SECRET):
        for page in pages:
            assert secret not in page.content.decode()
        assert secret not in str(run.errors)
        assert secret not in str(events)
        assert secret not in caplog.text
