"""What the AWS adapters share: botocore sessions and clients (with an assumed role where the
connection names one), retries, paging, errors safe to show, and the helpers that turn
gateway routes and integrations into OpenAPI paths and Lambda targets."""

import functools
import json
import re

import botocore.exceptions
import botocore.loaders
import botocore.session
from botocore.config import Config
from django.conf import settings

from ...specs.operations import METHODS
from ..base import DiscoveredApi, GatewayAdapter, GatewayError

_LAMBDA_ARN = re.compile(
    r"arn:aws:lambda:(?P<region>[^:]+):(?P<account>\d+):function:(?P<function>[^:/]+)"
    r"(?::(?P<alias>[^:/]+))?"
)
_GREEDY = re.compile(r"\{([^{}+]+)\+\}")
_THROTTLING = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException"}
)
_ANY_VERBS = ("get", "post", "put", "delete", "patch")
_ANY_METHOD = "x-amazon-apigateway-any-method"


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


def path_parameters(path: str) -> list[dict]:
    """The path parameters of a gateway path, greedy ones included."""
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


def add_operation(paths: dict, *, method: str, path: str, operation: dict) -> None:
    """File ``operation`` under the OpenAPI form of ``path`` for the gateway method
    ``method``; ``ANY`` stands for each of the usual verbs."""
    verbs = _ANY_VERBS if method == "ANY" else (method.lower(),)
    for verb in verbs:
        if verb in METHODS:
            paths.setdefault(openapi_path(path), {})[verb] = operation


def integration_entry(*, route: str, kind: str, uri: str) -> dict:
    """One row of a spec's integrations: the route, the integration type and the Lambda
    function it calls, if any."""
    entry = {"route": route, "type": kind}
    target = lambda_target(uri)
    if target:
        entry["lambda"] = target
    return entry


def openapi_document(api: DiscoveredApi, *, version: str, paths: dict) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": api.name, "version": version, "description": api.description},
        # No servers: the stage's URL lives on its deployment, so that stages serving the
        # same API share one version.
        "paths": paths,
    }


def usable_export(body: bytes) -> bytes | None:
    """An exported OpenAPI 3 document made ready to ingest, or None where it is not usable
    (empty, not JSON, not OpenAPI 3, or without a single operation)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3"):
        return None
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return None
    # $default catches everything; it has no path to document (as with built specs).
    paths = {path: item for path, item in paths.items() if path != "/$default"}
    for item in paths.values():
        if not isinstance(item, dict):
            continue
        if isinstance(item.get(_ANY_METHOD), dict):
            # ANY stands for each of the usual verbs, as in a spec built from routes.
            operation = {k: v for k, v in item.pop(_ANY_METHOD).items() if k != "operationId"}
            for verb in _ANY_VERBS:
                item.setdefault(verb, operation)
        _plain_path_parameters(item)
    # An emulator may export Swagger 2.0 with upper-case methods or no operations: the
    # document built from the gateway's routes or resources is then the better description.
    if not any(
        method in item for item in paths.values() if isinstance(item, dict) for method in METHODS
    ):
        return None
    document["paths"] = {openapi_path(path): item for path, item in paths.items()}
    # Where a stage runs belongs to its deployment, not to the spec: without the
    # stage's server, stages serving the same API share one version.
    document.pop("servers", None)
    return json.dumps(document).encode()


def _plain_path_parameters(item: dict) -> None:
    """Name a greedy path parameter (``proxy+``) as its path now names it (``proxy``)."""
    for holder in (item, *(v for v in item.values() if isinstance(v, dict))):
        for parameter in holder.get("parameters") or []:
            if isinstance(parameter, dict) and parameter.get("in") == "path":
                name = parameter.get("name")
                if isinstance(name, str) and name.endswith("+"):
                    parameter["name"] = name.rstrip("+")


def _retryable(exc: Exception) -> bool:
    """Throttling and connection faults may pass; a refusal will not."""
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return exc.response.get("Error", {}).get("Code", "") in _THROTTLING or status >= 500
    return isinstance(
        exc, botocore.exceptions.HTTPClientError | botocore.exceptions.ConnectionError
    )


def error_message(exc: Exception) -> str:
    """What went wrong, in words safe to show: no request, response body or credentials."""
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


class AwsAdapter(GatewayAdapter):
    """One botocore client of ``service`` for a connection: its region, endpoint and role,
    every request counted in ``calls``, every failure a GatewayError."""

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
                raise GatewayError(error_message(exc)) from exc
            self._count(self._client)
        return self._client

    def _call(self, method, **params):
        try:
            return method(**params)
        except botocore.exceptions.ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise GatewayError(
                error_message(exc), retryable=_retryable(exc), status=status
            ) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise GatewayError(error_message(exc), retryable=_retryable(exc)) from exc

    def _pages(self, method, key: str, token_in: str, token_out: str, **params):
        """Every item of a paginated list call."""
        while True:
            page = self._call(method, **params)
            yield from page.get(key, [])
            token = page.get(token_out)
            if not token:
                return
            params[token_in] = token
