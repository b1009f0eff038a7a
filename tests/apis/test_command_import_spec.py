"""manage.py import_spec: a file in, a version out, audited as the system."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apis.models import Api, ApiVersion, Operation
from tenants.models import AuditEvent

from .conftest import make_spec

BAD = Path(__file__).resolve().parent.parent / "fixtures" / "specs" / "bad"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "specs"


def _run(*args, **options) -> str:
    out = StringIO()
    call_command("import_spec", *args, stdout=out, **options)
    return out.getvalue()


def _counts():
    return (
        Api.objects.count(),
        ApiVersion.objects.count(),
        Operation.objects.count(),
        AuditEvent.objects.count(),
    )


def test_imports_a_new_api_as_a_draft_audited_as_system(cast, tmp_path):
    path = tmp_path / "payments.json"
    path.write_bytes(make_spec(version="1.2.0"))
    output = _run(str(path), org="acme", team="payments")
    assert "Created the API payments in acme (team payments, visibility organisation)." in output
    assert "Imported Payments 1.2.0 (3 operations) as draft" in output
    version = ApiVersion.objects.get()
    assert (version.api.slug, version.api.team, version.state) == ("payments", cast.team, "draft")
    events = AuditEvent.objects.filter(organisation=cast.org).order_by("id")
    assert [(e.action, e.actor_type, e.actor_label) for e in events] == [
        ("api.created", "system", "system"),
        ("api_version.created", "system", "system"),
    ]


def test_a_second_import_reports_breaking_changes_and_publishes(draft, cast, tmp_path):
    path = tmp_path / "v2.yaml"
    document = json.loads(
        make_spec(
            {
                "/payments": {"get": {"responses": {"200": {"description": "ok"}}}},
                "/payouts": {"get": {"responses": {"200": {"description": "ok"}}}},
            },
            version="2.0.0",
        )
    )
    path.write_text(json.dumps(document))
    output = _run(
        str(path), org="acme", team="payments", api="payments", version="2.0", publish=True
    )
    assert (
        "Imported Payments API 2.0 (2 operations) as published; 2 breaking changes against "
        "1.0.0" in output
    )
    version = ApiVersion.objects.get(version="2.0")
    assert version.state == "published"
    assert version.published_at is not None
    assert Api.objects.get(pk=draft.api_id).current_version == version


def test_visibility_applies_to_a_new_api(cast, tmp_path):
    path = tmp_path / "ledger.json"
    path.write_bytes(make_spec(title="Ledger"))
    _run(str(path), "--org=acme", "--team=payments", "--visibility=public", "--version=0.1")
    api = Api.objects.get(slug="ledger")
    assert api.visibility == "public"
    assert api.versions.get().version == "0.1"


def test_a_real_world_yaml_document_imports(cast):
    output = _run(str(FIXTURES / "petstore-swagger.yaml"), org="acme", team="payments")
    assert "Imported" in output
    assert ApiVersion.objects.get().openapi_version == "2.0"


def test_an_invalid_file_fails_with_its_problems_and_writes_nothing(cast):
    before = _counts()
    with pytest.raises(CommandError) as raised:
        _run(str(BAD / "invalid_spec.yaml"), org="acme", team="payments")
    message = str(raised.value)
    assert message.startswith("The spec is not a valid OpenAPI 3.0 document")
    assert "\n  /" in message  # the problems, with their JSON pointers
    assert _counts() == before


@pytest.mark.parametrize("name", ["billion_laughs.yaml", "not_openapi.json", "ref_file.yaml"])
def test_hostile_files_fail_and_write_nothing(cast, name):
    before = _counts()
    with pytest.raises(CommandError):
        _run(str(BAD / name), org="acme", team="payments")
    assert _counts() == before


def test_an_existing_version_label_fails(draft, cast, tmp_path):
    path = tmp_path / "again.json"
    path.write_bytes(make_spec())
    with pytest.raises(CommandError, match=r"Version 1\.0\.0 exists already"):
        _run(str(path), org="acme", team="payments", api="payments")


def test_a_file_over_the_limit_is_refused_before_reading(cast, tmp_path, settings, monkeypatch):
    settings.SPEC_MAX_BYTES = 1_000
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 2_500_000)

    def refuse_open(*args, **kwargs):
        raise AssertionError("the file was opened")

    monkeypatch.setattr("builtins.open", refuse_open)
    with pytest.raises(CommandError, match=r"This spec is 2\.5 MB; the limit is 0\.0 MB"):
        _run(str(path), org="acme", team="payments")


def test_unknown_organisation_team_or_file_fail_clearly(cast, tmp_path):
    path = tmp_path / "p.json"
    path.write_bytes(make_spec())
    with pytest.raises(CommandError, match="no active organisation 'nope'"):
        _run(str(path), org="nope", team="payments")
    with pytest.raises(CommandError, match="has no team 'globex-team'"):
        _run(str(path), org="acme", team="globex-team")
    with pytest.raises(CommandError, match="Cannot read"):
        _run(str(tmp_path / "missing.json"), org="acme", team="payments")
    assert not Api.objects.exists()


def test_an_api_of_another_team_is_not_touched(draft, cast, tmp_path):
    from tests.factories import TeamFactory

    TeamFactory(organisation=cast.org, slug="platform")
    path = tmp_path / "p.json"
    path.write_bytes(make_spec(version="9.0"))
    with pytest.raises(CommandError, match="belongs to team payments, not platform"):
        _run(str(path), org="acme", team="platform", api="payments")
    assert ApiVersion.objects.count() == 1


def test_the_command_exits_non_zero_on_bad_input(cast, capsys):
    from django.core.management import ManagementUtility

    utility = ManagementUtility(
        ["manage.py", "import_spec", str(BAD / "not_openapi.json"), "--org=acme", "--team=payments"]
    )
    with pytest.raises(SystemExit) as exited:
        utility.execute()
    assert exited.value.code == 1
    assert "not an OpenAPI document" in capsys.readouterr().err
