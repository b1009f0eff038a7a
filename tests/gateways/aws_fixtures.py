"""A gateway estate in moto: 30 REST APIs and 10 HTTP APIs of varied shapes, a custom
domain, usage plans and API keys, and what a sync should make of them."""

import secrets
from dataclasses import dataclass, field

from apis.demo_gateways import (
    HttpApiShape,
    HttpRoute,
    RestApiShape,
    RestMethod,
    api_key_put,
    clients,
    http_api_put,
    rest_api_put,
    usage_plan_put,
)
from apis.models import SyncRun
from apis.services.connections import connection_create
from apis.services.sync import sync_connection
from tenants.actors import Actor

REST_COUNT, HTTP_COUNT = 30, 10
DOMAIN = "api.estate.test"


def rest_shape(i: int) -> RestApiShape:
    """Four shapes in turn: plain CRUD, a greedy proxy, nested path parameters, ANY."""
    stages = {"dev": {"lambdaAlias": "dev", "index": str(i)}, "prod": {"lambdaAlias": "live"}}
    if i % 5 == 0:
        stages["beta"] = {}
    fn = f"fn-{i:02d}"
    methods = [
        (
            RestMethod(
                "GET",
                "/items",
                api_key=True,
                query=("limit", "cursor"),
                function=fn,
                alias="live",
                responses=("200",),
            ),
            RestMethod("POST", "/items", function=fn, alias="live", responses=("201", "400")),
            RestMethod("GET", "/items/{itemId}", function=fn),
        ),
        (
            RestMethod("ANY", "/{proxy+}", function=fn),
            RestMethod("GET", "/"),
        ),
        (
            RestMethod(
                "GET",
                "/users/{userId}/orders/{orderId}",
                api_key=True,
                query=("expand",),
                headers=("X-Trace",),
                function=fn,
                alias="blue",
            ),
            RestMethod("DELETE", "/users/{userId}", function=fn, alias="blue"),
            RestMethod("PATCH", "/users/{userId}"),
        ),
        (
            RestMethod("ANY", "/things/{id}", function=fn, alias="live"),
            RestMethod("GET", "/things", api_key=True),
            RestMethod("HEAD", "/things"),
        ),
    ][i % 4]
    return RestApiShape(
        name=f"Estate REST {i:02d}",
        description=f"REST API number {i} of the estate.",
        version=f"1.{i}.0",
        methods=methods,
        stages=stages,
    )


def http_shape(i: int) -> HttpApiShape:
    routes = [
        HttpRoute("GET /health"),
        HttpRoute("GET /things/{id}", function=f"http-fn-{i:02d}", alias="live"),
        HttpRoute("POST /things", function=f"http-fn-{i:02d}"),
    ]
    if i % 2:
        routes.append(HttpRoute("ANY /proxy/{proxy+}"))
    if i % 3 == 0:
        routes.append(HttpRoute("$default"))
    return HttpApiShape(
        name=f"Estate HTTP {i:02d}",
        description=f"HTTP API number {i} of the estate.",
        version=f"2.{i}.0",
        routes=tuple(routes),
        stages={"$default": {}, "prod": {"table": f"table-{i}"}},
    )


# Usage plans: name -> (rate, burst, quota, period, [(REST API index, stage)]).
PLANS = {
    "Free": (5.0, 10, 1_000, "DAY", [(i, "prod") for i in range(10)]),
    "Pro": (100.0, 200, 1_000_000, "MONTH", [(i, s) for i in range(5) for s in ("dev", "prod")]),
    "Partner": (20.0, 40, 50_000, "WEEK", [(20, "prod")]),
}
# API keys: name -> (plans, enabled).
KEYS = {
    "alpha": (["Free"], True),
    "beta": (["Pro"], True),
    "gamma": (["Free", "Pro"], True),
    "delta": ([], True),
    "epsilon": (["Partner"], False),
}
# Custom domain base paths: (REST API index, stage) -> base path.
MAPPINGS = {(0, "prod"): "orders", (1, "prod"): "(none)", (0, "dev"): "orders-dev"}


@dataclass
class Estate:
    url: str
    rest: list[tuple[RestApiShape, str]] = field(default_factory=list)
    http: list[tuple[HttpApiShape, str]] = field(default_factory=list)
    plans: dict[str, str] = field(default_factory=dict)  # name -> id
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (id, value)

    @property
    def clients(self):
        return clients(self.url)

    def rest_id(self, index: int) -> str:
        return self.rest[index][1]


def build_estate(url: str, *, rest: int = REST_COUNT, http: int = HTTP_COUNT) -> Estate:
    apigw, apigw2 = clients(url)
    estate = Estate(url=url)
    for i in range(rest):
        shape = rest_shape(i)
        estate.rest.append((shape, rest_api_put(apigw, shape)))
    for i in range(http):
        shape = http_shape(i)
        estate.http.append((shape, http_api_put(apigw2, shape)))
    if rest < REST_COUNT:
        return estate
    apigw.create_domain_name(
        domainName=DOMAIN,
        certificateArn="arn:aws:acm:eu-west-1:123456789012:certificate/estate",
    )
    for (index, stage), base in MAPPINGS.items():
        params = {"domainName": DOMAIN, "restApiId": estate.rest_id(index), "stage": stage}
        if base != "(none)":
            params["basePath"] = base
        apigw.create_base_path_mapping(**params)
    for name, (rate, burst, quota, period, stages) in PLANS.items():
        estate.plans[name] = usage_plan_put(
            apigw,
            name=name,
            description=f"The {name} plan.",
            stages=[(estate.rest_id(i), stage) for i, stage in stages],
            rate=rate,
            burst=burst,
            quota=quota,
            period=period,
        )
    for name, (plans, enabled) in KEYS.items():
        value = f"estate-{name}-{secrets.token_hex(16)}"
        key_id = api_key_put(
            apigw,
            name=name,
            value=value,
            plan_ids=[estate.plans[p] for p in plans],
            enabled=enabled,
        )
        estate.keys[name] = (key_id, value)
    return estate


def connect(cast, url: str, *, kind: str = "aws_rest", name: str = "", **config):
    """A connection of the cast's organisation to the gateway at ``url``."""
    return connection_create(
        organisation=cast.org,
        team=cast.team,
        name=name or f"AWS {kind}",
        kind=kind,
        config={"region": "eu-west-1", "endpoint_url": url, **config},
        actor=Actor.for_user(cast.owner),
    )


def sync_run(connection) -> SyncRun:
    """One sync of ``connection`` in the foreground, as ``manage.py sync_gateways`` runs it."""
    return sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
