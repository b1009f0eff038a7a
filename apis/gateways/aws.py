"""AWS API Gateway: REST APIs (v1) and HTTP APIs (v2).

Credentials come from the standard boto3 chain (environment, shared config,
instance or task role), never from the portal; a connection may name a role
to assume, with an external id, to reach another account. ``endpoint_url``
points the clients at an emulator. boto3's standard retry mode retries
throttling, 5xx and connection faults with exponential backoff and jitter.
"""

import functools
import json
import re

import botocore.exceptions
import botocore.loaders
import botocore.session
from botocore.config import Config
from django.conf import settings

from tenants import keys as secret_keys

from ..specs.operations import METHODS
from .base import (
    DiscoveredApi,
    DiscoveredKey,
    DiscoveredPlan,
    DiscoveredStage,
    FetchedSpec,
    GatewayAdapter,
    GatewayError,
    ProvisionedKey,
)

_LAMBDA_ARN = re.compile(
    r"arn:aws:lambda:(?P<region>[^:]+):(?P<account>\d+):function:(?P<function>[^:/]+)"
    r"(?::(?P<alias>[^:/]+))?"
)
_PERIODS = {"DAY": "day", "WEEK": "week", "MONTH": "month"}
_GREEDY = re.compile(r"\{([^{}+]+)\+\}")
_THROTTLING = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException"}
)


def lambda_target(uri: str) -> dict | None:
    """The Lambda function (and alias) an integration URI calls, if it calls one."""
    match = _LAMBDA_ARN.search(uri or "")
    if not match:
        return None
    return {k: v for k, v in match.groupdict().items() if v}


def openapi_path(path: str) -> str:
    """The OpenAPI form of a gateway path: a greedy ``{proxy+}`` is the parameter ``{proxy}``
    (OpenAPI has no greedy parameters, and validators refuse the ``+``)."""
    return _GREEDY.sub(r"{\1}", path)


def _retryable(exc: Exception) -> bool:
    """Throttling and connection faults may pass; a refusal will not."""
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return exc.response.get("Error", {}).get("Code", "") in _THROTTLING or status >= 500
    return isinstance(
        exc, botocore.exceptions.HTTPClientError | botocore.exceptions.ConnectionError
    )


def _error_message(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        return f"AWS refused {exc.operation_name}: {error.get('Code', 'error')}"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return "Could not connect to the AWS endpoint."
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "No AWS credentials were found in the environment of the worker."
    return f"AWS call failed: {exc.__class__.__name__}."


@functools.cache
def _data_loader() -> botocore.loaders.Loader:
    """botocore reads its JSON data (service models, endpoints) through a session's loader,
    which keeps what it read. One loader for the process spares each new session ~50 ms of
    parsing, most of the cost of a gateway operation; sessions stay one per adapter."""
    return botocore.loaders.create_loader()


def _new_session(region: str) -> botocore.session.Session:
    session = botocore.session.Session()
    session.register_component("data_loader", _data_loader())
    session.set_config_variable("region", region)
    return session


class _AwsAdapter(GatewayAdapter):
    service = ""

    def __init__(self, connection):
        super().__init__(connection)
        self._client = None

    @property
    def config(self) -> dict:
        return self.connection.config or {}

    def _session(self) -> botocore.session.Session:
        region = self.config.get("region") or "us-east-1"
        role_arn = self.config.get("role_arn")
        # A session of its own: boto3's default session is shared by the whole process,
        # not thread-safe, and keeps the credentials it resolved first.
        session = _new_session(region)
        if not role_arn:
            return session
        sts = session.create_client(
            "sts",
            region_name=region,
            endpoint_url=self.config.get("endpoint_url") or None,
            config=self._botocore_config(),
        )
        self._count(sts)
        params = {"RoleArn": role_arn, "RoleSessionName": "portico-sync"}
        if self.config.get("external_id"):
            params["ExternalId"] = self.config["external_id"]
        credentials = self._call(sts.assume_role, **params)["Credentials"]
        assumed = _new_session(region)
        assumed.set_credentials(
            credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
        )
        return assumed

    def _botocore_config(self) -> Config:
        return Config(
            # botocore's ``max_attempts`` counts retries only; the setting counts every attempt.
            retries={
                "mode": "standard",
                "total_max_attempts": max(1, settings.GATEWAY_MAX_ATTEMPTS),
            },
            connect_timeout=settings.GATEWAY_TIMEOUT,
            read_timeout=settings.GATEWAY_TIMEOUT,
            user_agent_extra="portico",
        )

    def _count(self, client) -> None:
        def counted(**_):
            self.calls += 1

        client.meta.events.register("before-send", counted)

    @property
    def client(self):
        if self._client is None:
            try:
                self._client = self._session().create_client(
                    self.service,
                    region_name=self.config.get("region") or "us-east-1",
                    endpoint_url=self.config.get("endpoint_url") or None,
                    config=self._botocore_config(),
                )
            except botocore.exceptions.BotoCoreError as exc:
                raise GatewayError(_error_message(exc)) from exc
            self._count(self._client)
        return self._client

    def _call(self, method, **params):
        try:
            return method(**params)
        except botocore.exceptions.ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise GatewayError(
                _error_message(exc), retryable=_retryable(exc), status=status
            ) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise GatewayError(_error_message(exc), retryable=_retryable(exc)) from exc

    def _pages(self, method, key: str, token_in: str, token_out: str, **params):
        """Every item of a paginated list call."""
        while True:
            page = self._call(method, **params)
            yield from page.get(key, [])
            token = page.get(token_out)
            if not token:
                return
            params[token_in] = token


class AwsRestAdapter(_AwsAdapter):
    """REST APIs: APIs, stages, resources and methods, exports, usage plans, keys."""

    kind = "aws_rest"
    service = "apigateway"

    def __init__(self, connection):
        super().__init__(connection)
        self._resources: dict[str, list] = {}
        self._usage_plans: list | None = None

    def _plans(self) -> list:
        """The usage plans, listed once per run: plans and keys both need them."""
        if self._usage_plans is None:
            self._usage_plans = list(
                self._pages(self.client.get_usage_plans, "items", "position", "position", limit=500)
            )
        return self._usage_plans

    def _domain_mappings(self) -> dict[tuple[str, str], list]:
        mappings: dict[tuple[str, str], list] = {}
        try:
            for domain in list(
                self._pages(
                    self.client.get_domain_names, "items", "position", "position", limit=500
                )
            ):
                name = domain["domainName"]
                for mapping in self._pages(
                    self.client.get_base_path_mappings,
                    "items",
                    "position",
                    "position",
                    domainName=name,
                    limit=500,
                ):
                    base = mapping.get("basePath", "(none)")
                    key = (mapping.get("restApiId", ""), mapping.get("stage", ""))
                    url = f"https://{name}/" + ("" if base == "(none)" else base)
                    mappings.setdefault(key, []).append(url)
        except GatewayError as exc:
            if exc.retryable:
                raise  # an endpoint that cannot be reached fails the run here, not later
            return {}  # custom domains are optional information: a refusal costs only them
        return mappings

    def list_apis(self) -> list[DiscoveredApi]:
        region = self.config.get("region") or "us-east-1"
        mappings = self._domain_mappings()
        apis = []
        for item in self._pages(
            self.client.get_rest_apis, "items", "position", "position", limit=500
        ):
            api_id = item["id"]
            stages = []
            for stage in self._call(self.client.get_stages, restApiId=api_id).get("item", []):
                name = stage["stageName"]
                updated = stage.get("lastUpdatedDate")
                stages.append(
                    DiscoveredStage(
                        name=name,
                        deployment_id=stage.get("deploymentId", ""),
                        fingerprint=f"{stage.get('deploymentId', '')}@{updated or ''}",
                        invoke_url=f"https://{api_id}.execute-api.{region}.amazonaws.com/{name}",
                        variables=stage.get("variables", {}) or {},
                        base_paths=mappings.get((api_id, name), []),
                    )
                )
            apis.append(
                DiscoveredApi(
                    external_id=api_id,
                    name=item.get("name") or api_id,
                    description=item.get("description", ""),
                    kind="rest",
                    version=item.get("version", ""),
                    tags=sorted((item.get("tags") or {}).keys())[:8],
                    stages=stages,
                )
            )
        return apis

    def _resources_of(self, api_id: str) -> list:
        if api_id not in self._resources:
            self._resources[api_id] = list(
                self._pages(
                    self.client.get_resources,
                    "items",
                    "position",
                    "position",
                    restApiId=api_id,
                    embed=["methods"],
                    limit=500,
                )
            )
        return self._resources[api_id]

    def fetch_spec(self, api: DiscoveredApi, stage: DiscoveredStage) -> FetchedSpec:
        resources = self._resources_of(api.external_id)
        integrations = _integrations(resources)
        raw = self._export(api.external_id, stage.name)
        if raw is None:
            raw = json.dumps(spec_from_resources(api, stage, resources)).encode()
        return FetchedSpec(
            raw=raw,
            version_label=api.version,
            base_url=stage.invoke_url,
            integrations=integrations,
            refs={
                "rest_api_id": api.external_id,
                "stage": stage.name,
                "deployment_id": stage.deployment_id,
            },
        )

    def _export(self, api_id: str, stage: str) -> bytes | None:
        """The stage's exported OpenAPI 3 document, or None where export gives nothing usable."""
        try:
            response = self._call(
                self.client.get_export,
                restApiId=api_id,
                stageName=stage,
                exportType="oas30",
                accepts="application/json",
            )
            body = response["body"].read()
            document = json.loads(body)
        except (GatewayError, ValueError):
            return None
        if not isinstance(document, dict):
            return None
        # An emulator may export Swagger 2.0 with upper-case methods or no operations: the
        # document built from resources and methods is then the better description.
        paths = document.get("paths") or {}
        if not (
            str(document.get("openapi", "")).startswith("3")
            and isinstance(paths, dict)
            and any(
                method in item
                for item in paths.values()
                if isinstance(item, dict)
                for method in METHODS
            )
        ):
            return None
        if any(_GREEDY.search(path) for path in paths):
            document["paths"] = {openapi_path(path): item for path, item in paths.items()}
        # Where a stage runs belongs to its deployment, not to the spec: without the
        # stage's server, stages serving the same API share one version.
        document.pop("servers", None)
        return json.dumps(document).encode()

    def list_plans(self) -> list[DiscoveredPlan]:
        plans = []
        for item in self._plans():
            throttle = item.get("throttle") or {}
            quota = item.get("quota") or {}
            plans.append(
                DiscoveredPlan(
                    external_id=item["id"],
                    name=item.get("name") or item["id"],
                    description=item.get("description", ""),
                    rate_limit=throttle.get("rateLimit"),
                    burst_limit=throttle.get("burstLimit"),
                    quota_limit=quota.get("limit"),
                    quota_period=_PERIODS.get(quota.get("period", ""), ""),
                    api_stages=[
                        (s["apiId"], s.get("stage", "")) for s in item.get("apiStages", [])
                    ],
                )
            )
        return plans

    def list_keys(self) -> list[DiscoveredKey]:
        plan_of: dict[str, list[str]] = {}
        for plan in self._plans():
            for key in self._pages(
                self.client.get_usage_plan_keys,
                "items",
                "position",
                "position",
                usagePlanId=plan["id"],
                limit=500,
            ):
                plan_of.setdefault(key["id"], []).append(plan["id"])
        found = []
        for item in self._pages(
            self.client.get_api_keys, "items", "position", "position", includeValues=True, limit=500
        ):
            value = item.get("value", "")
            found.append(
                DiscoveredKey(
                    external_id=item["id"],
                    name=item.get("name", ""),
                    enabled=bool(item.get("enabled")),
                    value_digest=secret_keys.digest(value) if value else "",
                    plan_ids=plan_of.get(item["id"], []),
                )
            )
        return found

    # --- writing keys (subscriptions) -------------------------------------------------

    def provision_key(
        self,
        *,
        name: str,
        value: str,
        plan_ids: list[str],
        models: list[str] | None = None,
        budget: float | None = None,
        key_id: str = "",
    ) -> ProvisionedKey:
        """Create the key with the portal's value and make ``plan_ids`` its usage plans (and
        no others: AWS refuses a key on two plans of one stage, so a plan change moves it).
        A new key costs two calls, create and attach. Safe to repeat: when AWS already holds
        the value (an earlier attempt whose answer was lost), the key is found by its name
        instead of made twice."""
        current: set[str] = set()
        if key_id:
            current = self._plans_of(key_id)
        else:
            try:
                key_id = self._call(
                    self.client.create_api_key, name=name, value=value, enabled=True
                )["id"]
            except GatewayError as exc:
                if exc.status != 409:
                    raise
                key_id = self._key_named(name)
                current = self._plans_of(key_id)
        for plan_id in sorted(current - set(plan_ids)):
            try:
                self._call(self.client.delete_usage_plan_key, usagePlanId=plan_id, keyId=key_id)
            except GatewayError as exc:
                if exc.status != 404:
                    raise
        for plan_id in plan_ids:
            if plan_id in current:
                continue
            try:
                self._call(
                    self.client.create_usage_plan_key,
                    usagePlanId=plan_id,
                    keyId=key_id,
                    keyType="API_KEY",
                )
            except GatewayError as exc:
                if exc.status != 409:  # attached already
                    raise
        return ProvisionedKey(external_id=key_id, enabled=True)

    def _key_named(self, name: str) -> str:
        for key in self._pages(
            self.client.get_api_keys, "items", "position", "position", nameQuery=name, limit=500
        ):
            if key.get("name") == name:
                return key["id"]
        raise GatewayError(f"AWS holds this key's value, but no key named {name}.")

    def _plans_of(self, key_id: str) -> set[str]:
        return {
            plan["id"]
            for plan in self._pages(
                self.client.get_usage_plans,
                "items",
                "position",
                "position",
                keyId=key_id,
                limit=500,
            )
        }

    def set_key_enabled(self, *, key_id: str, enabled: bool) -> None:
        self._call(
            self.client.update_api_key,
            apiKey=key_id,
            patchOperations=[
                {"op": "replace", "path": "/enabled", "value": "true" if enabled else "false"}
            ],
        )

    def revoke_key(self, *, key_id: str) -> None:
        try:
            self._call(self.client.delete_api_key, apiKey=key_id)
        except GatewayError as exc:
            if "NotFound" not in exc.message:  # already gone: revoking twice is fine
                raise


def _integrations(resources: list) -> list[dict]:
    out = []
    for resource in resources:
        for method, details in (resource.get("resourceMethods") or {}).items():
            integration = details.get("methodIntegration") or {}
            entry = {
                "route": f"{method} {resource.get('path', '')}",
                "type": integration.get("type", ""),
            }
            target = lambda_target(integration.get("uri", ""))
            if target:
                entry["lambda"] = target
            out.append(entry)
    return out


def _path_parameters(path: str) -> list[dict]:
    return [
        {
            "name": part[1:-1].rstrip("+"),
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
        }
        for part in path.split("/")
        if part.startswith("{") and part.endswith("}")
    ]


def spec_from_resources(api: DiscoveredApi, stage: DiscoveredStage, resources: list) -> dict:
    """An OpenAPI 3.0 document built from resources and methods, for when export is not
    available: paths, methods, parameters, responses, API-key security and integrations."""
    paths: dict = {}
    needs_key = False
    for resource in sorted(resources, key=lambda r: r.get("path", "")):
        path = resource.get("path", "")
        for method, details in (resource.get("resourceMethods") or {}).items():
            methods = (
                ["get", "post", "put", "delete", "patch"] if method == "ANY" else [method.lower()]
            )
            parameters = _path_parameters(path)
            for name, required in (details.get("requestParameters") or {}).items():
                parts = name.split(".")
                if len(parts) == 4 and parts[2] in ("querystring", "header"):
                    parameters.append(
                        {
                            "name": parts[3],
                            "in": "query" if parts[2] == "querystring" else "header",
                            "required": bool(required),
                            "schema": {"type": "string"},
                        }
                    )
            responses = {
                str(code): {"description": f"{code} response"}
                for code in (details.get("methodResponses") or {})
            } or {"200": {"description": "200 response"}}
            operation = {
                "summary": details.get("operationName") or f"{method} {path}",
                "responses": responses,
            }
            if parameters:
                operation["parameters"] = parameters
            if details.get("apiKeyRequired"):
                operation["security"] = [{"api_key": []}]
                needs_key = True
            integration = details.get("methodIntegration") or {}
            if integration:
                operation["x-amazon-apigateway-integration"] = {
                    k: integration[k] for k in ("type", "uri", "httpMethod") if k in integration
                }
            for verb in methods:
                if verb in METHODS:
                    paths.setdefault(openapi_path(path), {})[verb] = operation
    document = {
        "openapi": "3.0.3",
        "info": {
            "title": api.name,
            "version": api.version or stage.deployment_id or "1",
            "description": api.description,
        },
        # No servers: the stage's URL lives on its deployment (see _export).
        "paths": paths,
    }
    if needs_key:
        document["components"] = {
            "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
        }
    return document


class AwsHttpAdapter(_AwsAdapter):
    """HTTP APIs: APIs, routes, integrations and stages; the spec is built from routes."""

    kind = "aws_http"
    service = "apigatewayv2"

    def list_apis(self) -> list[DiscoveredApi]:
        apis = []
        for item in self._pages(
            self.client.get_apis, "Items", "NextToken", "NextToken", MaxResults="500"
        ):
            if item.get("ProtocolType") != "HTTP":
                continue
            api_id = item["ApiId"]
            routes = list(
                self._pages(
                    self.client.get_routes,
                    "Items",
                    "NextToken",
                    "NextToken",
                    ApiId=api_id,
                    MaxResults="500",
                )
            )
            integrations = {
                i["IntegrationId"]: i
                for i in self._pages(
                    self.client.get_integrations,
                    "Items",
                    "NextToken",
                    "NextToken",
                    ApiId=api_id,
                    MaxResults="500",
                )
            }
            shape = json.dumps(
                sorted(
                    (r.get("RouteKey", ""), r.get("Target", ""), r.get("ApiKeyRequired", False))
                    for r in routes
                )
            )
            stages = []
            for stage in self._pages(
                self.client.get_stages,
                "Items",
                "NextToken",
                "NextToken",
                ApiId=api_id,
                MaxResults="500",
            ):
                name = stage["StageName"]
                endpoint = item.get("ApiEndpoint", "")
                stages.append(
                    DiscoveredStage(
                        name=name,
                        deployment_id=stage.get("DeploymentId", ""),
                        fingerprint=secret_keys.digest(
                            f"{shape}|{stage.get('DeploymentId', '')}|{item.get('Version', '')}"
                        ),
                        invoke_url=endpoint if name == "$default" else f"{endpoint}/{name}",
                        variables=stage.get("StageVariables", {}) or {},
                    )
                )
            apis.append(
                DiscoveredApi(
                    external_id=api_id,
                    name=item.get("Name") or api_id,
                    description=item.get("Description", ""),
                    kind="http",
                    version=item.get("Version", ""),
                    tags=sorted((item.get("Tags") or {}).keys())[:8],
                    stages=stages,
                    extra={"routes": routes, "integrations": integrations},
                )
            )
        return apis

    def fetch_spec(self, api: DiscoveredApi, stage: DiscoveredStage) -> FetchedSpec:
        routes = api.extra.get("routes", [])
        integrations = api.extra.get("integrations", {})
        paths: dict = {}
        used: list[dict] = []
        for route in sorted(routes, key=lambda r: r.get("RouteKey", "")):
            key = route.get("RouteKey", "")
            if " " not in key:
                continue  # $default catches everything; it has no path to document
            method, path = key.split(" ", 1)
            verbs = (
                ["get", "post", "put", "delete", "patch"] if method == "ANY" else [method.lower()]
            )
            operation = {"summary": key, "responses": {"200": {"description": "200 response"}}}
            parameters = _path_parameters(path)
            if parameters:
                operation["parameters"] = parameters
            target = route.get("Target", "").removeprefix("integrations/")
            integration = integrations.get(target, {})
            entry = {"route": key, "type": integration.get("IntegrationType", "")}
            function = lambda_target(integration.get("IntegrationUri", ""))
            if function:
                entry["lambda"] = function
            used.append(entry)
            for verb in verbs:
                if verb in METHODS:
                    paths.setdefault(openapi_path(path), {})[verb] = operation
        document = {
            "openapi": "3.0.3",
            "info": {
                "title": api.name,
                "version": api.version or "1",
                "description": api.description,
            },
            # No servers: the stage's URL lives on its deployment (see _export).
            "paths": paths,
        }
        return FetchedSpec(
            raw=json.dumps(document).encode(),
            version_label=api.version,
            base_url=stage.invoke_url,
            integrations=used,
            refs={
                "http_api_id": api.external_id,
                "stage": stage.name,
                "deployment_id": stage.deployment_id,
            },
        )
