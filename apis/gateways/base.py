"""The adapter interface and the shapes that cross it.

An adapter reads a gateway (``list_apis``, ``fetch_spec``, ``list_plans``,
``list_keys``) and writes keys to it (``provision_key``, ``revoke_key``,
``set_key_enabled``, ``set_key_budget``). It counts the requests it makes in ``calls``. It
raises GatewayError for a failure the whole connection shares (bad
credentials, unreachable endpoint) and may raise it for a single API.

Fingerprints let a sync skip work: a stage whose fingerprint is what the
portal saw last time is not fetched again. An empty fingerprint means
"unknown: always fetch".
"""

import hashlib
import json
from dataclasses import dataclass, field


class GatewayError(Exception):
    """The gateway refused or could not be reached; the message is safe to show.
    ``status`` is the HTTP status the gateway answered, where there was one."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status


def fingerprint_of(value) -> str:
    """A stable digest of JSON-like data, for stage fingerprints."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class DiscoveredStage:
    name: str
    fingerprint: str = ""
    deployment_id: str = ""
    invoke_url: str = ""
    variables: dict = field(default_factory=dict)
    base_paths: list = field(default_factory=list)


@dataclass
class DiscoveredApi:
    external_id: str
    name: str
    description: str = ""
    kind: str = "rest"
    version: str = ""
    tags: list[str] = field(default_factory=list)
    stages: list[DiscoveredStage] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # adapter-private details for fetch_spec


@dataclass
class FetchedSpec:
    raw: bytes
    version_label: str = ""
    base_url: str = ""
    integrations: list = field(default_factory=list)
    refs: dict = field(default_factory=dict)


@dataclass
class DiscoveredPlan:
    external_id: str
    name: str
    description: str = ""
    rate_limit: float | None = None
    burst_limit: int | None = None
    quota_limit: int | None = None
    quota_period: str = ""  # day, week or month
    api_stages: list[tuple[str, str]] = field(default_factory=list)  # (api external id, stage)

    def limits(self) -> dict:
        return {
            "rate_limit": self.rate_limit,
            "burst_limit": self.burst_limit,
            "quota_limit": self.quota_limit,
            "quota_period": self.quota_period or None,
        }


@dataclass
class DiscoveredKey:
    external_id: str
    name: str = ""
    enabled: bool = True
    value_digest: str = ""
    plan_ids: list[str] = field(default_factory=list)


@dataclass
class ProvisionedKey:
    external_id: str
    enabled: bool = True


class GatewayAdapter:
    """Base class: read-only adapters leave the key methods unsupported."""

    kind = ""

    def __init__(self, connection):
        self.connection = connection
        self.calls = 0

    def list_apis(self) -> list[DiscoveredApi]:
        raise NotImplementedError

    def fetch_spec(self, api: DiscoveredApi, stage: DiscoveredStage) -> FetchedSpec:
        raise NotImplementedError

    def list_plans(self) -> list[DiscoveredPlan]:
        return []

    def list_keys(self) -> list[DiscoveredKey]:
        return []

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
        raise GatewayError(f"{self.kind} connections cannot hold API keys.")

    def set_key_enabled(self, *, key_id: str, enabled: bool) -> None:
        raise GatewayError(f"{self.kind} connections cannot hold API keys.")

    def revoke_key(self, *, key_id: str) -> None:
        raise GatewayError(f"{self.kind} connections cannot hold API keys.")

    def set_key_budget(
        self, *, key_id: str, budget: float | None, budget_period: str | None = None
    ) -> None:
        raise GatewayError(f"{self.kind} connections cannot hold budgets.")
