import io
import json
import logging
import re

import pytest

from portal.observability import JsonFormatter, RequestIdFilter

GENERATED = re.compile(r"^[0-9a-f]{32}$")


def test_every_response_carries_a_request_id(client):
    response = client.get("/healthz")
    assert GENERATED.match(response["X-Request-ID"])


def test_a_well_formed_incoming_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.9c21_x"})
    assert response["X-Request-ID"] == "lb-7f3a.9c21_x"


@pytest.mark.parametrize(
    "offered", ["short", "has spaces in it", "x" * 65, 'quote"inside', "<script>alert</script>"]
)
def test_a_malformed_incoming_id_is_replaced(client, offered):
    response = client.get("/healthz", headers={"X-Request-ID": offered})
    assert response["X-Request-ID"] != offered
    assert GENERATED.match(response["X-Request-ID"])


def test_two_requests_get_different_ids(client):
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


@pytest.fixture
def json_log():
    """The production log handler (JSON, request id filter) on the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_log_lines_of_a_request_carry_its_id(client, db, json_log):
    client.get("/no-such-page", headers={"X-Request-ID": "trace-0001-abcd"})

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    not_found = [line for line in lines if line["message"] == "Not Found: /no-such-page"]
    assert len(not_found) == 1
    assert not_found[0]["request_id"] == "trace-0001-abcd"
    assert not_found[0]["level"] == "WARNING"
    assert not_found[0]["logger"] == "django.request"


def test_log_lines_outside_a_request_have_no_id(json_log):
    logging.getLogger("portal.test").warning("outside %s", "any request")

    line = json.loads(json_log.getvalue().splitlines()[-1])
    assert line["message"] == "outside any request"
    assert line["request_id"] is None
