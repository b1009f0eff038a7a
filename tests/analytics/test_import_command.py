"""manage.py import_logs: files through the import path, counts per file, nothing
twice on a second reading."""

import gzip
import io
import json

import pytest
from django.core.management import CommandError, call_command

from analytics.models import LogSource
from apis.models import GatewayConnection, GatewayDeployment
from apis.services.catalogue import api_create
from tenants.actors import Actor

from .logs import corpus, events, make_source, now_ms


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


PINO = {
    "ts_ms": {"path": "time", "as": "epoch_ms"},
    "event_id": "req.id",
    "method": "req.method",
    "path": "req.url",
    "status": "res.statusCode",
    "latency_ms": "responseTime",
}


def pino_lines(count: int, *, start_ms: int) -> bytes:
    return b"".join(
        json.dumps(
            {
                "time": start_ms + index,
                "req": {"id": f"pino-{index}", "method": "GET", "url": "/v1/pets"},
                "res": {"statusCode": 200},
                "responseTime": 12.5,
            }
        ).encode()
        + b"\n"
        for index in range(count)
    )


@pytest.mark.django_db
def test_a_custom_json_source_takes_its_mapping_inline_or_from_a_file(cast, tmp_path):
    log = tmp_path / "app.jsonl"
    log.write_bytes(pino_lines(3, start_ms=now_ms() - 60_000))

    out = _run(str(log), "--org", "acme", "--format", "custom_json", "--source", "app",
               "--mapping", json.dumps(PINO))  # fmt: skip
    assert "Created the upload source 'app'." in out
    assert f"{log}: read 3, imported 3, duplicates 0, rejected 0" in out
    source = LogSource.objects.get(organisation=cast.org, name="app")
    assert source.config == {"mapping": PINO}
    assert {row[2] for row in events(source.pk)} == {"pino-0", "pino-1", "pino-2"}

    # From a file, changing the mapping: the status now read from a path lines lack.
    changed = {**PINO, "status": "res.code"}
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(changed))
    more = tmp_path / "more.jsonl"
    more.write_bytes(pino_lines(5, start_ms=now_ms() - 30_000))
    out = _run(str(more), "--org", "acme", "--format", "custom_json", "--source", "app",
               "--mapping", f"@{mapping_file}")  # fmt: skip
    assert "Changed the mapping of the source 'app'." in out
    source.refresh_from_db()
    assert source.config == {"mapping": changed}
    assert {row[10] for row in events(source.pk) if row[2] == "pino-4"} == {0}

    # The same mapping again changes nothing; no mapping keeps the one set.
    out = _run(str(more), "--org", "acme", "--format", "custom_json", "--source", "app",
               "--mapping", f"@{mapping_file}")  # fmt: skip
    assert "Changed" not in out
    assert "imported 0, duplicates 5" in _run(
        str(more), "--org", "acme", "--format", "custom_json", "--source", "app"
    )


@pytest.mark.django_db
def test_a_bad_mapping_is_a_command_error_and_creates_nothing(cast, tmp_path):
    log = tmp_path / "app.jsonl"
    log.write_bytes(pino_lines(1, start_ms=now_ms()))
    broken = tmp_path / "broken.json"
    broken.write_text('{"ts_ms": "time",\n "status": }')
    base = [str(log), "--org", "acme", "--format", "custom_json", "--source", "app"]
    for mapping, message in (
        ('{"ts_ms": "time"', r"--mapping is not valid JSON: .*\(line 1, column 17\)"),
        (f"@{broken}", rf"{broken} is not valid JSON: Expecting value \(line 2, column 12\)"),
        (f"@{tmp_path / 'none.json'}", "Cannot read the mapping file .*none.json: No such file"),
        ('["ts_ms"]', "must be a JSON object of record fields to paths"),
        ('{"ts_ms": "t", "user_agent": "ua"}', "Unknown field 'user_agent'"),
        ('{"status": "code"}', 'needs "ts_ms"'),
    ):
        with pytest.raises(CommandError, match=message):
            _run(*base, "--mapping", mapping)
    with pytest.raises(CommandError, match="--mapping is for --format custom_json only"):
        _run(str(log), "--org", "acme", "--format", "clf", "--mapping", json.dumps(PINO))
    assert not LogSource.objects.filter(organisation=cast.org).exists()

    # An existing source keeps its mapping, and its API, when the new one is refused.
    _run(*base, "--mapping", json.dumps(PINO))
    api_create(
        organisation=cast.org, team=cast.team, name="Shop", slug="shop", actor=Actor.system()
    )
    with pytest.raises(CommandError, match="Unknown field 'user_agent'"):
        _run(*base, "--api", "acme/shop", "--mapping", '{"ts_ms": "t", "user_agent": "ua"}')
    source = LogSource.objects.get(organisation=cast.org, name="app")
    assert (source.config, source.api_id) == ({"mapping": PINO}, None)
