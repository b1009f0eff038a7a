"""One OpenAPI document at a URL, as one API with one stage, "default".

The document is fetched with the SSRF-safe fetcher (size cap, timeout, link-local
and metadata addresses refused; private networks allowed by
GATEWAY_ALLOW_PRIVATE_NETWORKS, since gateways usually live there). The
validator the server sent last time rides on the stage's fingerprint
("etag:<value>" or "modified:<value>", else "sha256:<digest of the body>"), and
is sent back as If-None-Match or If-Modified-Since: a 304 hands the sync the
fingerprint it stored, so the stage is skipped.
"""

import hashlib
from urllib.parse import urlsplit

from django.conf import settings

from ..specs import loader
from ..specs.errors import SpecError
from ..specs.fetch import FetchResult, fetch
from .base import DiscoveredApi, DiscoveredStage, FetchedSpec, GatewayAdapter, GatewayError

STAGE = "default"
MAX_FINGERPRINT = 200  # GatewayDeployment.fingerprint


def fingerprint_for(result: FetchResult) -> str:
    for prefix, value in (("etag", result.etag), ("modified", result.last_modified)):
        candidate = f"{prefix}:{value}"
        if value and len(candidate) <= MAX_FINGERPRINT:
            return candidate
    return "sha256:" + hashlib.sha256(result.body or b"").hexdigest()


def validators_from(fingerprint: str) -> dict[str, str]:
    """The conditional-request arguments of ``fetch`` a stored fingerprint allows."""
    kind, _, value = fingerprint.partition(":")
    if kind == "etag" and value:
        return {"etag": value}
    if kind == "modified" and value:
        return {"last_modified": value}
    return {}


class OpenApiUrlAdapter(GatewayAdapter):
    kind = "openapi_url"

    def __init__(self, connection):
        super().__init__(connection)
        config = connection.config or {}
        self.url = config.get("url", "")
        self.name = config.get("name", "")

    @property
    def external_id(self) -> str:
        if len(self.url) <= 200:  # Api.external_id
            return self.url
        return "sha256:" + hashlib.sha256(self.url.encode()).hexdigest()

    def _fetch(self, **validators) -> FetchResult:
        self.calls += 1
        try:
            return fetch(
                self.url,
                max_bytes=settings.SPEC_MAX_BYTES,
                timeout=settings.GATEWAY_TIMEOUT,
                allow_private=settings.GATEWAY_ALLOW_PRIVATE_NETWORKS,
                **validators,
            )
        except SpecError as exc:
            raise GatewayError(exc.message) from exc

    def _previous(self):
        from ..models import Api, GatewayDeployment

        api = Api.objects.filter(connection=self.connection, external_id=self.external_id).first()
        if api is None:
            return None, ""
        deployment = GatewayDeployment.objects.filter(api=api, stage=STAGE).first()
        return api, deployment.fingerprint if deployment is not None else ""

    def list_apis(self) -> list[DiscoveredApi]:
        api, previous = self._previous()
        result = self._fetch(**validators_from(previous))
        if result.not_modified and previous:
            fingerprint, body = previous, None
        else:
            if result.not_modified:  # a 304 to a request without validators: ask plainly
                result = self._fetch()
            fingerprint, body = fingerprint_for(result), result.body
        name = self.name or (api.name if api is not None else "") or _title(body) or self.host
        return [
            DiscoveredApi(
                external_id=self.external_id,
                name=name[:120],
                description=f"OpenAPI document at {self.url}",
                kind="rest",
                stages=[DiscoveredStage(name=STAGE, fingerprint=fingerprint)],
                extra={"body": body},
            )
        ]

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    def fetch_spec(self, api: DiscoveredApi, stage: DiscoveredStage) -> FetchedSpec:
        body = api.extra.get("body")
        if body is None:  # unchanged upstream, but the portal wants it again (it went missing)
            result = self._fetch()
            body = result.body or b""
            stage.fingerprint = fingerprint_for(result)
        return FetchedSpec(raw=body, refs={"url": self.url})


def _title(body: bytes | None) -> str:
    """The document's info.title, read cheaply; the full parse happens in ingest."""
    if not body:
        return ""
    try:
        document, _ = loader.load(
            body, max_bytes=settings.SPEC_MAX_BYTES, max_aliases=settings.SPEC_MAX_YAML_ALIASES
        )
    except SpecError:  # a bad document is reported by ingest, with the reasons
        return ""
    info = document.get("info") if isinstance(document, dict) else None
    title = info.get("title") if isinstance(info, dict) else None
    return title.strip() if isinstance(title, str) else ""
