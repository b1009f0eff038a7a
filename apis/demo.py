"""The demo catalogue: a handful of realistic APIs in every lifecycle state.

Everything goes through the catalogue services (specs parsed, versions
compared, transitions audited). Idempotent: an API that exists is left alone.
"""

import datetime
import json
from dataclasses import dataclass, field

import yaml
from django.utils import timezone

from tenants.actors import Actor
from tenants.models import Organisation, Team, User

from .models import Api
from .services.catalogue import api_create, version_create
from .services.lifecycle import version_transition

ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
MONEY = {
    "type": "object",
    "required": ["amount", "currency"],
    "properties": {
        "amount": {"type": "integer", "description": "In minor units, e.g. cents."},
        "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
    },
}


@dataclass
class Op:
    method: str
    path: str
    summary: str
    tag: str
    request: str | None = None  # schema name
    response: str | None = None
    status: str = "200"
    parameters: list[dict] = field(default_factory=list)
    deprecated: bool = False


def _path_parameters(path: str) -> list[dict]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in names
    ]


def openapi3(
    title: str,
    version: str,
    description: str,
    server: str,
    operations: list[Op],
    schemas: dict,
    *,
    openapi: str = "3.0.3",
) -> bytes:
    paths: dict = {}
    for op in operations:
        operation: dict = {
            "summary": op.summary,
            "operationId": op.summary.title().replace(" ", "").replace("'", "")[:60],
            "tags": [op.tag],
            "parameters": _path_parameters(op.path) + op.parameters,
            "responses": {
                op.status: {"description": op.summary},
                "400": {
                    "description": "Bad request",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
        if op.response:
            operation["responses"][op.status]["content"] = {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{op.response}"}}
            }
        if op.request:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{op.request}"}}
                },
            }
        if op.deprecated:
            operation["deprecated"] = True
        if not operation["parameters"]:
            del operation["parameters"]
        paths.setdefault(op.path, {})[op.method] = operation
    document = {
        "openapi": openapi,
        "info": {"title": title, "version": version, "description": description},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR, **schemas},
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
        },
        "security": [{"apiKey": []}],
    }
    return json.dumps(document, indent=2).encode()


def swagger2_yaml(
    title: str,
    version: str,
    description: str,
    host: str,
    base_path: str,
    operations: list[Op],
    definitions: dict,
) -> bytes:
    paths: dict = {}
    for op in operations:
        parameters = [
            {"name": p["name"], "in": "path", "required": True, "type": "string"}
            for p in _path_parameters(op.path)
        ] + op.parameters
        operation: dict = {
            "summary": op.summary,
            "tags": [op.tag],
            "produces": ["application/json"],
            "responses": {op.status: {"description": op.summary}},
        }
        if op.response:
            operation["responses"][op.status]["schema"] = {"$ref": f"#/definitions/{op.response}"}
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(op.path, {})[op.method] = operation
    document = {
        "swagger": "2.0",
        "info": {"title": title, "version": version, "description": description},
        "host": host,
        "basePath": base_path,
        "schemes": ["https"],
        "paths": paths,
        "definitions": definitions,
    }
    return yaml.safe_dump(document, sort_keys=False).encode()


# --- The APIs -----------------------------------------------------------------

PAYMENT = {
    "type": "object",
    "required": ["id", "amount", "status"],
    "properties": {
        "id": {"type": "string"},
        "amount": {"$ref": "#/components/schemas/Money"},
        "status": {"type": "string", "enum": ["pending", "captured", "failed", "refunded"]},
        "card_last4": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
PAYMENT_REQUEST = {
    "type": "object",
    "required": ["amount", "source"],
    "properties": {
        "amount": {"$ref": "#/components/schemas/Money"},
        "source": {"type": "string", "description": "A card token."},
        "description": {"type": "string"},
        "capture": {"type": "boolean", "default": True},
    },
}
PAYMENT_LIST = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Payment"}},
        "next_cursor": {"type": "string"},
    },
}
PAYMENT_SCHEMAS = {
    "Money": MONEY,
    "Payment": PAYMENT,
    "PaymentRequest": PAYMENT_REQUEST,
    "PaymentList": PAYMENT_LIST,
}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}


def payments_v1() -> bytes:
    return openapi3(
        "Payments API",
        "1.0.0",
        "Take card payments, capture them later and look them up.",
        "https://api.acme.example/payments/v1",
        [
            Op(
                "get",
                "/payments",
                "List payments",
                "payments",
                response="PaymentList",
                parameters=[
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}
                ],
            ),
            Op(
                "post",
                "/payments",
                "Create a payment",
                "payments",
                "PaymentRequest",
                "Payment",
                "201",
            ),
            Op("get", "/payments/{payment_id}", "Get a payment", "payments", response="Payment"),
            Op(
                "post",
                "/payments/{payment_id}/capture",
                "Capture a payment",
                "payments",
                response="Payment",
            ),
            Op(
                "post",
                "/charges",
                "Create a legacy charge",
                "legacy",
                "PaymentRequest",
                "Payment",
                "201",
                deprecated=True,
            ),
        ],
        PAYMENT_SCHEMAS,
    )


def payments_v2() -> bytes:
    return openapi3(
        "Payments API",
        "2.0.0",
        "Take card payments with idempotency keys, capture or cancel them, and look them up.",
        "https://api.acme.example/payments/v2",
        [
            Op(
                "get",
                "/payments",
                "List payments",
                "payments",
                response="PaymentList",
                parameters=[
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["pending", "captured", "failed"]},
                    },
                ],
            ),
            Op(
                "post",
                "/payments",
                "Create a payment",
                "payments",
                "PaymentRequest",
                "Payment",
                "201",
                parameters=[IDEMPOTENCY],
            ),
            Op("get", "/payments/{payment_id}", "Get a payment", "payments", response="Payment"),
            Op(
                "post",
                "/payments/{payment_id}/capture",
                "Capture a payment",
                "payments",
                response="Payment",
                parameters=[IDEMPOTENCY],
            ),
            Op(
                "post",
                "/payments/{payment_id}/cancel",
                "Cancel a payment",
                "payments",
                response="Payment",
            ),
        ],
        PAYMENT_SCHEMAS,
    )


def refunds_v1() -> bytes:
    refund = {
        "type": "object",
        "required": ["id", "payment_id", "amount"],
        "properties": {
            "id": {"type": "string"},
            "payment_id": {"type": "string"},
            "amount": {"$ref": "#/components/schemas/Money"},
            "reason": {"type": "string", "enum": ["duplicate", "fraudulent", "requested"]},
        },
    }
    request = {
        "type": "object",
        "required": ["amount"],
        "properties": {
            "amount": {"$ref": "#/components/schemas/Money"},
            "reason": {"type": "string"},
        },
    }
    return openapi3(
        "Refunds API",
        "1.2.0",
        "Refund captured payments in full or in part, and follow their progress.",
        "https://api.acme.example/refunds/v1",
        [
            Op(
                "post",
                "/payments/{payment_id}/refunds",
                "Refund a payment",
                "refunds",
                "RefundRequest",
                "Refund",
                "201",
            ),
            Op(
                "get",
                "/payments/{payment_id}/refunds",
                "List refunds of a payment",
                "refunds",
                response="Refund",
            ),
            Op("get", "/refunds/{refund_id}", "Get a refund", "refunds", response="Refund"),
        ],
        {"Money": MONEY, "Refund": refund, "RefundRequest": request},
    )


def identity_v3() -> bytes:
    user = {
        "type": "object",
        "required": ["id", "email"],
        "properties": {
            "id": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "name": {"type": ["string", "null"]},
            "mfa_enabled": {"type": "boolean"},
        },
    }
    token = {
        "type": "object",
        "properties": {"access_token": {"type": "string"}, "expires_in": {"type": "integer"}},
    }
    return openapi3(
        "Identity API",
        "3.1.0",
        "Users, sessions and tokens for Acme's customer-facing apps.",
        "https://api.acme.example/identity/v3",
        [
            Op("get", "/users/{user_id}", "Get a user", "users", response="User"),
            Op("patch", "/users/{user_id}", "Update a user", "users", "User", "User"),
            Op("post", "/users", "Create a user", "users", "User", "User", "201"),
            Op("post", "/sessions", "Sign a user in", "sessions", response="Token", status="201"),
            Op("delete", "/sessions/{session_id}", "Sign a user out", "sessions", status="204"),
            Op("post", "/tokens/introspect", "Introspect a token", "tokens", response="Token"),
        ],
        {"User": user, "Token": token},
        openapi="3.1.0",
    )


def simple(title: str, version: str, description: str, slug: str, ops: list[tuple]) -> bytes:
    thing = {
        "type": "object",
        "properties": {"id": {"type": "string"}, "created_at": {"type": "string"}},
    }
    return openapi3(
        title,
        version,
        description,
        f"https://api.acme.example/{slug}/v1",
        [Op(m, p, s, slug, response="Thing") for m, p, s in ops],
        {"Thing": thing},
    )


def weather_v2() -> bytes:
    forecast = {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "temperature_c": {"type": "number"},
            "conditions": {"type": "string"},
            "hourly": {"type": "array", "items": {"type": "number"}},
        },
    }
    return swagger2_yaml(
        "Globex Weather API",
        "2.1.0",
        "Forecasts and observed weather for any place on Earth, hourly and daily.",
        "weather.globex.example",
        "/v2",
        [
            Op(
                "get",
                "/forecast/{location}",
                "Daily forecast for a place",
                "forecast",
                response="Forecast",
            ),
            Op(
                "get",
                "/forecast/{location}/hourly",
                "Hourly forecast for a place",
                "forecast",
                response="Forecast",
            ),
            Op(
                "get",
                "/observations/{station}",
                "Latest observation at a station",
                "observations",
                response="Forecast",
            ),
        ],
        {"Forecast": forecast},
    )


@dataclass(frozen=True)
class DemoVersion:
    spec: object  # a function returning bytes
    moves: tuple = ()  # (state, reason) pairs, applied in order


@dataclass(frozen=True)
class DemoApi:
    organisation: str
    team: str
    slug: str
    name: str
    summary: str
    tags: tuple
    visibility: str
    actor: str  # e-mail of the maintainer or admin who owns it in the demo
    versions: tuple


def _days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


DEMO_APIS = [
    DemoApi(
        "acme",
        "payments",
        "payments",
        "Payments API",
        "Take card payments, capture or cancel them, and look them up.",
        ("payments", "cards"),
        Api.Visibility.ORGANISATION,
        "maintainer@acme.example",
        (
            DemoVersion(
                payments_v1,
                (
                    ("published", ""),
                    (
                        "deprecated",
                        "2.0.0 adds idempotency keys and drops the legacy /charges endpoint.",
                    ),
                ),
            ),
            DemoVersion(payments_v2, (("published", ""),)),
        ),
    ),
    DemoApi(
        "acme",
        "payments",
        "refunds",
        "Refunds API",
        "Refund captured payments in full or in part.",
        ("payments", "refunds"),
        Api.Visibility.PUBLIC,
        "maintainer@acme.example",
        (DemoVersion(refunds_v1, (("published", ""),)),),
    ),
    DemoApi(
        "acme",
        "payments",
        "ledger",
        "Ledger API",
        "Double-entry ledger of every money movement; early preview.",
        ("finance",),
        Api.Visibility.ORGANISATION,
        "maintainer@acme.example",
        (
            DemoVersion(
                lambda: simple(
                    "Ledger API",
                    "0.9.0",
                    "Accounts and entries.",
                    "ledger",
                    [
                        ("get", "/accounts", "List accounts"),
                        ("get", "/accounts/{account_id}/entries", "List entries of an account"),
                        ("post", "/transfers", "Move money between accounts"),
                    ],
                ),
                (("prototype", ""),),
            ),
        ),
    ),
    DemoApi(
        "acme",
        "payments",
        "payouts-internal",
        "Payouts (internal)",
        "Pay merchants out to their bank accounts. Internal to the Payments team.",
        ("payments", "payouts"),
        Api.Visibility.TEAM,
        "maintainer@acme.example",
        (
            DemoVersion(
                lambda: simple(
                    "Payouts",
                    "0.3.0",
                    "Merchant payouts.",
                    "payouts",
                    [
                        ("post", "/payouts", "Create a payout"),
                        ("get", "/payouts/{payout_id}", "Get a payout"),
                    ],
                )
            ),
        ),
    ),
    DemoApi(
        "acme",
        "identity",
        "identity",
        "Identity API",
        "Users, sessions and tokens for customer-facing apps.",
        ("identity", "auth"),
        Api.Visibility.ORGANISATION,
        "admin@acme.example",
        (DemoVersion(identity_v3, (("published", ""),)),),
    ),
    DemoApi(
        "acme",
        "identity",
        "fraud-scoring",
        "Fraud Scoring API",
        "Score a payment or sign-up for fraud risk in real time.",
        ("risk",),
        Api.Visibility.ORGANISATION,
        "admin@acme.example",
        (
            DemoVersion(
                lambda: simple(
                    "Fraud Scoring API",
                    "1.0.0",
                    "Risk scores.",
                    "fraud",
                    [
                        ("post", "/scores", "Score an event"),
                        ("get", "/scores/{score_id}", "Get a score"),
                    ],
                ),
                (
                    ("published", ""),
                    ("blocked", "Error messages leak e-mail addresses; 1.0.1 fixes it."),
                ),
            ),
        ),
    ),
    DemoApi(
        "acme",
        "identity",
        "notifications",
        "Notifications API",
        "Send e-mail and SMS to customers from templates.",
        ("messaging",),
        Api.Visibility.ORGANISATION,
        "admin@acme.example",
        (
            DemoVersion(
                lambda: simple(
                    "Notifications API",
                    "1.0.0",
                    "Messages.",
                    "messages",
                    [("post", "/emails", "Send an e-mail"), ("post", "/sms", "Send an SMS")],
                ),
                (
                    ("published", ""),
                    ("deprecated", "Replaced by 2.0.0 templates."),
                    ("retired", "Nobody called it for 60 days."),
                ),
            ),
            DemoVersion(
                lambda: simple(
                    "Notifications API",
                    "2.0.0",
                    "Messages by template.",
                    "messages",
                    [
                        ("post", "/messages", "Send a message from a template"),
                        ("get", "/templates", "List templates"),
                    ],
                ),
                (("published", ""),),
            ),
        ),
    ),
    DemoApi(
        "globex",
        "platform",
        "weather",
        "Globex Weather API",
        "Forecasts and observations for any place; open to every organisation.",
        ("weather", "geo"),
        Api.Visibility.PUBLIC,
        "owner@globex.example",
        (DemoVersion(weather_v2, (("published", ""),)),),
    ),
]


def seed_catalogue(*, out=None) -> list[Api]:
    created = []
    for demo in DEMO_APIS:
        organisation = Organisation.objects.filter(slug=demo.organisation).first()
        actor_user = User.objects.filter(email=demo.actor).first()
        if organisation is None or actor_user is None:
            continue
        if Api.objects.filter(organisation=organisation, slug=demo.slug).exists():
            continue
        team = Team.objects.filter(organisation=organisation, slug=demo.team).first()
        actor = Actor.for_user(actor_user)
        if team is None:
            from tenants.services.organisations import team_create

            team = team_create(
                organisation=organisation, name=demo.team.title(), slug=demo.team, actor=actor
            )
        api = api_create(
            organisation=organisation,
            team=team,
            name=demo.name,
            slug=demo.slug,
            summary=demo.summary,
            tags=demo.tags,
            visibility=demo.visibility,
            actor=actor,
        )
        for demo_version in demo.versions:
            version = version_create(api=api, raw=demo_version.spec(), actor=actor)
            for state, reason in demo_version.moves:
                version_transition(
                    version=version,
                    to_state=state,
                    actor=actor,
                    reason=reason,
                    sunset_at=_days(90) if state == "deprecated" else None,
                )
                version.refresh_from_db()
        created.append(api)
        if out is not None:
            out.write(f"  catalogue: {organisation.slug}/{api.slug}\n")
    return created
