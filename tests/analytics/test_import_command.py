"""manage.py import_logs: files through the import path, counts per file, nothing
twice on a second reading."""

import gzip
import io

import pytest
from django.core.management import CommandError, call_command

from analytics.models import LogSource
from apis.models import GatewayConnection, GatewayDeployment
from apis.services.catalogue import api_create
from tenants.actors import Actor

from .logs import corpus, events, make_source


def _run(*args) -> str:
    out = io.StringIO()
    call_command("import_logs", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_files_plain_and_gzip_are_imported_and_a_second_run_stores_nothing(cast, tmp_path):
    lines = corpus(40, seed=21)
    plain = tmp_path / "a.log"
    plain.write_bytes(b"\n".join([*lines[:20], b"garbage"]) + b"\n")
    zipped = tmp_path / "b.log.gz"
    zipped.write_bytes(gzip.compress(b"\n".join(lines[20:]) + b"\n"))

    out = _run(str(plain), str(zipped), "--org", "acme", "--format", "apigw_rest_json")

    assert "Created the upload source 'Backfill'." in out
    assert f"{plain}: read 21, imported 20, duplicates 0, rejected 1, skipped 0 in" in out
    assert f"{zipped}: read 20, imported 20, duplicates 0, rejected 0, skipped 0 in" in out
    assert "  rejected: not a JSON object: garbage" in out
    source = LogSource.objects.get(organisation=cast.org, name="Backfill")
    assert source.kind == "upload"
    assert len(events(source.pk)) == 40

    again = _run(str(zipped), "--org", "acme", "--format", "apigw_rest_json")
    assert "read 20, imported 0, duplicates 20" in again
    assert len(events(source.pk)) == 40


@pytest.mark.django_db
def test_logs_that_name_no_api_belong_to_the_api_given(cast, tmp_path):
    api = api_create(
        organisation=cast.org, team=cast.team, name="Shop", slug="shop", actor=Actor.system()
    )
    log = tmp_path / "nginx.log"
    log.write_bytes(
        b'203.0.113.9 - - [26/Nov/2026:10:15:02 +0000] "GET /cart HTTP/1.1" 200 512 "-" "curl"\n'
    )
    out = _run(str(log), "--org", "acme", "--format", "combined", "--source", "nginx", "--api",
               "acme/shop")  # fmt: skip
    assert "imported 1" in out
    source = LogSource.objects.get(name="nginx")
    assert source.api == api
    assert {row[4] for row in events(source.pk)} == {api.pk}


@pytest.mark.django_db
def test_mistakes_are_command_errors(cast, tmp_path):
    log = tmp_path / "x.log"
    log.write_bytes(b"x\n")
    make_source(cast.org, name="pushed", kind="push")
    make_source(cast.org, name="kong", format="kong_json")
    for args, message in (
        (["--org", "nope", "--format", "clf"], "no active organisation"),
        (["--org", "acme", "--format", "clf", "--source", "pushed"], "push source"),
        (["--org", "acme", "--format", "clf", "--source", "kong"], "reads kong_json"),
        (["--org", "acme", "--format", "clf", "--api", "globex/x"], "an API of acme"),
        (["--org", "acme", "--format", "clf", "--api", "acme/none"], "no API 'none'"),
        (["--org", "acme", "--format", "custom_json", "--source", "c"], "mapping is needed"),
    ):
        with pytest.raises(CommandError, match=message):
            _run(str(log), *args)


@pytest.mark.django_db
def test_a_missing_file_fails_the_command_after_the_others(cast, tmp_path):
    good = tmp_path / "good.log"
    good.write_bytes(b"\n".join(corpus(3)) + b"\n")
    with pytest.raises(CommandError, match="1 of 2 files failed"):
        _run(str(tmp_path / "missing.log"), str(good), "--org", "acme", "--format",
             "apigw_rest_json")  # fmt: skip
    assert len(events(LogSource.objects.get(name="Backfill").pk)) == 3


@pytest.mark.django_db
def test_gateway_lines_resolve_to_the_synced_api(cast, tmp_path):
    """The resolver is the core's; here it is reached through the command's path."""
    api = api_create(
        organisation=cast.org, team=cast.team, name="Pets", slug="pets", actor=Actor.system()
    )
    api.external_id = "a1b2c3"
    api.save(update_fields=["external_id"])
    connection = GatewayConnection.objects.create(
        organisation=cast.org, team=cast.team, name="aws", kind="aws_rest"
    )
    GatewayDeployment.objects.create(
        connection=connection, organisation=cast.org, api=api, stage="prod"
    )
    log = tmp_path / "a.log"
    log.write_bytes(b"\n".join(corpus(5)) + b"\n")
    _run(str(log), "--org", "acme", "--format", "apigw_rest_json")
    assert {row[4] for row in events(LogSource.objects.get(name="Backfill").pk)} == {api.pk}
