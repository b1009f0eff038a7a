"""APIPark (github.com/APIParkLab/APIPark): its services, REST and AI, as APIs.

Endpoints (APIPark's console API, plugins/core/service.go and api.go):

- ``GET /api/v1/services`` lists the services (``data.services``: id, name,
  description, service_kind "rest" or "ai", api_num, provider, update_time);
- ``GET /api/v1/service/api_doc?service=<id>`` gives the service's OpenAPI
  document as APIPark stores it (``data.doc``: content, update_time; null when
  the service has none);
- without a document, ``GET /api/v1/service/routers?service=<id>`` (REST) or
  ``GET /api/v1/service/ai-routers?service=<id>`` (AI) list the routes, and the
  spec is built from them;
- ``GET /api/v1/system/general`` gives the gateway's invoke address.

Every answer is HTTP 200 with ``{"code": 0, "data": {...}}``; a refusal is
``code`` -1 with ``msg``. The console authenticates by its ``session`` cookie,
APIPark's open API (``/openapi/v1``) by an ``Authorization`` header with a
system API key; the connection's token is sent both ways.

Each service has one stage, "default", whose fingerprint digests the service's,
the document's and the routes' update times, so an unchanged service is not
ingested again. The document or routes are read while listing (one or two calls
per service), so fetching the spec needs no further call.
"""

import json
import re

from .base import (
    DiscoveredApi,
    DiscoveredStage,
    FetchedSpec,
    GatewayAdapter,
    GatewayError,
    fingerprint_of,
)
from .http import JsonClient

STAGE = "default"
_PATH_PARAM = re.compile(r":([A-Za-z0-9_]+)")
_HTTP_METHODS = ("get", "post", "put", "delete", "patch", "head", "options")


class APIParkAdapter(GatewayAdapter):
    kind = "apipark"

    def __init__(self, connection):
        super().__init__(connection)
        self.base_url = (connection.config or {}).get("base_url", "").rstrip("/")
        self.token = connection.secret()
        self.client = JsonClient(
            self.base_url,
            headers={"Authorization": self.token, "Cookie": f"session={self.token}"},
            adapter=self,
        )

    def _data(self, path: str, **params) -> dict:
        """``data`` of an APIPark answer, or GatewayError with APIPark's reason."""
        answer = self.client.get(path, **params)
        if not isinstance(answer, dict):
            raise GatewayError(f"APIPark's answer to {path} is not an object.")
        if answer.get("code") not in (0, None) or answer.get("success") == "fail":
            reason = str(answer.get("msg") or answer.get("message") or "no reason given")
            reason = reason.replace(self.token, "[token]")[:200] if self.token else reason[:200]
            raise GatewayError(f"APIPark refused {path}: {reason}")
        return answer.get("data") or {}

    def _invoke_address(self) -> str:
        try:
            general = self._data("/api/v1/system/general").get("general") or {}
        except GatewayError as exc:
            if exc.status in (401, 403):
                raise
            return ""  # where the gateway is reached is useful, not essential
        return str(general.get("invoke_address") or "").rstrip("/")

    def list_apis(self) -> list[DiscoveredApi]:
        invoke = self._invoke_address()
        apis = []
        for service in self._data("/api/v1/services").get("services") or []:
            service_id = service.get("id")
            if not service_id:
                continue
            kind = "ai" if service.get("service_kind") == "ai" else "rest"
            doc = self._data("/api/v1/service/api_doc", service=service_id).get("doc") or {}
            routes = []
            if not str(doc.get("content") or "").strip():
                doc = {}
                routes = self._routes(service_id, kind)
            provider = (service.get("provider") or {}).get("id") or ""
            fingerprint = fingerprint_of(
                {
                    "service": [service.get("update_time"), service.get("api_num")],
                    "doc": doc.get("update_time"),
                    "routes": sorted((str(r.get("id")), str(r.get("update_time"))) for r in routes),
                    "invoke": invoke,
                }
            )
            apis.append(
                DiscoveredApi(
                    external_id=service_id,
                    name=service.get("name") or service_id,
                    description=service.get("description") or "",
                    kind=kind,
                    tags=[t for t in ("apipark", kind, provider) if t],
                    stages=[
                        DiscoveredStage(name=STAGE, fingerprint=fingerprint, invoke_url=invoke)
                    ],
                    extra={"doc": doc.get("content") or "", "routes": routes},
                )
            )
        return apis

    def _routes(self, service_id: str, kind: str) -> list[dict]:
        if kind == "ai":
            return self._data("/api/v1/service/ai-routers", service=service_id).get("apis") or []
        return self._data("/api/v1/service/routers", service=service_id).get("routers") or []

    def fetch_spec(self, api: DiscoveredApi, stage: DiscoveredStage) -> FetchedSpec:
        raw = api.extra.get("doc") or ""
        if raw:
            body = raw.encode()
        else:
            body = json.dumps(spec_from_routes(api, stage, api.extra.get("routes") or [])).encode()
        return FetchedSpec(
            raw=body,
            base_url=stage.invoke_url,
            refs={"service": api.external_id, "stage": stage.name},
        )


def _openapi_path(path: str) -> str:
    path = path.rstrip("*").rstrip("/") or "/"
    return _PATH_PARAM.sub(r"{\1}", path)


def spec_from_routes(api: DiscoveredApi, stage: DiscoveredStage, routes: list[dict]) -> dict:
    """An OpenAPI 3.0 document from a service's routes, when APIPark holds no document:
    each enabled route's methods and path, and for AI routes the provider and model."""
    paths: dict = {}
    for route in sorted(routes, key=lambda r: str(r.get("request_path", ""))):
        if route.get("disabled"):
            continue
        path = _openapi_path(str(route.get("request_path") or ""))
        methods = [m.lower() for m in route.get("methods") or ["POST"]]
        for method in methods:
            if method not in _HTTP_METHODS:
                continue
            operation: dict = {
                "summary": route.get("name") or f"{method.upper()} {path}",
                "responses": {"200": {"description": "The upstream's answer."}},
            }
            if route.get("description"):
                operation["description"] = route["description"]
            parameters = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"{([^}]+)}", path)
            ]
            if parameters:
                operation["parameters"] = parameters
            if api.kind == "ai":
                operation["x-apipark-model"] = {
                    "provider": (route.get("provider") or {}).get("name", ""),
                    "model": (route.get("model") or {}).get("name", ""),
                    "type": route.get("model_type", ""),
                }
                operation["requestBody"] = {
                    "content": {"application/json": {"schema": {"type": "object"}}}
                }
            paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": api.name, "version": "1", "description": api.description},
        "servers": [{"url": stage.invoke_url}] if stage.invoke_url else [],
        "paths": paths,
    }
