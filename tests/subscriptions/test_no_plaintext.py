"""A key's value is shown to its consumer and sent to its gateway, and kept nowhere else:
not in any column of any table (read back whole, row by row, and in a pg_dump of the
database), not in any log line at DEBUG, not in audit events (prefixes only), mails or
webhook deliveries."""

import io
import json
import logging
import shutil
import subprocess

import pytest
from django.core import mail
from django.db import connection

from apis.models import GatewayOperation, Subscription
from apis.services import keys
from apis.services.subscriptions import subscription_act, subscription_request
from portal.observability import JsonFormatter
from tenants import keys as secret_keys
from tenants.models import AuditEvent


def every_row_as_text() -> str:
    """Each row of each table of the database, cast whole to text."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        chunks = []
        for table in tables:
            cursor.execute(f'SELECT t::text FROM "{table}" AS t')
            chunks.extend(row[0] for row in cursor.fetchall())
    assert any("pak" in chunk for chunk in chunks)  # the prefixes are there: we read the data
    return "\n".join(chunks)


@pytest.fixture
def all_logs(caplog):
    """Every logger at DEBUG, captured twice: by pytest and through the JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    names = ["", *logging.root.manager.loggerDict]
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    root.addHandler(handler)
    yield (
        lambda: caplog.text + "\n".join(r.getMessage() for r in caplog.records) + stream.getvalue()
    )
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def walk(world, gateway, capture) -> list[str]:
    """Issue, reveal, rotate, revoke and end, through the gateway; returns every value seen."""
    developer = world.actor("app_developer")
    with capture(execute=True):
        subscription = subscription_request(
            application=world.application,
            api=gateway.api,
            plan=gateway.gold,
            actor=developer,
        )
    with capture(execute=True):
        subscription = subscription_act(
            subscription=subscription, action="approve", actor=world.actor("api_maintainer")
        )
    first = subscription.credentials.get()
    with capture(execute=True):
        first_value = keys.credential_reveal(credential=first, actor=developer)
    with capture(execute=True):
        second, second_value = keys.credential_rotate(credential=first, actor=developer)
    with capture(execute=True):
        keys.credential_revoke(credential=second, actor=developer)
    with capture(execute=True):
        _, third_value = keys.credential_issue(subscription=subscription, actor=developer)
    with capture(execute=True):
        subscription_act(
            subscription=subscription,
            action="revoke",
            reason="Contract ended.",
            actor=world.actor("api_maintainer"),
        )
    values = [first_value, second_value, third_value]
    # The walk did reach the gateway: every key was created there with its value.
    assert len({k["value"] for k in gateway.api_keys()} | set(values)) >= 3
    assert (
        GatewayOperation.objects.filter(
            subscription=subscription, action="provision", state="succeeded"
        ).count()
        == 3
    )
    assert all(o.sealed_value == "" for o in GatewayOperation.objects.all())
    return values


def secret_parts(values: list[str]) -> list[str]:
    # The whole value and its random middle: the prefix and lookup id are not secret.
    return values + [value[15:55] for value in values]


def test_no_key_value_in_the_database_logs_audit_mail_or_webhooks(
    world, aws_gateway, hooks, all_logs, django_capture_on_commit_callbacks
):
    gateway = aws_gateway()
    keys_before = {k["id"] for k in gateway.api_keys()}
    values = walk(world, gateway, django_capture_on_commit_callbacks)
    assert keys_before == set()

    rows = every_row_as_text()
    logs = all_logs()
    assert "gateway operation" in logs  # the provisioning was logged, at least
    mails = "\n".join(m.subject + m.body for m in mail.outbox)
    assert mails
    bodies = b"\n".join(d.body for d in hooks.received).decode()
    assert "credential.rotated" in bodies
    for secret in secret_parts(values):
        assert secret not in rows
        assert secret not in logs
        assert secret not in mails
        assert secret not in bodies

    for event in AuditEvent.objects.filter(action__startswith="credential."):
        text = json.dumps([event.before, event.after])
        assert not any(secret in text for secret in secret_parts(values))
        prefixes = [
            v
            for part in (event.before or {}, event.after or {})
            for k, v in part.items()
            if "prefix" in k
        ]
        assert prefixes, event.action
        assert all(len(p) == 15 and p.startswith("pak") for p in prefixes)
    assert Subscription.objects.get().gateway_state == Subscription.GatewayState.REMOVED


@pytest.mark.django_db(transaction=True)
def test_no_key_value_in_a_dump_of_the_database(
    world, aws_gateway, django_capture_on_commit_callbacks
):
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    gateway = aws_gateway()
    values = walk(world, gateway, django_capture_on_commit_callbacks)

    settings = connection.settings_dict
    command = ["pg_dump", "--data-only", "--no-owner", "-d", settings["NAME"]]
    for flag, key in (("-h", "HOST"), ("-p", "PORT"), ("-U", "USER")):
        if settings.get(key):
            command += [flag, str(settings[key])]
    env = {"PGPASSWORD": settings.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"}
    dump = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    assert "credential.rotated" in dump  # the dump holds the walk's rows
    for secret in secret_parts(values):
        assert secret not in dump


def test_redaction_cuts_issued_secrets_and_nothing_else():
    subscription_key = secret_keys.issue("pak", separator="").plaintext
    litellm_key = secret_keys.issue("sk-pak", separator="").plaintext
    token = secret_keys.issue("pat").plaintext
    digest = secret_keys.digest(subscription_key)
    text = (
        f'{{"value": "{subscription_key}"}} key={litellm_key} Bearer {token}\n'
        f"digest {digest} almost {subscription_key[:-1]}X"
    )

    cleaned = secret_keys.redact(text)

    assert subscription_key not in cleaned
    assert litellm_key not in cleaned
    assert token not in cleaned
    assert f'"value": "{subscription_key[:15]}…"' in cleaned
    assert f"key={litellm_key[:18]}…" in cleaned
    assert f"Bearer {token[:17]}…" in cleaned
    # A digest and a string whose checksum fails are not secrets of ours: left alone.
    assert digest in cleaned
    assert f"{subscription_key[:-1]}X" in cleaned


def test_every_log_record_is_redacted_as_it_is_made(caplog):
    plaintext = secret_keys.issue("pak", separator="").plaintext
    logger = logging.getLogger("botocore.endpoint")
    logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG):
            logger.debug("Making request with params: %s", {"body": {"value": plaintext}})
            try:
                raise ValueError(plaintext)
            except ValueError:
                logging.getLogger("apis").exception("failed")
    finally:
        logger.setLevel(logging.NOTSET)
    assert plaintext[:15] + "…" in caplog.records[0].getMessage()
    assert plaintext not in caplog.text
    formatted = JsonFormatter().format(caplog.records[1])
    assert plaintext not in formatted
    assert json.loads(formatted)["exception"].endswith(f"ValueError: {plaintext[:15]}…")
