"""The REST API against its own OpenAPI schema, with Schemathesis.

For every GET, POST, PATCH and DELETE operation (the API has no PUT), requests generated
from the schema (path parameters pointed at Acme's sample objects, the rest generated) are
sent to the WSGI application with Acme's owner's read-write token. Each answer must not be a
server error, must be documented (status code, content type, body schema), every 4xx must
carry the one error body, and a PATCH that sets nothing must change nothing and succeed.
Each method is its own test in its own transaction, DELETE last, so deletions never take
away what the other operations need; within it, the first request deletes its object and
the next ones find it gone. Generation is derandomized and small, so a run is repeatable and
takes seconds.
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

from apis.services.applications import application_create
from tenants.actors import Actor
from tenants.services.organisations import team_create
from tenants.services.tokens import token_create
from tests.isolation import Samples

EXAMPLES = {"GET": 4, "POST": 3, "PATCH": 3, "DELETE": 2}
# Fewer operations than this would mean the schema lost some of them.
FEWEST_OPERATIONS = {"GET": 20, "POST": 20, "PATCH": 10, "DELETE": 8}
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


def empty_patch_accepted(ctx, response, case):
    """The schema makes every field of a PATCH body optional, so one without fields is valid:
    it changes nothing and gets 200."""
    if case.method.upper() != "PATCH" or case.body != {}:
        return None
    assert response.status_code == 200, f"a PATCH setting nothing got {response.status_code}"
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_body,
    empty_patch_accepted,
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


def made_to_delete(cast) -> dict[str, dict]:
    """Path parameters of the DELETE operations whose sample cannot go: Acme's team owns its
    API and its application has a subscription. They delete objects made for them instead."""
    team = team_create(
        organisation=cast.org,
        name="Short-lived",
        slug="short-lived",
        actor=Actor.for_user(cast.owner),
    )
    application = application_create(
        team=cast.team, name="Acme Scratch", actor=Actor.for_user(cast.developer)
    )
    return {
        "/api/v1/organisations/{org}/teams/{team}/": {"team": team.slug},
        "/api/v1/organisations/{org}/applications/{id}/": {"id": application.pk},
    }


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


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
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
    assert len(operations) >= FEWEST_OPERATIONS[method]
    overrides = made_to_delete(cast) if method == "DELETE" else {}

    for operation in operations:
        parameters = path_parameters(samples, operation.path) | overrides.get(operation.path, {})
        strategy = operation.as_strategy(path_parameters=parameters, headers=headers)

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
