"""Log source pages: the list with each source's last import, add, edit, switch off and
delete through the services the REST API calls; one source with its runs, "Import now"
(polled in place through htmx), a file upload, and a push source's ingest URL and token;
and who may do which."""

import gzip
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics.models import ImportRun, LogSource, LogUpload
from analytics.services.sources import push_source_for_token
from apis.services.connections import connection_create
from tenants.actors import Actor
from tenants.models import AuditEvent

from .logs import events, make_source, now_ms, rest_line

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "source-activity"}


def url(name: str, org: str = "acme", **kwargs) -> str:
    return reverse(f"analytics:{name}", kwargs={"org": org, **kwargs})


LIST = url("source_list")
NEW = url("source_new")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def aws_connection(cast, organisation=None, team=None, name="Acme AWS"):
    return connection_create(
        organisation=organisation or cast.org,
        team=team or cast.team,
        name=name,
        kind="aws_rest",
        config={"region": "eu-west-1"},
        actor=Actor.for_user(cast.outsider if organisation else cast.owner),
    )


def cloudwatch(cast, **fields) -> LogSource:
    values = {"name": "Ledger prod", "config": {"log_group": "/aws/apigw/ledger-prod"}, **fields}
    return make_source(cast.org, kind="cloudwatch", **values)


def gzipped_api_gateway_lines(count: int) -> bytes:
    start = now_ms() - 3_600_000
    lines = [rest_line(f"req-{i}", start + i * 1000, status=200 + i) for i in range(count)]
    return gzip.compress(b"\n".join([*lines, b"not a log line"]) + b"\n")


def page_of(response) -> str:
    return response.content.decode()


# --- The list ---------------------------------------------------------------------------


def test_the_list_shows_kind_format_last_run_and_state(cast, client_for):
    watched = cloudwatch(cast)
    files = make_source(cast.org, name="Edge files", format="combined")
    pushed = make_source(cast.org, name="Pipeline push", kind="push")
    LogSource.objects.filter(pk=pushed.pk).update(enabled=False)
    ImportRun.objects.create(source=files, organisation=cast.org, status="failed", read=1)
    ImportRun.objects.create(
        source=files,
        organisation=cast.org,
        status=ImportRun.Status.SUCCEEDED,
        started_at=timezone.now(),
        read=1234,
        imported=1200,
        rejected=34,
    )
    page = page_of(client_for(cast.admin).get(LIST))
    assert page.count('data-testid="log-source"') == 3

    def row(source):
        part = page[page.index(f'id="log-source-{source.pk}"') :]
        return part[: part.index("</tr>")]

    assert "CloudWatch log group" in row(watched)
    assert "/aws/apigw/ledger-prod" in row(watched)
    assert "API Gateway REST access log (JSON)" in row(watched)
    assert "never" in row(watched)
    assert ">on</span>" in row(watched)
    files_row = row(files)
    assert "Uploaded files" in files_row
    assert "Combined log format (nginx)" in files_row
    assert 'badge--succeeded"' in files_row  # the newest run, not the failed one
    assert "<td>1\u202f234</td><td>1\u202f200</td><td>34</td>" in files_row
    assert "Push endpoint" in row(pushed)
    assert ">off</span>" in row(pushed)
    assert url("source", pk=files.pk) in files_row
    assert NEW in page


def test_the_usage_pages_link_to_log_sources_for_admins(cast, client_for):
    assert LIST in page_of(client_for(cast.owner).get(url("overview")))
    assert LIST not in page_of(client_for(cast.member).get(url("overview")))


# --- Add ----------------------------------------------------------------------------------


def test_add_asks_for_the_kind_then_its_settings(cast, client_for):
    client = client_for(cast.admin)
    choose = page_of(client.get(NEW))
    for kind in ("cloudwatch", "upload", "push"):
        assert f"{NEW}?kind={kind}" in choose
    form = page_of(client.get(NEW + "?kind=cloudwatch"))
    for field in ("log_group", "stream_prefix", "filter_pattern", "region", "connection"):
        assert f'name="{field}"' in form
    upload_form = page_of(client.get(NEW + "?kind=upload"))
    assert 'name="log_group"' not in upload_form
    assert 'name="mapping"' in upload_form
    assert "null</textarea>" not in upload_form  # an empty mapping is empty
    assert client.post(NEW, {"kind": "ftp"}).status_code == 400


def test_a_cloudwatch_source_is_added_with_its_settings(cast, client_for):
    connection = aws_connection(cast)
    response = client_for(cast.admin).post(
        NEW,
        {
            "kind": "cloudwatch",
            "name": "Ledger prod",
            "format": "apigw_http_json",
            "log_group": "/aws/apigw/ledger-prod",
            "stream_prefix": "2026/",
            "filter_pattern": "{ $.status = 5* }",
            "connection": connection.pk,
            "interval_minutes": "15",
            "enabled": "on",
        },
    )
    source = LogSource.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("source", pk=source.pk)
    assert (source.kind, source.format, source.connection, source.interval_minutes) == (
        "cloudwatch",
        "apigw_http_json",
        connection,
        15,
    )
    assert source.config == {
        "log_group": "/aws/apigw/ledger-prod",
        "stream_prefix": "2026/",
        "filter_pattern": "{ $.status = 5* }",
    }
    assert source.enabled
    assert AuditEvent.objects.filter(action="log_source.created").count() == 1


def test_a_custom_json_upload_source_keeps_its_mapping(cast, client_for):
    mapping = {"ts_ms": "time", "status": "res.code", "route": "req.path"}
    response = client_for(cast.owner).post(
        NEW,
        {
            "kind": "upload",
            "name": "Edge JSON",
            "format": "custom_json",
            "mapping": json.dumps(mapping),
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    assert LogSource.objects.get().config == {"mapping": mapping}


def test_the_services_refusals_are_shown_and_nothing_is_written(cast, client_for):
    client = client_for(cast.admin)
    cloudwatch(cast)
    base = {"kind": "cloudwatch", "name": "Orders", "format": "apigw_rest_json"}
    response = client.post(NEW, {**base, "log_group": "bad group!", "interval_minutes": "5"})
    assert response.status_code == 400
    assert "Letters, digits and . _ - / # only, up to 512." in page_of(response)
    response = client.post(
        NEW, {**base, "log_group": "/aws/x", "region": "Mars", "interval_minutes": "5"}
    )
    assert "Like eu-west-1." in page_of(response)
    response = client.post(
        NEW, {**base, "name": "Ledger prod", "log_group": "/aws/x", "interval_minutes": "5"}
    )
    assert response.status_code == 400
    assert "A log source with this name exists." in page_of(response)
    response = client.post(
        NEW,
        {"kind": "upload", "name": "Odd", "format": "custom_json", "mapping": '{"nope": "x"}'},
    )
    assert response.status_code == 400
    assert "nope" in page_of(response)
    response = client.post(NEW, {"kind": "upload", "name": "Odd", "format": "custom_json"})
    assert "Map record fields to paths in your JSON lines." in page_of(response)
    assert list(LogSource.objects.values_list("name", flat=True)) == ["Ledger prod"]
    assert not AuditEvent.objects.filter(action="log_source.created", actor_user=cast.admin)


# --- Push sources: the token, once ------------------------------------------------------


def test_a_push_source_shows_its_token_once_and_a_new_one_replaces_it(cast, client_for):
    client = client_for(cast.owner)
    response = client.post(
        NEW, {"kind": "push", "name": "Firehose", "format": "apigw_rest_json", "enabled": "on"}
    )
    assert response.status_code == 200  # rendered: the token cannot survive a redirect
    assert "no-store" in response["Cache-Control"]
    source = LogSource.objects.get()
    token = response.context["token"]
    assert token.startswith("plt_")
    assert token in page_of(response)
    assert push_source_for_token(token) == source
    detail = page_of(client.get(url("source", pk=source.pk)))
    assert token not in detail
    assert f"/ingest/{source.push_lookup_id}/" in detail
    assert url("source_rotate_token", pk=source.pk) in detail

    rotated = client.post(url("source_rotate_token", pk=source.pk))
    assert rotated.status_code == 200
    assert "no-store" in rotated["Cache-Control"]
    new = rotated.context["token"]
    assert new != token
    assert new in page_of(rotated)
    assert push_source_for_token(token) is None
    assert push_source_for_token(new) == source
    # Only push sources have a token: the service says so.
    files = make_source(cast.org, name="Files")
    response = client.post(url("source_rotate_token", pk=files.pk), follow=True)
    assert "Only push sources have a token." in page_of(response)


# --- Edit, switch off, delete -------------------------------------------------------------


def test_edit_changes_the_source_and_a_refusal_changes_nothing(cast, client_for):
    source = cloudwatch(cast, interval_minutes=5)
    client = client_for(cast.admin)
    edit = url("source_edit", pk=source.pk)
    form = page_of(client.get(edit))
    assert 'value="/aws/apigw/ledger-prod"' in form
    assert 'name="kind"' not in form
    values = {
        "name": "Ledger production",
        "format": "apigw_rest_json",
        "log_group": "/aws/apigw/ledger-production",
        "filter_pattern": "ERROR",
        "interval_minutes": "30",
    }
    response = client.post(edit, {**values, "log_group": "no spaces allowed"})
    assert response.status_code == 400
    assert "Letters, digits and . _ - / # only, up to 512." in page_of(response)
    source.refresh_from_db()
    assert (source.name, source.config["log_group"]) == ("Ledger prod", "/aws/apigw/ledger-prod")

    response = client.post(edit, values)  # "enabled" unticked
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.name == "Ledger production"
    assert source.config == {
        "log_group": "/aws/apigw/ledger-production",
        "filter_pattern": "ERROR",
    }
    assert (source.interval_minutes, source.enabled) == (30, False)
    assert AuditEvent.objects.filter(action="log_source.updated").count() == 1


def test_switch_off_and_on(cast, client_for):
    source = make_source(cast.org, name="Files")
    client = client_for(cast.admin)
    switch = url("source_enabled", pk=source.pk)
    assert client.post(switch, {"enabled": "off"}).status_code == 302
    source.refresh_from_db()
    assert not source.enabled
    assert "Switch on" in page_of(client.get(url("source", pk=source.pk)))
    client.post(switch, {"enabled": "on"})
    source.refresh_from_db()
    assert source.enabled


def test_delete_asks_first_then_deletes(cast, client_for):
    source = make_source(cast.org, name="Files")
    client = client_for(cast.owner)
    delete = url("source_delete", pk=source.pk)
    assert "Delete the log source Files?" in page_of(client.get(delete))
    assert LogSource.objects.exists()
    response = client.post(delete)
    assert response.status_code == 302
    assert response["Location"] == LIST
    assert not LogSource.objects.exists()
    assert AuditEvent.objects.filter(action="log_source.deleted").count() == 1


# --- Uploads ----------------------------------------------------------------------------------


def test_a_gzip_upload_is_imported_and_its_run_shown(
    cast, client_for, django_capture_on_commit_callbacks
):
    source = make_source(cast.org, name="Ledger exports")
    client = client_for(cast.owner)
    content = gzipped_api_gateway_lines(3)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("source_upload", pk=source.pk),
            {"file": SimpleUploadedFile("ledger.log.gz", content)},
        )
    assert response.status_code == 302
    assert response["Location"] == url("source", pk=source.pk)
    upload = LogUpload.objects.get()
    assert (upload.name, upload.size_bytes, upload.state) == ("ledger.log.gz", len(content), "done")
    run = ImportRun.objects.get()
    assert (run.upload, run.status, run.read, run.imported, run.rejected) == (
        upload,
        "succeeded",
        4,
        3,
        1,
    )
    assert len(events(source.pk)) == 3
    page = page_of(client.get(url("source", pk=source.pk)))
    assert "ledger.log.gz uploaded; its import is queued." in page
    assert '<span data-testid="run-imported">3</span>' in page
    assert '<span data-testid="run-rejected">1</span>' in page
    assert "1 sampled bad line" in page
    assert "not a log line" in page
    assert 'data-polling="false"' in page  # nothing left to follow


def test_an_upload_over_the_limit_is_refused_with_its_size(cast, client_for, settings):
    settings.ANALYTICS_UPLOAD_MAX_BYTES = 1000
    source = make_source(cast.org, name="Ledger exports")
    client = client_for(cast.owner)
    response = client.post(
        url("source_upload", pk=source.pk),
        {"file": SimpleUploadedFile("big.log", b"x" * 1999 + b"\n")},
    )
    assert response.status_code == 413
    assert "This file is 2.0 kB; the limit is 1.0 kB." in page_of(response)
    # A body declared larger than a file may be is refused before it is read.
    response = client.generic(
        "POST",
        url("source_upload", pk=source.pk),
        b"--x--",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(5 * 10**9),
    )
    assert response.status_code == 413
    assert "This upload is 5.0 GB; the limit is 1.0 kB." in page_of(response)
    assert not LogUpload.objects.exists()


def test_the_upload_services_other_refusals_are_shown(cast, client_for):
    source = make_source(cast.org, name="Ledger exports")
    client = client_for(cast.owner)
    upload = url("source_upload", pk=source.pk)
    response = client.post(upload, {"file": SimpleUploadedFile("a.zip", b"PK\x03\x04rest")})
    assert response.status_code == 400
    assert "This file is a zip archive; give plain text lines or gzip." in page_of(response)
    response = client.post(upload, {"file": SimpleUploadedFile("empty.log", b"")})
    assert "The file is empty." in page_of(response)
    push = make_source(cast.org, name="Push", kind="push")
    response = client.post(
        url("source_upload", pk=push.pk), {"file": SimpleUploadedFile("a.log", b"x\n")}
    )
    assert "Files go to upload sources." in page_of(response)
    assert not LogUpload.objects.exists()


def test_an_upload_still_needs_its_csrf_token(cast):
    source = make_source(cast.org, name="Ledger exports")
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.owner)
    response = client.post(
        url("source_upload", pk=source.pk), {"file": SimpleUploadedFile("a.log", b"x\n")}
    )
    assert response.status_code == 403
    assert not LogUpload.objects.exists()


# --- Import now ---------------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch) -> list:
    """The import tasks sent, instead of run (they would call AWS)."""
    from analytics import tasks

    sent = []
    monkeypatch.setattr(tasks.import_source_task, "delay", lambda *args: sent.append(args))
    return sent


def test_import_now_queues_the_task_and_the_status_follows_the_run(
    cast, client_for, queued, django_capture_on_commit_callbacks
):
    source = cloudwatch(cast)
    client = client_for(cast.admin)
    detail = url("source", pk=source.pk)
    assert url("source_import", pk=source.pk) in page_of(client.get(detail))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("source_import", pk=source.pk), **HTMX)
    assert queued == [(source.pk, "manual")]
    body = page_of(response)
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="source-activity"')
    assert "Import queued" in body
    assert 'hx-trigger="every 1s"' in body
    poll = body.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert poll.startswith(detail + "?since=")
    assert AuditEvent.objects.filter(action="log_source.import_requested").count() == 1

    # Still waiting for a worker: the box keeps asking.
    assert "Import queued" in page_of(client.get(poll, **HTMX))
    # The worker's run goes on, then ends: the box follows, then stops asking.
    run = ImportRun.objects.create(source=source, organisation=cast.org, read=500, imported=20)
    going = page_of(client.get(poll, **HTMX))
    assert "Import in progress" in going
    assert 'hx-trigger="every 1s"' in going
    assert '<span data-testid="run-read">500</span>' in going
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.SUCCEEDED, finished_at=timezone.now(), read=1000, imported=990
    )
    done = page_of(client.get(poll, **HTMX))
    assert "Last import" in done
    assert "hx-trigger" not in done
    assert '<span data-testid="run-imported">990</span>' in done
    assert f'id="import-run-{run.pk}"' in done


def test_import_now_without_javascript_redirects_with_a_message(
    cast, client_for, queued, django_capture_on_commit_callbacks
):
    source = cloudwatch(cast)
    client = client_for(cast.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("source_import", pk=source.pk), follow=True)
    assert response.redirect_chain == [(url("source", pk=source.pk), 302)]
    assert "Import queued; this page shows its runs." in page_of(response)
    assert queued == [(source.pk, "manual")]
    push = make_source(cast.org, name="Push", kind="push")
    response = client.post(url("source_import", pk=push.pk), follow=True)
    assert "A push source imports what it receives" in page_of(response)
    assert queued == [(source.pk, "manual")]


# --- Who may ----------------------------------------------------------------------------------


def _every_page(source) -> tuple[list[str], list[str]]:
    pages = [LIST, NEW, url("source", pk=source.pk), url("source_edit", pk=source.pk)]
    pages.append(url("source_delete", pk=source.pk))
    posts = [
        url(name, pk=source.pk)
        for name in (
            "source_edit",
            "source_enabled",
            "source_delete",
            "source_import",
            "source_upload",
            "source_rotate_token",
        )
    ]
    return pages, posts


@pytest.mark.parametrize("who", ["member", "maintainer", "developer"])
def test_log_source_pages_are_for_owners_and_admins(cast, client_for, queued, who):
    source = make_source(cast.org, name="Push", kind="push")
    client = client_for(getattr(cast, who))
    pages, posts = _every_page(source)
    for path in pages:
        assert client.get(path).status_code == 403, path
    for path in posts:
        assert client.post(path, {"enabled": "off"}).status_code == 403, path
    source.refresh_from_db()
    assert source.enabled
    assert queued == []


def test_another_organisations_sources_are_not_found(cast, client_for, queued):
    source = make_source(cast.org, name="Push", kind="push")
    client = client_for(cast.outsider)
    pages, posts = _every_page(source)
    for path in pages:
        assert client.get(path).status_code == 404, path
    for path in posts:
        assert client.post(path, {"enabled": "off"}).status_code == 404, path
    # Nor through the outsider's own organisation.
    assert client.get(url("source", org="globex", pk=source.pk)).status_code == 404
    assert client.post(url("source_rotate_token", org="globex", pk=source.pk)).status_code == 404
    assert LogSource.objects.get().enabled
