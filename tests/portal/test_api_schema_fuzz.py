"""The REST API against its own OpenAPI schema, with Schemathesis.

For every GET and POST operation, requests generated from the schema (path parameters
pointed at Acme's sample objects, the rest generated) are sent to the WSGI application with
Acme's owner's read-write token. Each answer must not be a server error, must be documented
(status code, content type, body schema), and every 4xx must carry the one error body.
Generation is derandomized and small, so a run is repeatable and takes seconds.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tenants.actors import Actor
from tenants.services.tokens import token_create
from tests.isolation import Samples

EXAMPLES = {"GET": 4, "POST": 3}
# Answers the schema describes wrongly, still to correct in their serializers and views:
# the check named is skipped for them (every other check runs).
# Operations that would end the run's own access: the owner leaving Acme.
SKIPPED = {("POST", "/api/v1/organisations/{org}/leave/")}


def error_body(ctx, response, case):
    """Every 4xx carries {"error": {"code", "message", "fields"}}."""
    if not 400 <= response.status_code < 500:
        return None
    body = response.json()
    assert isinstance(body, dict), "a 4xx body is not a JSON object"
    assert set(body) == {"error"}, f"a 4xx body has keys {sorted(body)}"
    error = body["error"]
    assert isinstance(error.get("code"), str), "error.code is missing"
    assert isinstance(error.get("message"), str), "error.message is missing"
    assert isinstance(error.get("fields"), dict), "error.fields is missing"
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_body,
]


def _id_of(samples: Samples, path: str) -> dict[str, int]:
    """The object an ``{id}`` names, chosen by the collection it follows."""
    collection = path.rsplit("/{id}", 1)[0].rsplit("/", 1)[-1]
    parent = path.split("/")[4] if path.startswith("/api/v1/organisations/") else ""
    chosen = {
        "alert-rules": lambda: samples.alert_rule,
        "applications": lambda: samples.application,
        "audit-events": lambda: samples.audit_event,
        "connections": lambda: samples.connection,
        "credentials": lambda: samples.credential,
        "deliveries": lambda: samples.webhook_delivery,
        "invitations": lambda: samples.invitation,
        "log-sources": lambda: samples.push_source,
        "members": lambda: samples.team_membership if "/teams/" in path else samples.membership,
        "operations": lambda: samples.gateway_operation,
        "plans": lambda: samples.plan,
        "runs": lambda: samples.sync_run if parent == "connections" else samples.import_run,
        "subscriptions": lambda: samples.subscription,
        "tokens": lambda: samples.token,
        "uploads": lambda: samples.log_upload,
        "webhooks": lambda: samples.webhook,
    }.get(collection)
    return {"id": chosen().pk} if chosen else {}


def path_parameters(samples: Samples, path: str) -> dict:
    known = {
        "org": samples.org.slug,
        "owner": samples.org.slug,
        "api": samples.api.slug,
        "version": samples.api_version.version,
        "team": samples.team.slug,
        "connection": samples.connection.pk,
        "source": samples.import_run.source_id,
        "subscription": samples.subscription.pk,
        "webhook": samples.webhook.pk,
    }
    wanted = {name.strip("{}") for name in path.split("/") if name.startswith("{")}
    return {name: value for name, value in known.items() if name in wanted} | (
        _id_of(samples, path) if "id" in wanted else {}
    )


@pytest.fixture
def samples(cast) -> Samples:
    samples = Samples(cast)
    samples.create_all()
    for name in ("alert_rule", "credential", "gateway_operation", "import_run", "log_upload"):
        getattr(samples, name)
    samples.usage  # noqa: B018
    return samples


@pytest.fixture
def api_schema(db):
    """The schema, its operations sent to the WSGI application. As in Django's test client,
    requests leave the database connection open: it holds the test's transaction."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(document)
    schema.app = get_wsgi_application()
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield schema
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def _operations(schema, method: str):
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == method and (method, operation.path) not in SKIPPED:
            yield operation


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_operations_answer_as_their_schema_says(method, api_schema, samples, cast):
    _token, plaintext = token_create(
        user=cast.owner,
        name="schema fuzz",
        scope="write",
        organisation=cast.org,
        actor=Actor.for_user(cast.owner),
    )
    headers = {"Authorization": f"Bearer {plaintext}"}
    failures: list[str] = []
    operations = list(_operations(api_schema, method))
    assert len(operations) > 20

    for operation in operations:
        strategy = operation.as_strategy(
            path_parameters=path_parameters(samples, operation.path), headers=headers
        )

        @settings(
            max_examples=EXAMPLES[method],
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(case=strategy)
        def run(case):
            response = case.call(app=api_schema.app)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except (AssertionError, FailureGroup) as exc:  # every operation's failures are reported
            failures.append(f"{method} {operation.path}:\n{exc}")
    assert not failures, "\n\n".join(failures)
