"""The demo's AWS account: a local API Gateway emulator (moto) filled with Acme's REST and
HTTP APIs, usage plans and keys, and the connections that sync them into Acme's catalogue.

The emulator keeps everything in memory, so each demo start fills it anew. Its random
source is seeded first, so the ids come out the same every time and a restarted demo's
sync finds the APIs it brought in before instead of new ones.

The builders (``rest_api_put``, ``http_api_put``, ``usage_plan_put``, ``api_key_put``)
describe an API as data and create it through the ordinary API Gateway calls; the tests
build their gateway estates with them too.
"""

import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import boto3
from botocore.config import Config

from tenants.actors import Actor
from tenants.models import Organisation, Team, User

from .models import GatewayConnection, SyncRun

REGION = "eu-west-1"
ACCOUNT = "123456789012"
EMULATOR_SEED = 20261126
ORGANISATION, TEAM, OWNER = "acme", "payments", "owner@acme.example"
REST_CONNECTION = "Acme AWS (local emulator)"
HTTP_CONNECTION = "Acme AWS HTTP APIs (local emulator)"
ANY_VERBS = ("get", "post", "put", "delete", "patch")  # what the adapters document for ANY


# --- Shapes and builders -------------------------------------------------------------


@dataclass(frozen=True)
class RestMethod:
    verb: str  # GET, POST, ANY, ...
    path: str  # /orders/{orderId}
    api_key: bool = False
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    function: str = ""  # a Lambda function name; empty: a mock integration
    alias: str = ""
    responses: tuple[str, ...] = ()


@dataclass(frozen=True)
class RestApiShape:
    name: str
    description: str
    version: str
    methods: tuple[RestMethod, ...]
    stages: dict[str, dict[str, str]]  # stage name -> stage variables
    tags: dict[str, str] = field(default_factory=dict)

    def operations(self) -> set[tuple[str, str]]:
        """The (method, path) pairs a sync documents for this API."""
        return _operations((m.verb, m.path) for m in self.methods)


@dataclass(frozen=True)
class HttpRoute:
    key: str  # "GET /things/{id}" or "$default"
    function: str = ""  # a Lambda function name; empty: an HTTP proxy to ``url``
    alias: str = ""
    url: str = "https://backend.acme.example/{proxy}"


@dataclass(frozen=True)
class HttpApiShape:
    name: str
    description: str
    version: str
    routes: tuple[HttpRoute, ...]
    stages: dict[str, dict[str, str]]
    tags: dict[str, str] = field(default_factory=dict)

    def operations(self) -> set[tuple[str, str]]:
        return _operations(tuple(r.key.split(" ", 1)) for r in self.routes if " " in r.key)


def _operations(pairs) -> set[tuple[str, str]]:
    out = set()
    for verb, path in pairs:
        path = path.replace("+}", "}")
        verbs = ANY_VERBS if verb == "ANY" else (verb.lower(),)
        out.update((v, path) for v in verbs)
    return out


def function_arn(function: str, alias: str = "", *, region: str = REGION) -> str:
    arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function}"
    return f"{arn}:{alias}" if alias else arn


def clients(endpoint_url: str, *, region: str = REGION):
    """API Gateway v1 and v2 clients for an emulator: fake local credentials, no retries."""
    options = {
        "endpoint_url": endpoint_url,
        "region_name": region,
        "aws_access_key_id": "demo",
        "aws_secret_access_key": "demo",
        "config": Config(retries={"max_attempts": 1}),
    }
    return boto3.client("apigateway", **options), boto3.client("apigatewayv2", **options)


def rest_api_put(client, shape: RestApiShape, *, region: str = REGION) -> str:
    """Create the REST API ``shape`` describes, deploy it to its stages; returns its id."""
    params = {"name": shape.name, "description": shape.description, "version": shape.version}
    if shape.tags:
        params["tags"] = shape.tags
    api_id = client.create_rest_api(**params)["id"]
    resources = {"/": client.get_resources(restApiId=api_id)["items"][0]["id"]}
    for method in shape.methods:
        parent = "/"
        for part in [p for p in method.path.split("/") if p]:
            path = parent.rstrip("/") + "/" + part
            if path not in resources:
                resources[path] = client.create_resource(
                    restApiId=api_id, parentId=resources[parent], pathPart=part
                )["id"]
            parent = path
        resource = resources[method.path]
        client.put_method(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=method.verb,
            authorizationType="NONE",
            apiKeyRequired=method.api_key,
            requestParameters={f"method.request.querystring.{q}": False for q in method.query}
            | {f"method.request.header.{h}": True for h in method.headers},
        )
        for status in method.responses:
            client.put_method_response(
                restApiId=api_id, resourceId=resource, httpMethod=method.verb, statusCode=status
            )
        if method.function:
            client.put_integration(
                restApiId=api_id,
                resourceId=resource,
                httpMethod=method.verb,
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
                f"{function_arn(method.function, method.alias, region=region)}/invocations",
            )
        else:
            client.put_integration(
                restApiId=api_id, resourceId=resource, httpMethod=method.verb, type="MOCK"
            )
    for stage, variables in shape.stages.items():
        client.create_deployment(restApiId=api_id, stageName=stage, variables=variables)
    return api_id


def http_api_put(client, shape: HttpApiShape, *, region: str = REGION) -> str:
    """Create the HTTP API ``shape`` describes, with its routes and stages; returns its id."""
    params = {
        "Name": shape.name,
        "ProtocolType": "HTTP",
        "Description": shape.description,
        "Version": shape.version,
    }
    if shape.tags:
        params["Tags"] = shape.tags
    api_id = client.create_api(**params)["ApiId"]
    for route in shape.routes:
        if route.function:
            integration = client.create_integration(
                ApiId=api_id,
                IntegrationType="AWS_PROXY",
                IntegrationUri=function_arn(route.function, route.alias, region=region),
                PayloadFormatVersion="2.0",
            )
        else:
            integration = client.create_integration(
                ApiId=api_id,
                IntegrationType="HTTP_PROXY",
                IntegrationMethod="ANY",
                IntegrationUri=route.url,
                PayloadFormatVersion="1.0",
            )
        client.create_route(
            ApiId=api_id,
            RouteKey=route.key,
            Target=f"integrations/{integration['IntegrationId']}",
        )
    for stage, variables in shape.stages.items():
        client.create_stage(
            ApiId=api_id, StageName=stage, StageVariables=variables, AutoDeploy=True
        )
    return api_id


def usage_plan_put(
    client,
    *,
    name: str,
    stages: list[tuple[str, str]],
    rate: float,
    burst: int,
    quota: int,
    period: str,
    description: str = "",
) -> str:
    """A usage plan over (REST API id, stage) pairs; ``period`` is DAY, WEEK or MONTH."""
    return client.create_usage_plan(
        name=name,
        description=description,
        apiStages=[{"apiId": api_id, "stage": stage} for api_id, stage in stages],
        throttle={"rateLimit": rate, "burstLimit": burst},
        quota={"limit": quota, "period": period},
    )["id"]


def api_key_put(client, *, name: str, value: str, plan_ids: list[str], enabled: bool = True) -> str:
    key_id = client.create_api_key(name=name, value=value, enabled=enabled)["id"]
    for plan_id in plan_ids:
        client.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    return key_id


# --- Acme's gateway ------------------------------------------------------------------

DEMO_REST_APIS = (
    RestApiShape(
        "Orders API",
        "Orders placed in Acme's shops: create, follow and cancel them.",
        "1.4.0",
        (
            RestMethod(
                "GET",
                "/orders",
                api_key=True,
                query=("status", "limit"),
                function="orders",
                alias="live",
                responses=("200",),
            ),
            RestMethod(
                "POST",
                "/orders",
                api_key=True,
                function="orders",
                alias="live",
                responses=("201", "400"),
            ),
            RestMethod("GET", "/orders/{orderId}", api_key=True, function="orders", alias="live"),
            RestMethod(
                "DELETE",
                "/orders/{orderId}",
                api_key=True,
                function="orders",
                alias="live",
                responses=("204",),
            ),
        ),
        {"dev": {"lambdaAlias": "dev"}, "prod": {"lambdaAlias": "live"}},
        {"team": "payments"},
    ),
    RestApiShape(
        "Inventory API",
        "Stock levels per warehouse, updated as parcels move.",
        "2.1.0",
        (
            RestMethod("GET", "/items", query=("warehouse",), function="inventory", alias="live"),
            RestMethod("GET", "/items/{sku}", function="inventory", alias="live"),
            RestMethod(
                "ANY",
                "/admin/{proxy+}",
                api_key=True,
                function="inventory-admin",
                headers=("X-Acme-Operator",),
            ),
        ),
        {"dev": {"table": "inventory-dev"}, "prod": {"table": "inventory"}},
    ),
    RestApiShape(
        "Shipping Rates API",
        "Quotes for parcels by weight, size and destination.",
        "1.0.0",
        (
            RestMethod("GET", "/rates", query=("from", "to", "weight"), function="rates"),
            RestMethod("POST", "/quotes", api_key=True, function="rates", responses=("200", "422")),
        ),
        {"dev": {}, "prod": {"currency": "EUR"}},
    ),
)

DEMO_HTTP_APIS = (
    HttpApiShape(
        "Webhooks Relay",
        "Receives partners' webhooks and forwards them to Acme's queues.",
        "1.0.0",
        (
            HttpRoute("POST /hooks/{partner}", function="webhooks", alias="live"),
            HttpRoute("GET /hooks/{partner}/status", function="webhooks", alias="live"),
        ),
        {"$default": {}, "prod": {"queue": "webhooks"}},
    ),
    HttpApiShape(
        "Status Page API",
        "Public status of Acme's services.",
        "0.9.0",
        (
            HttpRoute("GET /status"),
            HttpRoute("GET /incidents/{id}"),
            HttpRoute("ANY /legacy/{proxy+}"),
        ),
        {"prod": {}},
    ),
)

DEMO_PLANS = (
    # name, description, rate, burst, quota, period, stages (API name, stage)
    ("Free", "For trying things out.", 5.0, 10, 1_000, "DAY",
     [("Orders API", "prod"), ("Inventory API", "prod"), ("Shipping Rates API", "prod")]),
    ("Pro", "For production traffic.", 100.0, 200, 1_000_000, "MONTH",
     [("Orders API", "prod"), ("Orders API", "dev"), ("Inventory API", "prod")]),
)  # fmt: skip

DEMO_KEYS = (("Globex storefront", ["Pro"]), ("Acme mobile app", ["Free", "Pro"]))


def emulator_seed(endpoint_url: str) -> None:
    """Make the emulator's ids repeatable (moto's own endpoint; other emulators lack it)."""
    url = f"{endpoint_url.rstrip('/')}/moto-api/seed?a={EMULATOR_SEED}"
    request = urllib.request.Request(url, method="POST")  # noqa: S310 - a local emulator's URL
    try:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    except (urllib.error.URLError, OSError):
        return


def emulator_wait(endpoint_url: str, *, timeout: float = 30.0, process=None) -> None:
    """Wait until the emulator answers; fail early if its ``process`` has exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{endpoint_url.rstrip('/')}/moto-api/", timeout=1)  # noqa: S310
            return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError("The AWS emulator exited on start.") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"The AWS emulator at {endpoint_url} did not answer.") from None
            time.sleep(0.1)


def emulator_fill(*, endpoint_url: str, region: str = REGION) -> dict[str, str]:
    """Create Acme's APIs, usage plans and keys in the emulator, skipping any it has by name.
    Returns the ids by name."""
    apigw, apigw2 = clients(endpoint_url, region=region)
    rest = {a["name"]: a["id"] for a in apigw.get_rest_apis(limit=500).get("items", [])}
    http = {a["Name"]: a["ApiId"] for a in apigw2.get_apis().get("Items", [])}
    if not rest and not http:
        emulator_seed(endpoint_url)
    for shape in DEMO_REST_APIS:
        if shape.name not in rest:
            rest[shape.name] = rest_api_put(apigw, shape, region=region)
    for shape in DEMO_HTTP_APIS:
        if shape.name not in http:
            http[shape.name] = http_api_put(apigw2, shape, region=region)
    plans = {p["name"]: p["id"] for p in apigw.get_usage_plans(limit=500).get("items", [])}
    for name, description, rate, burst, quota, period, stages in DEMO_PLANS:
        if name not in plans:
            plans[name] = usage_plan_put(
                apigw,
                name=name,
                description=description,
                stages=[(rest[api], stage) for api, stage in stages],
                rate=rate,
                burst=burst,
                quota=quota,
                period=period,
            )
    keys = {k["name"]: k["id"] for k in apigw.get_api_keys(limit=500).get("items", [])}
    for name, plan_names in DEMO_KEYS:
        if name not in keys:
            # Nobody needs these values: the portal keeps only digests of gateway keys.
            keys[name] = api_key_put(
                apigw,
                name=name,
                value=secrets.token_urlsafe(30),
                plan_ids=[plans[p] for p in plan_names],
            )
    return rest | http | plans | keys


def _connection(
    organisation: Organisation, team: Team, *, name: str, kind: str, config: dict, actor: Actor
) -> GatewayConnection:
    from .services.connections import connection_create, connection_update

    connection = GatewayConnection.objects.filter(organisation=organisation, name=name).first()
    if connection is None:
        return connection_create(
            organisation=organisation,
            team=team,
            name=name,
            kind=kind,
            config=config,
            publish_on_sync=True,
            actor=actor,
        )
    if connection.config != config:
        connection = connection_update(connection=connection, config=config, actor=actor)
    return connection


def seed_gateways(*, endpoint_url: str, out=None) -> list[SyncRun]:
    """Fill the emulator, connect Acme to it (idempotently) and run the first syncs."""
    from .services.sync import sync_connection

    organisation = Organisation.objects.filter(slug=ORGANISATION).first()
    owner = User.objects.filter(email=OWNER).first()
    team = Team.objects.filter(organisation=organisation, slug=TEAM).first()
    if organisation is None or owner is None or team is None:
        return []
    emulator_fill(endpoint_url=endpoint_url)
    actor = Actor.for_user(owner)
    config = {"region": REGION, "endpoint_url": endpoint_url}
    runs = []
    for name, kind in (
        (REST_CONNECTION, GatewayConnection.Kind.AWS_REST),
        (HTTP_CONNECTION, GatewayConnection.Kind.AWS_HTTP),
    ):
        connection = _connection(
            organisation, team, name=name, kind=kind, config=config, actor=actor
        )
        run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
        runs.append(run)
        if out is not None:
            out.write(
                f"  gateway: {name}: {run.get_status_display()} "
                f"({run.new} new, {run.changed} changed, {run.unchanged} unchanged)\n"
            )
    return runs
