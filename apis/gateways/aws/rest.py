"""AWS API Gateway REST APIs (v1): APIs, stages, resources and methods, exports, usage
plans and API keys."""

import json

from tenants import keys as secret_keys

from ..base import (
    DiscoveredApi,
    DiscoveredKey,
    DiscoveredPlan,
    DiscoveredStage,
    FetchedSpec,
    GatewayError,
    ProvisionedKey,
)
from .base import (
    AwsAdapter,
    add_operation,
    integration_entry,
    openapi_document,
    path_parameters,
    usable_export,
)

_PERIODS = {"DAY": "day", "WEEK": "week", "MONTH": "month"}


class AwsRestAdapter(AwsAdapter):
    """REST APIs: APIs, stages, resources and methods, exports, usage plans, keys."""

    kind = "aws_rest"
    service = "apigateway"

    def __init__(self, connection):
        super().__init__(connection)
        self._resources: dict[str, list] = {}
        self._usage_plans: list | None = None

    def _list(self, method, **params):
        """Every item of a REST API list call, 500 a page."""
        return self._pages(method, "items", "position", "position", limit=500, **params)

    def _plans(self) -> list:
        """The usage plans, listed once per run: plans and keys both need them."""
        if self._usage_plans is None:
            self._usage_plans = list(self._list(self.client.get_usage_plans))
        return self._usage_plans

    def _domain_mappings(self) -> dict[tuple[str, str], list]:
        mappings: dict[tuple[str, str], list] = {}
        try:
            for domain in list(self._list(self.client.get_domain_names)):
                name = domain["domainName"]
                for mapping in self._list(self.client.get_base_path_mappings, domainName=name):
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
        for item in self._list(self.client.get_rest_apis):
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
                self._list(self.client.get_resources, restApiId=api_id, embed=["methods"])
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
        except GatewayError:
            return None
        return usable_export(response["body"].read())

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
            for key in self._list(self.client.get_usage_plan_keys, usagePlanId=plan["id"]):
                plan_of.setdefault(key["id"], []).append(plan["id"])
        found = []
        for item in self._list(self.client.get_api_keys, includeValues=True):
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
        for key in self._list(self.client.get_api_keys, nameQuery=name):
            if key.get("name") == name:
                return key["id"]
        raise GatewayError(f"AWS holds this key's value, but no key named {name}.")

    def _plans_of(self, key_id: str) -> set[str]:
        return {plan["id"] for plan in self._list(self.client.get_usage_plans, keyId=key_id)}

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
            out.append(
                integration_entry(
                    route=f"{method} {resource.get('path', '')}",
                    kind=integration.get("type", ""),
                    uri=integration.get("uri", ""),
                )
            )
    return out


def spec_from_resources(api: DiscoveredApi, stage: DiscoveredStage, resources: list) -> dict:
    """An OpenAPI 3.0 document built from resources and methods, for when export is not
    available: paths, methods, parameters, responses, API-key security and integrations."""
    paths: dict = {}
    needs_key = False
    for resource in sorted(resources, key=lambda r: r.get("path", "")):
        path = resource.get("path", "")
        for method, details in (resource.get("resourceMethods") or {}).items():
            parameters = path_parameters(path)
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
            add_operation(paths, method=method, path=path, operation=operation)
    document = openapi_document(api, version=api.version or stage.deployment_id or "1", paths=paths)
    if needs_key:
        document["components"] = {
            "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
        }
    return document
