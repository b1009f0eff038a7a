"""AWS API Gateway HTTP APIs (v2): APIs, routes, integrations and stages; the spec is the
stage's export, or built from the routes where export gives nothing usable."""

import json

from ..base import DiscoveredApi, DiscoveredStage, FetchedSpec, GatewayError
from .base import (
    AwsAdapter,
    add_operation,
    integration_entry,
    openapi_document,
    path_parameters,
    usable_export,
)


class AwsHttpAdapter(AwsAdapter):
    """HTTP APIs: APIs, routes, integrations and stages; the spec is the stage's export,
    or built from routes."""

    kind = "aws_http"
    service = "apigatewayv2"

    def __init__(self, connection):
        super().__init__(connection)
        self._routes: dict[str, tuple[list, dict]] = {}

    def _list(self, method, **params):
        """Every item of an HTTP API list call, 500 a page."""
        return self._pages(method, "Items", "NextToken", "NextToken", MaxResults="500", **params)

    def list_apis(self) -> list[DiscoveredApi]:
        apis = []
        for item in self._list(self.client.get_apis):
            if item.get("ProtocolType") != "HTTP":
                continue
            api_id = item["ApiId"]
            version = item.get("Version", "")
            stages = []
            for stage in self._list(self.client.get_stages, ApiId=api_id):
                name = stage["StageName"]
                endpoint = item.get("ApiEndpoint", "")
                deployment_id = stage.get("DeploymentId", "")
                stages.append(
                    DiscoveredStage(
                        name=name,
                        deployment_id=deployment_id,
                        # A stage changes what it serves only with a new deployment (an
                        # automatic one with each change, where the stage deploys itself),
                        # which moves its deployment id and last update; the API's version
                        # is in the spec. Routes and exports are read only when one moved.
                        fingerprint=(
                            f"{deployment_id}@{stage.get('LastUpdatedDate') or ''}|{version}"
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
                    version=version,
                    tags=sorted((item.get("Tags") or {}).keys())[:8],
                    stages=stages,
                )
            )
        return apis

    def _routes_of(self, api_id: str) -> tuple[list, dict]:
        """The API's routes and its integrations by id, read once a run."""
        if api_id not in self._routes:
            routes = list(self._list(self.client.get_routes, ApiId=api_id))
            integrations = {
                i["IntegrationId"]: i
                for i in self._list(self.client.get_integrations, ApiId=api_id)
            }
            self._routes[api_id] = (routes, integrations)
        return self._routes[api_id]

    def fetch_spec(self, api: DiscoveredApi, stage: DiscoveredStage) -> FetchedSpec:
        raw = self._export(api.external_id, stage.name)
        routes, integrations = self._routes_of(api.external_id)
        if raw is None:
            raw = json.dumps(spec_from_routes(api, routes)).encode()
        return FetchedSpec(
            raw=raw,
            version_label=api.version,
            base_url=stage.invoke_url,
            integrations=_integrations(routes, integrations),
            refs={
                "http_api_id": api.external_id,
                "stage": stage.name,
                "deployment_id": stage.deployment_id,
            },
        )

    def _export(self, api_id: str, stage: str) -> bytes | None:
        """The stage's exported OpenAPI 3 document (with the gateway's extensions), or None
        where the gateway has no export (emulators answer NotImplemented or an error code)
        or exports nothing usable."""
        params = {
            "ApiId": api_id,
            "Specification": "OAS30",
            "OutputType": "JSON",
            "IncludeExtensions": True,
        }
        if stage:
            params["StageName"] = stage
        try:
            response = self._call(self.client.export_api, **params)
        except GatewayError as exc:
            if exc.retryable and exc.status != 501 and "NotImplemented" not in exc.message:
                # A passing fault fails this API for this run: building the spec from routes
                # instead would make a version that the next run's export replaces.
                raise
            return None
        return usable_export(response["body"].read())


def _integrations(routes: list, integrations: dict) -> list[dict]:
    out = []
    for route in sorted(routes, key=lambda r: r.get("RouteKey", "")):
        key = route.get("RouteKey", "")
        if " " not in key:
            continue
        integration = integrations.get(route.get("Target", "").removeprefix("integrations/"), {})
        out.append(
            integration_entry(
                route=key,
                kind=integration.get("IntegrationType", ""),
                uri=integration.get("IntegrationUri", ""),
            )
        )
    return out


def spec_from_routes(api: DiscoveredApi, routes: list) -> dict:
    """An OpenAPI 3.0 document built from an HTTP API's routes, for when export is not
    available: paths, methods and path parameters."""
    paths: dict = {}
    for route in sorted(routes, key=lambda r: r.get("RouteKey", "")):
        key = route.get("RouteKey", "")
        if " " not in key:
            continue  # $default catches everything; it has no path to document
        method, path = key.split(" ", 1)
        operation = {"summary": key, "responses": {"200": {"description": "200 response"}}}
        parameters = path_parameters(path)
        if parameters:
            operation["parameters"] = parameters
        add_operation(paths, method=method, path=path, operation=operation)
    return openapi_document(api, version=api.version or "1", paths=paths)
