"""/api/v1/apis/<owner>/<api>/versions/: list, add (JSON, text, URL, upload), read, spec,
operations; refusals write nothing."""

import json
from pathlib import Path

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apis.models import Api, ApiVersion, Operation, SpecDocument
from apis.services.catalogue import version_create
from tenants.actors import Actor
from tenants.models import AuditEvent

from .conftest import make_spec

VERSIONS = "/api/v1/apis/acme/payments/versions/"
BAD = Path(__file__).resolve().parent.parent / "fixtures" / "specs" / "bad"


def _document(**kwargs) -> dict:
    return json.loads(make_spec(**kwargs))


def _counts() -> tuple[int, int, int, int]:
    return (
        ApiVersion.objects.count(),
        SpecDocument.objects.count(),
        Operation.objects.count(),
        AuditEvent.objects.count(),
    )


# --- List and read ----------------------------------------------------------------


def test_owners_list_every_version_others_only_audience_states(published, cast, api_for):
    version_create(
        api=published.api, raw=make_spec(version="1.1.0"), actor=Actor.for_user(cast.maintainer)
    )
    owners = api_for(cast.viewer).get(VERSIONS).json()
    assert [(v["version"], v["state"]) for v in owners["results"]] == [
        ("1.1.0", "draft"),
        ("1.0.0", "published"),
    ]
    others = api_for(cast.member).get(VERSIONS).json()
    assert [v["version"] for v in others["results"]] == ["1.0.0"]


def test_version_detail(published, cast, api_for):
    body = api_for(cast.member).get(VERSIONS + "1.0.0/").json()
    assert body == {
        "version": "1.0.0",
        "state": "published",
        "openapi_version": "3.0",
        "title": "Payments",
        "description": "",
        "spec_hash": published.spec_hash,
        "base_url": "https://api.acme.test/v1",
        "sunset_at": None,
        "breaking_changes": 0,
        "changes": {"compared_to": None, "breaking": [], "additions": []},
        "operation_count": 3,
        "created_at": body["created_at"],
        "published_at": body["published_at"],
    }
    assert body["published_at"]


def test_a_draft_version_is_404_for_a_non_owner(published, cast, api_for, api_error):
    version_create(
        api=published.api, raw=make_spec(version="1.1.0"), actor=Actor.for_user(cast.maintainer)
    )
    client = api_for(cast.member)
    for suffix in ("", "spec/", "operations/", "transitions/"):
        api_error(client.get(f"{VERSIONS}1.1.0/{suffix}"), 404, "not_found")


def test_spec_returns_the_normalised_document(published, cast, api_for):
    body = api_for(cast.member).get(VERSIONS + "1.0.0/spec/").json()
    assert body == published.spec.document
    assert body["info"] == {"title": "Payments", "version": "1.0.0"}


def test_operations_are_listed_and_filtered(published, cast, api_for):
    client = api_for(cast.member)
    url = VERSIONS + "1.0.0/operations/"
    everything = client.get(url).json()
    assert everything["count"] == 3
    assert everything["results"][0] == {
        "method": "get",
        "path": "/payments",
        "operation_id": "listPayments",
        "summary": "List payments",
        "tags": [],
        "deprecated": False,
    }

    def paths(**params):
        return [(o["method"], o["path"]) for o in client.get(url, params).json()["results"]]

    assert paths(method="POST") == [("post", "/payments"), ("post", "/payments/{id}/refunds")]
    assert paths(q="refund") == [("post", "/payments/{id}/refunds")]
    assert paths(q="payments list") == []
    assert paths(q="List payments") == [("get", "/payments")]
    assert paths(deprecated="true") == []
    assert len(paths(deprecated="false")) == 3


def test_operations_filter_by_tag_and_deprecation(api, cast, api_for):
    raw = make_spec(
        {
            "/cards": {
                "get": {"tags": ["cards"], "responses": {"200": {"description": "ok"}}},
                "delete": {
                    "tags": ["cards", "admin"],
                    "deprecated": True,
                    "responses": {"204": {"description": "gone"}},
                },
            },
            "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
        }
    )
    version_create(api=api, raw=raw, version="2.0", actor=Actor.for_user(cast.maintainer))
    client = api_for(cast.maintainer)
    url = VERSIONS + "2.0/operations/"

    def paths(**params):
        return [(o["method"], o["path"]) for o in client.get(url, params).json()["results"]]

    assert paths(tag="cards") == [("delete", "/cards"), ("get", "/cards")]
    assert paths(tag="admin") == [("delete", "/cards")]
    assert paths(tag="card") == []
    assert paths(deprecated="true") == [("delete", "/cards")]


def test_version_labels_with_dots_and_dashes_resolve(api, cast, api_for):
    version_create(
        api=api, raw=make_spec(), version="2024.01.rc-1", actor=Actor.for_user(cast.maintainer)
    )
    body = api_for(cast.maintainer).get(VERSIONS + "2024.01.rc-1/").json()
    assert body["version"] == "2024.01.rc-1"
    assert api_for(cast.maintainer).get(VERSIONS + "2024.01.rc-1/spec/").status_code == 200


# --- Add: the ways in ---------------------------------------------------------------


def test_maintainer_adds_a_version_from_a_json_object(published, cast, api_for, new_audit_events):
    since = new_audit_events()
    document = _document(
        paths={"/payments": {"get": {"responses": {"200": {"description": "ok"}}}}},
        version="2.0.0",
    )
    response = api_for(cast.maintainer).post(VERSIONS, {"spec": document}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["state"], body["operation_count"]) == ("2.0.0", "draft", 1)
    assert body["changes"]["compared_to"] == "1.0.0"
    assert {c["kind"] for c in body["changes"]["breaking"]} == {
        "path_removed",
        "operation_removed",
    }
    assert body["breaking_changes"] == len(body["changes"]["breaking"])
    version = ApiVersion.objects.get(api=published.api, version="2.0.0")
    assert version.created_by == cast.maintainer
    assert [(e.action, e.actor_user) for e in since()] == [("api_version.created", cast.maintainer)]


def test_adds_a_version_from_yaml_text_with_a_label_and_base_url(api, cast, api_for):
    text = yaml.safe_dump(_document(version="0.9"))
    response = api_for(cast.admin).post(
        VERSIONS,
        {"spec_text": text, "version": "1.0.0-beta", "base_url": "https://sandbox.acme.test"},
        format="json",
    )
    assert response.status_code == 201, response.content
    version = ApiVersion.objects.get(api=api)
    assert (version.version, version.base_url) == ("1.0.0-beta", "https://sandbox.acme.test")
    assert version.spec.source_format == "yaml"


def test_adds_a_version_by_multipart_upload(api, cast, api_for):
    upload = SimpleUploadedFile("payments.json", make_spec(version="3.1.4"), "application/json")
    response = api_for(cast.maintainer).post(
        VERSIONS, {"file": upload, "base_url": "https://eu.acme.test"}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["version"] == "3.1.4"
    assert ApiVersion.objects.get(api=api).base_url == "https://eu.acme.test"
    assert Operation.objects.filter(api_version__api=api).count() == 3


def test_multipart_without_a_file_is_400(api, cast, api_for, api_error):
    response = api_for(cast.maintainer).post(VERSIONS, {"version": "1"}, format="multipart")
    assert list(api_error(response, 400, "invalid")["fields"]) == ["file"]


def test_a_write_token_adds_a_version_and_is_audited_as_the_token(
    api, cast, make_token, bearer, new_audit_events
):
    token, plaintext = make_token(cast.maintainer, scope="write", organisation=cast.org)
    since = new_audit_events()
    response = bearer(plaintext).post(VERSIONS, {"spec": _document()}, format="json")
    assert response.status_code == 201, response.content
    (event,) = since()
    assert (event.actor_type, event.actor_user) == ("token", cast.maintainer)
    assert token.display_prefix in event.actor_label


def test_a_spec_url_to_a_private_address_is_refused_without_fetching(api, cast, api_for, api_error):
    before = _counts()
    response = api_for(cast.maintainer).post(
        VERSIONS, {"spec_url": "http://127.0.0.1:9/openapi.json"}, format="json"
    )
    error = api_error(response, 400, "fetch_failed")
    assert "127.0.0.1" in error["message"]
    assert error["fields"]["spec"]
    assert _counts() == before


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"version": "1.0"},
        {"spec": {"openapi": "3.0.3"}, "spec_text": "openapi: 3.0.3"},
        {"spec_text": "x", "spec_url": "https://example.com/openapi.json"},
    ],
    ids=["nothing", "no-spec", "object-and-text", "text-and-url"],
)
def test_exactly_one_source_is_needed(api, cast, api_for, api_error, payload):
    error = api_error(api_for(cast.maintainer).post(VERSIONS, payload, format="json"), 400)
    assert error["code"] == "invalid"
    assert "spec" in error["fields"]
    assert not ApiVersion.objects.exists()


def test_a_spec_that_is_not_an_object_is_400(api, cast, api_for, api_error):
    response = api_for(cast.maintainer).post(VERSIONS, {"spec": ["a", "list"]}, format="json")
    assert list(api_error(response, 400, "invalid")["fields"]) == ["spec"]


def test_an_existing_label_is_400(published, cast, api_for, api_error):
    before = _counts()
    response = api_for(cast.maintainer).post(VERSIONS, {"spec": _document()}, format="json")
    error = api_error(response, 400, "invalid")
    assert error["fields"] == {"version": ["Version 1.0.0 exists already."]}
    assert _counts() == before


# --- Add: bad specs write nothing ------------------------------------------------------


def test_an_invalid_spec_lists_its_problems_with_pointers_and_writes_nothing(
    published, cast, api_for, api_error
):
    before = _counts()
    text = (BAD / "invalid_spec.yaml").read_text()
    response = api_for(cast.maintainer).post(VERSIONS, {"spec_text": text}, format="json")
    error = api_error(response, 400, "invalid_spec")
    assert error["message"].startswith("The spec is not a valid OpenAPI 3.0 document")
    problems = error["fields"]["spec"][1:]
    assert problems
    assert all(p.startswith("/") for p in problems)
    assert _counts() == before


@pytest.mark.parametrize(
    "name",
    [
        "billion_laughs.yaml",
        "self_ref.yaml",
        "ref_metadata.yaml",
        "ref_file.yaml",
        "invalid_utf8.json",
        "not_openapi.json",
        "python_tag.yaml",
    ],
)
def test_hostile_uploads_are_refused_and_write_nothing(api, cast, api_for, api_error, name):
    before = _counts()
    upload = SimpleUploadedFile(name, (BAD / name).read_bytes())
    response = api_for(cast.maintainer).post(VERSIONS, {"file": upload}, format="multipart")
    error = api_error(response, 400, "invalid_spec")
    assert error["fields"]["spec"]
    assert "root:" not in json.dumps(error)  # nothing of /etc/passwd
    assert _counts() == before


def test_a_json_body_nested_too_deeply_is_400_not_a_crash(api, cast, api_for, api_error):
    body = '{"spec": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api_for(cast.maintainer).post(VERSIONS, body, content_type="application/json")
    assert response.status_code == 400
    assert not ApiVersion.objects.exists()


def test_a_spec_object_nested_past_the_depth_limit_is_invalid_spec(api, cast, api_for, api_error):
    document = _document()
    nested: dict = {}
    document["x-deep"] = nested
    for _ in range(300):
        nested["a"] = {}
        nested = nested["a"]
    response = api_for(cast.maintainer).post(VERSIONS, {"spec": document}, format="json")
    api_error(response, 400, "invalid_spec")
    assert not ApiVersion.objects.exists()


def test_add_ignores_fields_it_does_not_take(api, cast, api_for):
    response = api_for(cast.maintainer).post(
        VERSIONS,
        {
            "spec": _document(),
            "state": "published",
            "spec_hash": "0" * 64,
            "created_by": cast.owner.pk,
            "organisation": "globex",
            "published_at": "2001-01-01T00:00:00Z",
            "changes": {"breaking": [{"kind": "x", "where": "y", "detail": "z"}]},
        },
        format="json",
    )
    assert response.status_code == 201
    version = ApiVersion.objects.get(api=api)
    assert version.state == "draft"
    assert version.spec_hash != "0" * 64
    assert version.created_by == cast.maintainer
    assert version.organisation == cast.org
    assert version.published_at is None
    assert version.changes == {}


# --- Add: size -------------------------------------------------------------------------


class _Unreadable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_an_oversize_upload_is_refused_by_content_length_before_reading(
    api, cast, settings, api_error
):
    settings.SPEC_MAX_BYTES = 5_000_000
    client = APIClient(enforce_csrf_checks=True)  # a session's CSRF check would parse it
    client.force_login(cast.maintainer)
    before = _counts()
    response = client.generic(
        "POST",
        VERSIONS,
        b"",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(52_400_000),
        **{"wsgi.input": _Unreadable()},
    )
    error = api_error(response, 413, "spec_too_large")
    assert error["message"] == "This upload is 52.4 MB; the limit for a spec is 5.0 MB."
    assert error["fields"] == {"spec": [error["message"]]}
    assert _counts() == before


def test_an_oversize_upload_from_an_outsider_is_refused_the_same_way(api, cast, api_error):
    client = APIClient()
    client.force_login(cast.outsider)
    response = client.generic(
        "POST",
        VERSIONS,
        b"",
        content_type="application/json",
        CONTENT_LENGTH=str(60_000_000),
        **{"wsgi.input": _Unreadable()},
    )
    api_error(response, 413, "spec_too_large")


def test_a_file_over_the_limit_but_within_the_margin_is_413_from_its_size(
    api, cast, api_for, api_error, settings
):
    settings.SPEC_MAX_BYTES = 1_000
    raw = make_spec()
    raw = raw[:-1] + b', "x-padding": "' + b"p" * 2_000 + b'"}'
    upload = SimpleUploadedFile("big.json", raw)
    response = api_for(cast.maintainer).post(VERSIONS, {"file": upload}, format="multipart")
    error = api_error(response, 413, "spec_too_large")
    assert error["message"].startswith("This spec is 0.0 MB")
    assert not ApiVersion.objects.exists()


def test_spec_text_over_the_limit_is_413(api, cast, api_for, api_error, settings):
    settings.SPEC_MAX_BYTES = 1_000
    text = yaml.safe_dump({**_document(), "x-padding": "p" * 2_000})
    response = api_for(cast.maintainer).post(VERSIONS, {"spec_text": text}, format="json")
    api_error(response, 413, "spec_too_large")
    assert not ApiVersion.objects.exists()


# --- Add: who may -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["developer", "viewer", "member"])
def test_callers_who_see_but_do_not_maintain_get_403(published, cast, api_for, api_error, who):
    response = api_for(getattr(cast, who)).post(
        VERSIONS, {"spec": _document(version="2.0")}, format="json"
    )
    api_error(response, 403, "permission_denied")
    assert ApiVersion.objects.count() == 1


def test_another_organisation_gets_404_for_an_organisation_api(published, cast, api_for, api_error):
    response = api_for(cast.outsider).post(
        VERSIONS, {"spec": _document(version="2.0")}, format="json"
    )
    api_error(response, 404, "not_found")
    api_error(api_for(cast.outsider).get(VERSIONS), 404, "not_found")


def test_another_organisation_reads_a_public_api_but_gets_403_adding_a_version(
    published, cast, api_for, api_error
):
    Api.objects.filter(pk=published.api_id).update(visibility=Api.Visibility.PUBLIC)
    client = api_for(cast.outsider)
    assert [v["version"] for v in client.get(VERSIONS).json()["results"]] == ["1.0.0"]
    assert client.get(VERSIONS + "1.0.0/spec/").status_code == 200
    response = client.post(VERSIONS, {"spec": _document(version="2.0")}, format="json")
    api_error(response, 403, "permission_denied")
    assert ApiVersion.objects.count() == 1


def test_a_read_token_cannot_add(api, cast, make_token, bearer, api_error):
    _, plaintext = make_token(cast.maintainer, scope="read")
    api_error(bearer(plaintext).post(VERSIONS, {"spec": _document()}, format="json"), 403)
    assert not ApiVersion.objects.exists()
