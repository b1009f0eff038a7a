"""The function of Lambda REPORT lines read from a file: CloudWatch names it by the log
group (/aws/lambda/<function>), a file does not, so an upload source may carry it in
its settings (and manage.py import_logs takes --function)."""

import datetime
import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from analytics.models import LogSource
from analytics.parsers import LineContext
from analytics.services.imports import import_lines
from analytics.services.sources import source_update, upload_create
from tenants.actors import Actor
from tenants.errors import ValidationFailed

from .logs import invocations, make_source


def report_lines(*request_ids: str) -> list[bytes]:
    """REPORT lines as an export to S3 writes them: the event's time in front."""
    at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return [
        f"{stamp} REPORT RequestId: {request_id}\tDuration: 2.64 ms\tBilled Duration: 3 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 65 MB\t".encode()
        for request_id in request_ids
    ]


def functions(source) -> dict[str, str]:
    """request id → function of each stored invocation."""
    return {row[2]: row[4] for row in invocations(source.pk)}


@pytest.mark.django_db
def test_an_uploaded_files_reports_take_the_sources_function(
    cast, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    source = make_source(
        cast.org, name="lambda", format="lambda_report", config={"function": " checkout-api "}
    )
    assert source.config == {"function": "checkout-api"}
    data = b"\n".join([b"START RequestId: r1 Version: $LATEST", *report_lines("r1", "r2")])
    with django_capture_on_commit_callbacks(execute=True):
        upload_create(
            source=source, file=ContentFile(data + b"\n", name="lambda.log"), actor=Actor.system()
        )
    assert functions(source) == {"r1": "checkout-api", "r2": "checkout-api"}

    # A log group that names the function wins over the setting.
    import_lines(
        source=source,
        lines=[(report_lines("r3")[0], LineContext(log_group="/aws/lambda/billing"))],
    )
    assert functions(source)["r3"] == "billing"

    # Without the setting, a file's reports have no function, as before.
    plain = make_source(cast.org, name="plain", format="lambda_report")
    import_lines(source=plain, lines=[(report_lines("r4")[0], LineContext())])
    assert functions(plain) == {"r4": ""}


@pytest.mark.django_db
def test_the_function_setting_is_checked(cast):
    for config, format, kind, message in (
        ({"function": "has space"}, "lambda_report", "upload", "letters, digits, - and _"),
        ({"function": "f" * 65}, "lambda_report", "upload", "up to 64"),
        ({"function": "orders"}, "apigw_rest_json", "upload", "Unknown settings"),
        ({"function": "orders"}, "lambda_report", "push", "Unknown settings"),
    ):
        with pytest.raises(ValidationFailed, match=message):
            make_source(cast.org, name="bad", kind=kind, format=format, config=config)
    assert not LogSource.objects.filter(organisation=cast.org).exists()

    source = make_source(cast.org, name="lambda", format="lambda_report")
    with pytest.raises(ValidationFailed, match="letters, digits"):
        source_update(source=source, config={"function": "a/b"}, actor=Actor.system())
    source.refresh_from_db()
    assert source.config == {}
    source = source_update(source=source, config={"function": "orders"}, actor=Actor.system())
    assert source.config == {"function": "orders"}


def _run(*args) -> str:
    out = io.StringIO()
    call_command("import_logs", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_import_logs_takes_the_function(cast, tmp_path):
    log = tmp_path / "lambda.log"
    log.write_bytes(b"\n".join(report_lines("c1", "c2")) + b"\n")
    base = [str(log), "--org", "acme", "--format", "lambda_report", "--source", "fn"]

    out = _run(*base, "--function", "checkout")
    assert "Created the upload source 'fn'." in out
    assert f"{log}: read 2, imported 2, duplicates 0, rejected 0, skipped 0" in out
    source = LogSource.objects.get(organisation=cast.org, name="fn")
    assert source.config == {"function": "checkout"}
    assert functions(source) == {"c1": "checkout", "c2": "checkout"}

    # Another function for the next file changes the source's setting.
    more = tmp_path / "more.log"
    more.write_bytes(report_lines("c3")[0] + b"\n")
    out = _run(str(more), *base[1:], "--function", "billing")
    assert "Changed the function of the source 'fn'." in out
    assert functions(source) == {"c1": "checkout", "c2": "checkout", "c3": "billing"}


@pytest.mark.django_db
def test_a_bad_function_is_a_command_error_and_changes_nothing(cast, tmp_path):
    log = tmp_path / "lambda.log"
    log.write_bytes(b"\n".join(report_lines("c1")) + b"\n")
    base = [str(log), "--org", "acme", "--source", "fn"]
    with pytest.raises(CommandError, match="letters, digits, - and _, up to 64"):
        _run(*base, "--format", "lambda_report", "--function", "not a name")
    with pytest.raises(CommandError, match="--function is for --format lambda_report only"):
        _run(*base, "--format", "apigw_rest_json", "--function", "checkout")
    assert not LogSource.objects.filter(organisation=cast.org).exists()

    _run(*base, "--format", "lambda_report", "--function", "checkout")
    with pytest.raises(CommandError, match="letters, digits"):
        _run(*base, "--format", "lambda_report", "--function", "../etc")
    source = LogSource.objects.get(organisation=cast.org, name="fn")
    assert source.config == {"function": "checkout"}
    assert functions(source) == {"c1": "checkout"}
