"""A small JSON-over-HTTP client for gateways that speak plain HTTP (LiteLLM,
APIPark): timeouts, retries with exponential backoff and full jitter for
throttling, 5xx and connection faults, a request counter, and errors whose
messages never carry response bodies or credentials."""

import logging
import random
import time
from urllib.parse import urljoin

import requests
from django.conf import settings

from .base import GatewayError

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class JsonClient:
    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None, adapter=None):
        if not base_url.startswith(("http://", "https://")):
            raise GatewayError("The base URL must start with http:// or https://.")
        self.base_url = base_url.rstrip("/") + "/"
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", **(headers or {})})
        self.adapter = adapter  # whose ``calls`` to count

    def _sleep_before(self, attempt: int) -> None:
        base = settings.GATEWAY_RETRY_BASE_DELAY
        time.sleep(random.uniform(0, base * (2**attempt)))  # noqa: S311 - jitter, not security

    def request(self, method: str, path: str, *, json=None, params=None) -> object:
        url = urljoin(self.base_url, path.lstrip("/"))
        attempts = max(1, settings.GATEWAY_MAX_ATTEMPTS)
        for attempt in range(attempts):
            if attempt:
                self._sleep_before(attempt - 1)
            if self.adapter is not None:
                self.adapter.calls += 1
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    timeout=settings.GATEWAY_TIMEOUT,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                logger.warning(
                    "gateway request failed: %s %s (%s)", method, path, exc.__class__.__name__
                )
                if attempt + 1 == attempts:
                    raise GatewayError(
                        f"Could not reach the gateway at {self.base_url} "
                        f"({exc.__class__.__name__}).",
                        retryable=True,
                    ) from exc
                continue
            if response.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                logger.warning(
                    "gateway answered %s to %s %s; retrying", response.status_code, method, path
                )
                continue
            if response.status_code in (401, 403):
                raise GatewayError(
                    f"The gateway refused the credentials (HTTP {response.status_code}).",
                    status=response.status_code,
                )
            if response.status_code >= 400:
                raise GatewayError(
                    f"The gateway answered HTTP {response.status_code} to {method} {path}.",
                    retryable=response.status_code in RETRY_STATUSES,
                    status=response.status_code,
                )
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError as exc:
                raise GatewayError(f"The gateway's answer to {path} is not JSON.") from exc
        raise GatewayError("The gateway could not be reached.", retryable=True)

    def get(self, path: str, **params) -> object:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, payload: dict) -> object:
        return self.request("POST", path, json=payload)
