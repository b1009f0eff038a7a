"""REST API of log sources, their uploads and import runs."""

import gzip

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analytics.models import ImportRun, LogSource, LogUpload
from analytics.services.sources import push_source_for_token, source_create
from apis.services.connections import connection_create
from tenants.actors import Actor
from tenants.models import AuditEvent

BASE = "/api/v1/organisations/acme/log-sources/"
NGINX = (
    b'203.0.113.9 - - [18/Mar/2026:10:15:02 +0000] "GET /entries?page=2 HTTP/1.1" 200 512 '
    b'"-" "curl/8.5"'
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def make_source(cast, kind="upload", **fields) -> LogSource:
    values = {"name": f"Acme {kind}", "format": "combined", **fields}
    source, _ = source_create(
        organisation=cast.org, kind=kind, actor=Actor.for_user(cast.owner), **values
    )
    return source


@pytest.mark.django_db
def test_a_push_token_is_shown_once(cast, api_for):
    client = api_for(cast.admin)
    response = client.post(
        BASE,
        {"name": "Edge push", "kind": "push", "format": "apigw_http_json"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Cache-Control"] == "no-store"
    token = body["push_token"]
    assert token.startswith("plt_")
    assert body["has_push_token"] is True
    assert push_source_for_token(token).pk == body["id"]
    again = client.get(f"{BASE}{body['id']}/").json()
    assert "push_token" not in again
    assert again["has_push_token"] is True
    listed = client.get(BASE).json()["results"]
    assert [s["name"] for s in listed] == ["Edge push"]
    assert token not in str(listed)


@pytest.mark.django_db
def test_rotating_the_token_ends_the_old_one(cast, api_for):
    client = api_for(cast.owner)
    created = client.post(
        BASE, {"name": "Edge push", "kind": "push", "format": "apigw_rest_json"}, format="json"
    ).json()
    response = client.post(f"{BASE}{created['id']}/rotate-token/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    new = response.json()["push_token"]
    assert new != created["push_token"]
    assert push_source_for_token(created["push_token"]) is None
    assert push_source_for_token(new).pk == created["id"]
    assert AuditEvent.objects.filter(action="log_source.push_token_rotated").count() == 1


@pytest.mark.django_db
def test_rotating_a_source_without_a_token_is_refused(cast, api_for):
    source = make_source(cast)
    response = api_for(cast.owner).post(f"{BASE}{source.pk}/rotate-token/")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Only push sources have a token."


@pytest.mark.django_db
def test_create_checks_links_and_fields(cast, api_for):
    client = api_for(cast.owner)
    foreign = connection_create(
        organisation=cast.other_org,
        team=cast.other_team,
        name="Globex AWS",
        kind="aws_rest",
        config={"region": "eu-west-1"},
        actor=Actor.for_user(cast.outsider),
    )
    response = client.post(
        BASE,
        {
            "name": "Globex logs",
            "kind": "cloudwatch",
            "format": "apigw_rest_json",
            "config": {"log_group": "/aws/apigw/globex"},
            "connection": foreign.pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "connection": ["This organisation has no such connection."]
    }
    response = client.post(
        BASE, {"name": "Nginx", "kind": "upload", "format": "combined", "api": "nope"}, "json"
    )
    assert response.json()["error"]["fields"] == {
        "api": ["This organisation has no API with this slug you can see."]
    }
    response = client.post(BASE, {"name": "CW", "kind": "cloudwatch", "format": "clf"}, "json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"log_group": ["This setting is required."]}
    response = client.post(BASE, {"name": "X", "kind": "ftp", "format": "clf"}, "json")
    assert response.status_code == 400
    assert "kind" in response.json()["error"]["fields"]
    assert not LogSource.objects.exists()


@pytest.mark.django_db
def test_update_and_delete(cast, api_for):
    source = make_source(cast)
    client = api_for(cast.admin)
    response = client.patch(
        f"{BASE}{source.pk}/", {"name": "Nginx edge", "enabled": False}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["enabled"]) == ("Nginx edge", False)
    response = client.delete(f"{BASE}{source.pk}/")
    assert response.status_code == 204
    assert not LogSource.objects.exists()
    actions = list(
        AuditEvent.objects.filter(target_type="analytics.logsource")
        .values_list("action", flat=True)
        .order_by("pk")
    )
    assert actions == ["log_source.created", "log_source.updated", "log_source.deleted"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["member", "maintainer", "developer"])
def test_log_sources_are_for_admins(cast, api_for, who):
    source = make_source(cast)
    client = api_for(getattr(cast, who))
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}{source.pk}/runs/").status_code == 403
    response = client.post(f"{BASE}{source.pk}/import/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.django_db
def test_another_organisations_source_is_not_found(cast, api_for):
    source = make_source(cast)
    client = api_for(cast.outsider)
    for path in (f"{BASE}{source.pk}/", f"{BASE}{source.pk}/uploads/", f"{BASE}{source.pk}/runs/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    own = f"/api/v1/organisations/globex/log-sources/{source.pk}/"
    assert client.get(own).status_code == 404


@pytest.mark.django_db
def test_upload_is_stored_imported_and_its_run_reported(
    cast, api_for, django_capture_on_commit_callbacks
):
    source = make_source(cast)
    client = api_for(cast.owner)
    content = gzip.compress(b"\n".join([NGINX, NGINX.replace(b"10:15:02", b"10:16:40"), b"junk"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{BASE}{source.pk}/uploads/",
            {"file": SimpleUploadedFile("edge.log.gz", content)},
            format="multipart",
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["size_bytes"]) == ("edge.log.gz", len(content))
    upload = LogUpload.objects.get()
    assert upload.state == LogUpload.State.DONE
    runs = client.get(f"{BASE}{source.pk}/runs/").json()["results"]
    assert len(runs) == 1
    run = runs[0]
    assert (run["status"], run["read"], run["imported"], run["rejected"]) == (
        "succeeded",
        3,
        2,
        1,
    )
    assert run["upload"] == upload.pk
    assert run["samples"][0]["line"] == "junk"
    detail = client.get(f"{BASE}{source.pk}/runs/{run['id']}/").json()
    assert detail == run
    uploads = client.get(f"{BASE}{source.pk}/uploads/").json()["results"]
    assert [(u["id"], u["state"], u["lines_done"]) for u in uploads] == [(upload.pk, "done", 3)]


@pytest.mark.django_db
def test_oversize_upload_is_refused_from_its_content_length(cast, api_for, settings):
    settings.ANALYTICS_UPLOAD_MAX_BYTES = 1000
    source = make_source(cast)
    # The body is small; the declared length alone decides, before anything is read.
    response = api_for(cast.owner).generic(
        "POST",
        f"{BASE}{source.pk}/uploads/",
        b"--x--",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(5 * 10**9),
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "too_large",
            "message": "This upload is 5.0 GB; the limit is 1.0 kB.",
            "fields": {"file": ["This upload is 5.0 GB; the limit is 1.0 kB."]},
        }
    }
    assert not LogUpload.objects.exists()


@pytest.mark.django_db
def test_a_file_over_the_limit_is_refused_with_413(cast, api_for, settings):
    settings.ANALYTICS_UPLOAD_MAX_BYTES = 1000
    source = make_source(cast)
    response = api_for(cast.owner).post(
        f"{BASE}{source.pk}/uploads/",
        {"file": SimpleUploadedFile("big.log", NGINX * 20)},
        format="multipart",
    )
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "This file is 2.0 kB; the limit is 1.0 kB."
    assert not LogUpload.objects.exists()


@pytest.mark.django_db
def test_upload_errors_have_the_error_body(cast, api_for):
    push = make_source(cast, kind="push", format="apigw_rest_json")
    client = api_for(cast.owner)
    response = client.post(f"{BASE}{push.pk}/uploads/", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"file": ["No file was submitted."]}
    response = client.post(
        f"{BASE}{push.pk}/uploads/",
        {"file": SimpleUploadedFile("a.log", NGINX)},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Files go to upload sources."
    source = make_source(cast)
    response = client.post(
        f"{BASE}{source.pk}/uploads/",
        {"file": SimpleUploadedFile("a.zip", b"PK\x03\x04rest")},
        format="multipart",
    )
    assert response.json()["error"]["fields"] == {
        "file": ["This file is a zip archive; give plain text lines or gzip."]
    }


@pytest.mark.django_db
def test_import_trigger_answers_202(cast, api_for, django_capture_on_commit_callbacks):
    source = make_source(cast)
    client = api_for(cast.admin)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"{BASE}{source.pk}/import/")
    assert response.status_code == 202
    assert response.json() == {
        "status": "queued",
        "message": "The import of Acme upload is queued.",
    }
    assert len(callbacks) == 1
    push = make_source(cast, kind="push", format="apigw_rest_json")
    response = client.post(f"{BASE}{push.pk}/import/")
    assert response.status_code == 400
    assert "push source" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_runs_of_one_source_only(cast, api_for):
    source = make_source(cast)
    other = make_source(cast, name="Acme other")
    run = ImportRun.objects.create(source=source, organisation=cast.org, read=5, imported=5)
    ImportRun.objects.create(source=other, organisation=cast.org)
    client = api_for(cast.owner)
    listed = client.get(f"{BASE}{source.pk}/runs/").json()["results"]
    assert [r["id"] for r in listed] == [run.pk]
    response = client.get(f"{BASE}{other.pk}/runs/{run.pk}/")
    assert response.status_code == 404
