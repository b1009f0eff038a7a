"""The push endpoint: CloudWatch Logs subscription payloads, Firehose deliveries and
plain lines, authenticated by the source's token, capped before and after decoding."""

import base64
import gzip
import json

import pytest
from django.test import Client
from django.urls import reverse

from analytics.models import ImportRun
from analytics.services.sources import push_token_rotate, source_update
from tenants.actors import Actor

from .logs import events, invocations, make_source, now_ms, report_line, rest_line


@pytest.fixture
def source(cast):
    return make_source(cast.org, name="pushed", kind="push")


@pytest.fixture
def lambda_source(cast):
    return make_source(cast.org, name="lambda", kind="push", format="lambda_report")


def _post(source, body: bytes, *, token=None, headers=None, lookup=None, **extra):
    token = source.token if token is None else token
    all_headers = {"Authorization": f"Bearer {token}"} if token else {}
    all_headers.update(headers or {})
    url = reverse("analytics_ingest", kwargs={"lookup": lookup or source.push_lookup_id})
    return Client().post(
        url, data=body, content_type="application/octet-stream", headers=all_headers, **extra
    )


def _lines(count: int, prefix: str = "p") -> list[bytes]:
    start = now_ms() - 600_000
    return [rest_line(f"{prefix}-{i}", start + i * 10) for i in range(count)]


def _subscription(lines: list[bytes], *, group="/aws/apigw/access", stream="s1") -> dict:
    start = now_ms() - 300_000
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": ["to-portico"],
        "logEvents": [
            {"id": f"3{i:055d}", "timestamp": start + i, "message": line.decode()}
            for i, line in enumerate(lines)
        ],
    }


def _gzip_json(document) -> bytes:
    return gzip.compress(json.dumps(document).encode())


@pytest.mark.django_db
def test_plain_ndjson_lines_are_imported_and_bad_lines_counted(source):
    body = b"\n".join([*_lines(5), b"this is not a log line", b'{"no": "status"}']) + b"\n"
    response = _post(source, body)
    assert response.status_code == 200, response.content
    counts = response.json()
    assert {k: counts[k] for k in ("read", "imported", "duplicates", "rejected")} == {
        "read": 7,
        "imported": 5,
        "duplicates": 0,
        "rejected": 2,
    }
    run = ImportRun.objects.get(pk=counts["run"])
    assert run.trigger == "push"
    assert len(run.samples) == 2
    assert len(events(source.pk)) == 5


@pytest.mark.django_db
def test_a_batch_sent_twice_is_stored_once(source):
    body = gzip.compress(b"\n".join(_lines(20)))
    first = _post(source, body, headers={"Content-Encoding": "gzip"}).json()
    again = _post(source, body, headers={"Content-Encoding": "gzip"}).json()
    assert (first["imported"], again["imported"], again["duplicates"]) == (20, 0, 20)
    assert len(events(source.pk)) == 20


@pytest.mark.django_db
def test_a_cloudwatch_subscription_payload_raw_base64_or_as_a_lambda_event(source):
    payload = _gzip_json(_subscription(_lines(4, "raw")))
    assert _post(source, payload).json()["imported"] == 4

    encoded = base64.b64encode(_gzip_json(_subscription(_lines(3, "b64"))))
    assert _post(source, encoded).json()["imported"] == 3

    event = {"awslogs": {"data": base64.b64encode(_gzip_json(_subscription(_lines(2, "ev"))))}}
    event["awslogs"]["data"] = event["awslogs"]["data"].decode()
    response = _post(source, json.dumps(event).encode())
    assert response.json()["imported"] == 2
    assert len(events(source.pk)) == 9


@pytest.mark.django_db
def test_subscription_lines_carry_cloudwatch_context(lambda_source):
    request = "5e0a0f0c-1111-2222-3333-444444444444"
    document = _subscription(
        [f"START RequestId: {request} Version: 7".encode(), report_line(request, cold=True)],
        group="/aws/lambda/checkout",
        stream="2026/11/26/[7]0123abcd",
    )
    counts = _post(lambda_source, _gzip_json(document)).json()
    assert (counts["imported"], counts["skipped"]) == (1, 1)
    (row,) = invocations(lambda_source.pk)
    assert (row[2], row[4], row[5]) == (request, "checkout", "7")


@pytest.mark.django_db
def test_a_control_message_imports_nothing(source):
    control = {"messageType": "CONTROL_MESSAGE", "logGroup": "", "logStream": "", "logEvents": []}
    response = _post(source, _gzip_json(control))
    assert response.status_code == 200
    assert response.json()["control_messages"] == 1
    assert response.json()["read"] == 0
    assert not ImportRun.objects.filter(source=source).exists()


@pytest.mark.django_db
def test_a_firehose_delivery_is_answered_as_firehose_expects(source):
    records = [
        {"data": base64.b64encode(_gzip_json(_subscription(_lines(3, "fh")))).decode()},
        {"data": base64.b64encode(b"\n".join(_lines(2, "raw")) + b"\n").decode()},
    ]
    body = json.dumps({"requestId": "r-1", "timestamp": now_ms(), "records": records}).encode()
    response = _post(
        source,
        body,
        token="",
        headers={"X-Amz-Firehose-Request-Id": "r-1", "X-Amz-Firehose-Access-Key": source.token},
    )
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"requestId", "timestamp"}
    assert answer["requestId"] == "r-1"
    assert len(events(source.pk)) == 5


@pytest.mark.django_db
def test_a_wrong_token_is_401_in_the_senders_shape(cast, source):
    other = make_source(cast.org, name="other", kind="push")
    for token, lookup in (
        ("", None),
        ("plt_not-a-token", None),
        (other.token, None),  # a real token, for another source
        (source.token[:-1] + ("A" if source.token[-1] != "A" else "B"), None),
        (source.token, other.push_lookup_id),
    ):
        response = _post(source, b"x", token=token, lookup=lookup)
        assert response.status_code == 401, token
        assert response.json()["error"]["code"] == "not_authenticated"
    firehose = _post(
        source,
        b"{}",
        token="",
        headers={"X-Amz-Firehose-Request-Id": "r-9", "X-Amz-Firehose-Access-Key": "wrong"},
    )
    assert firehose.status_code == 401
    assert firehose.json()["requestId"] == "r-9"
    assert firehose.json()["errorMessage"]
    assert not ImportRun.objects.exists()


@pytest.mark.django_db
def test_a_rotated_token_replaces_the_old_one(source):
    old = source.token
    new = push_token_rotate(source=source, actor=Actor.system())
    source.refresh_from_db()
    assert _post(source, _lines(1)[0], token=old).status_code == 401
    assert _post(source, _lines(1)[0], token=new).json()["imported"] == 1


@pytest.mark.django_db
def test_a_disabled_source_refuses_pushes(source):
    source_update(source=source, enabled=False, actor=Actor.system())
    assert _post(source, _lines(1)[0]).status_code == 403


@pytest.mark.django_db
def test_an_oversized_body_is_refused_by_its_length(source, settings):
    settings.ANALYTICS_PUSH_MAX_BYTES = 1000
    response = _post(source, b"x" * 1001)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert _post(source, b"\n".join(_lines(2))).status_code == 200  # 2 lines fit


@pytest.mark.django_db
def test_gzip_bombs_are_refused_wherever_they_hide(source, settings):
    settings.ANALYTICS_PUSH_MAX_DECODED_BYTES = 1_000_000
    bomb = gzip.compress(b"\n" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    as_body = _post(source, bomb, headers={"Content-Encoding": "gzip"})
    in_firehose = _post(
        source,
        json.dumps(
            {"requestId": "r", "records": [{"data": base64.b64encode(bomb).decode()}]}
        ).encode(),
    )
    in_event = _post(
        source, json.dumps({"awslogs": {"data": base64.b64encode(bomb).decode()}}).encode()
    )
    for response in (as_body, in_firehose, in_event):
        assert response.status_code == 413
        assert "limit" in response.json()["error"]["message"]
    assert not ImportRun.objects.exists()


@pytest.mark.django_db
def test_broken_bodies_are_400_not_500(source):
    truncated = gzip.compress(b"\n".join(_lines(50)))[:-20]
    bad_b64 = json.dumps({"records": [{"data": "***"}]}).encode()
    no_events = _gzip_json({"messageType": "DATA_MESSAGE", "logGroup": "g"})
    for body, headers in (
        (truncated, {"Content-Encoding": "gzip"}),
        (b"\x1f\x8bnot gzip at all", {}),
        (bad_b64, {}),
        (no_events, {}),
    ):
        response = _post(source, body, headers=headers)
        assert response.status_code == 400, (body[:20], response.content)
        assert response.json()["error"]["code"] == "bad_body"


@pytest.mark.django_db
def test_only_post_is_answered(source):
    url = reverse("analytics_ingest", kwargs={"lookup": source.push_lookup_id})
    assert Client().get(url).status_code == 405


@pytest.mark.django_db
def test_times_far_off_are_rejected_lines_and_make_no_partition(source):
    from analytics import partitions

    body = b"\n".join(
        [
            rest_line("ancient", 946_684_800_000),  # 2000-01-01
            rest_line("future", now_ms() + 3 * 86_400_000),
            rest_line("now", now_ms() - 1000),
        ]
    )
    counts = _post(source, body).json()
    assert (counts["imported"], counts["rejected"]) == (1, 2)
    run = ImportRun.objects.get(pk=counts["run"])
    assert all("time out of range" in sample["error"] for sample in run.samples)
    names = {name for name, _ in partitions.existing("analytics_requestevent")}
    assert "analytics_requestevent_200001" not in names
