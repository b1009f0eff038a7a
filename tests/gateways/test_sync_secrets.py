"""AWS credentials never pass through the portal: the workers' boto3 chain has them, and
they must not surface in a run's errors, the logs or the database, even when AWS fails.
The role to assume and its external id are configuration, shown where configuration is."""

import json
import logging
import secrets
from urllib.parse import parse_qs

import pytest

from apis.demo_gateways import RestApiShape, RestMethod, clients, rest_api_put
from apis.models import SyncRun
from apis.services.sync import sync_connection
from tenants.models import AuditEvent
from tests.emulators import free_port

from .aws_fixtures import connect
from .test_sync_aws import _dump_text

# In moto's default account: a role elsewhere would see that account's (empty) gateway.
ROLE = "arn:aws:iam::123456789012:role/portico-sync"
EXTERNAL_ID = "acme-external-id-42"


@pytest.fixture
def credentials(aws, monkeypatch, settings):
    settings.GATEWAY_MAX_ATTEMPTS = 2
    values = {
        "AWS_ACCESS_KEY_ID": "AKIA" + secrets.token_hex(8).upper(),
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
        "AWS_SESSION_TOKEN": "FwoGZX" + secrets.token_urlsafe(60),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def one_api(aws):
    apigw, _ = clients(aws.url)
    shape = RestApiShape(
        name="Secretive",
        description="",
        version="1.0.0",
        methods=(RestMethod("GET", "/things"),),
        stages={"prod": {}},
    )
    return rest_api_put(apigw, shape)


def _assert_nowhere(credentials: dict, *texts: str) -> None:
    for name, value in credentials.items():
        for text in texts:
            assert value not in text, name


def _logged(caplog) -> str:
    return (
        "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.__dict__}" for r in caplog.records)
        + caplog.text
    )


def test_the_role_is_assumed_with_its_external_id(one_api, proxy, cast, credentials, caplog):
    caplog.set_level(logging.DEBUG)
    connection = connect(cast, proxy.url, role_arn=ROLE, external_id=EXTERNAL_ID)

    run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)

    assert (run.status, run.new) == (SyncRun.Status.SUCCEEDED, 1)
    assert run.calls == len(proxy.sent)  # the STS call counts too
    (assume,) = [
        (headers, parse_qs(body.decode())) for line, headers, body in proxy.sent if line == "POST /"
    ]
    headers, form = assume
    assert form["Action"] == ["AssumeRole"]
    assert form["RoleArn"] == [ROLE]
    assert form["ExternalId"] == [EXTERNAL_ID]
    assert form["RoleSessionName"] == ["portico-sync"]
    # The worker's own credentials ask for the role; everything after uses the role's.
    assert f"Credential={credentials['AWS_ACCESS_KEY_ID']}/" in headers["Authorization"]
    gateway_calls = [h for line, h, _ in proxy.sent if line != "POST /"]
    assert gateway_calls
    for call_headers in gateway_calls:
        assert credentials["AWS_ACCESS_KEY_ID"] not in call_headers["Authorization"]
        assert call_headers["X-Amz-Security-Token"] != credentials["AWS_SESSION_TOKEN"]

    # The role and external id are the connection's configuration, audited as such.
    created = AuditEvent.objects.get(action="gateway_connection.created")
    assert created.after["config"]["role_arn"] == ROLE
    assert created.after["config"]["external_id"] == EXTERNAL_ID
    _assert_nowhere(credentials, _dump_text(), _logged(caplog))


@pytest.mark.parametrize("role", [True, False], ids=["with-role", "chain-only"])
def test_a_failing_endpoint_reveals_no_credentials(cast, credentials, caplog, role):
    caplog.set_level(logging.DEBUG)
    config = {"role_arn": ROLE, "external_id": EXTERNAL_ID} if role else {}
    connection = connect(cast, f"http://127.0.0.1:{free_port()}", **config)

    run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.FAILED
    assert run.errors == [
        {"where": "connection", "message": "Could not connect to the AWS endpoint."}
    ]
    assert run.calls == 2  # the first call, tried twice
    _assert_nowhere(credentials, json.dumps(run.errors), _dump_text(), _logged(caplog))


def test_refused_credentials_reveal_no_credentials(one_api, proxy, cast, credentials, caplog):
    caplog.set_level(logging.DEBUG)
    proxy.add(
        r".",
        "body",
        times=None,
        status=403,
        headers={"x-amzn-ErrorType": "UnrecognizedClientException"},
        body=json.dumps(
            {
                "message": "The security token included in the request is invalid: "
                + credentials["AWS_SESSION_TOKEN"]
            }
        ).encode(),
    )
    connection = connect(cast, proxy.url)

    run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.FAILED
    # The gateway's own words are not repeated: they might echo what was sent.
    assert run.errors == [
        {"where": "connection", "message": "AWS refused GetRestApis: UnrecognizedClientException"}
    ]
    _assert_nowhere(credentials, json.dumps(run.errors), _dump_text(), _logged(caplog))


def test_botocore_logs_stay_quiet_by_default():
    # botocore's debug lines carry request headers (the access key id, a session token):
    # the portal's logging keeps them off whatever the root level is.
    assert logging.getLogger("botocore").getEffectiveLevel() >= logging.WARNING
