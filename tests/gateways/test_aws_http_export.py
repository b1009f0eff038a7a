"""The HTTP API adapter's export, which moto does not have: AWS's answers stand in through
botocore's Stubber (the export, and the routes and integrations the same fetch reads).
Against moto itself: the fallback to routes in test_sync_aws.py, and an export answered
by the fault proxy in test_sync_faults_http.py."""

import io
import json

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from apis.gateways import DiscoveredApi, DiscoveredStage, GatewayError
from apis.gateways.aws import AwsHttpAdapter
from apis.models import GatewayConnection
from apis.specs import ingest

LAMBDA = "arn:aws:lambda:eu-west-1:123456789012:function:orders:live"
URI = f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{LAMBDA}/invocations"
ROUTES = [
    {"RouteKey": "GET /orders/{id}", "Target": "integrations/i1"},
    {"RouteKey": "ANY /proxy/{proxy+}", "Target": "integrations/i2"},
    {"RouteKey": "$default", "Target": "integrations/i2"},
]
INTEGRATIONS = {
    "i1": {"IntegrationId": "i1", "IntegrationType": "AWS_PROXY", "IntegrationUri": LAMBDA},
    "i2": {
        "IntegrationId": "i2",
        "IntegrationType": "HTTP_PROXY",
        "IntegrationUri": "https://backend.example/{proxy}",
    },
}


def _integration(uri: str) -> dict:
    return {"type": "aws_proxy", "httpMethod": "POST", "uri": uri, "payloadFormatVersion": "2.0"}


# What AWS exports for the API above (OAS 3.0, JSON, extensions included).
EXPORT = {
    "openapi": "3.0.1",
    "info": {"title": "Orders", "version": "2.1.0", "description": "Orders, exported."},
    "servers": [
        {
            "url": "https://abc123.execute-api.eu-west-1.amazonaws.com/{basePath}",
            "variables": {"basePath": {"default": "prod"}},
        }
    ],
    "paths": {
        "/orders/{id}": {
            "get": {
                "summary": "One order",
                "responses": {"default": {"description": "Default response"}},
                "x-amazon-apigateway-integration": _integration(URI),
            },
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
        },
        "/proxy/{proxy+}": {
            "x-amazon-apigateway-any-method": {
                "responses": {"default": {"description": "Default response"}},
                "x-amazon-apigateway-integration": {
                    "type": "http_proxy",
                    "httpMethod": "ANY",
                    "uri": "https://backend.example/{proxy}",
                },
            },
            "parameters": [
                {"name": "proxy+", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
        },
        "/$default": {
            "x-amazon-apigateway-any-method": {
                "responses": {"default": {"description": "Default response"}}
            }
        },
    },
    "x-amazon-apigateway-importexport-version": "1.0",
}


@pytest.fixture
def adapter():
    connection = GatewayConnection(
        kind=GatewayConnection.Kind.AWS_HTTP,
        config={"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:9"},
    )
    adapter = AwsHttpAdapter(connection)
    with Stubber(adapter.client) as stubber:
        adapter.stubber = stubber
        yield adapter
        stubber.assert_no_pending_responses()


def _api() -> DiscoveredApi:
    return DiscoveredApi(
        external_id="abc123",
        name="Orders",
        description="Orders, built.",
        kind="http",
        version="2.1.0",
        stages=[DiscoveredStage(name="prod", deployment_id="d1", invoke_url="https://x/prod")],
    )


def _expect_routes(adapter) -> None:
    listing = {"ApiId": "abc123", "MaxResults": "500"}
    adapter.stubber.add_response("get_routes", {"Items": ROUTES}, listing)
    adapter.stubber.add_response(
        "get_integrations", {"Items": list(INTEGRATIONS.values())}, listing
    )


def _expect_export(adapter, body: bytes, stage: str = "prod") -> None:
    """The export, then the routes and integrations (which the deployment records)."""
    adapter.stubber.add_response(
        "export_api",
        {"body": StreamingBody(io.BytesIO(body), len(body))},
        {
            "ApiId": "abc123",
            "Specification": "OAS30",
            "OutputType": "JSON",
            "IncludeExtensions": True,
            "StageName": stage,
        },
    )
    _expect_routes(adapter)


def test_a_usable_export_is_the_spec(adapter):
    _expect_export(adapter, json.dumps(EXPORT).encode())
    api = _api()

    fetched = adapter.fetch_spec(api, api.stages[0])

    document = json.loads(fetched.raw)
    assert document["info"] == EXPORT["info"]
    assert "servers" not in document  # where the stage runs belongs to its deployment
    # ANY is each of the usual verbs, the greedy path an ordinary parameter, and
    # $default (which catches everything) no path at all, as in a spec built from routes.
    assert set(document["paths"]) == {"/orders/{id}", "/proxy/{proxy}"}
    assert set(document["paths"]["/proxy/{proxy}"]) == {
        "get",
        "post",
        "put",
        "delete",
        "patch",
        "parameters",
    }
    assert document["paths"]["/proxy/{proxy}"]["parameters"][0]["name"] == "proxy"
    # The gateway's extensions are kept.
    get = document["paths"]["/orders/{id}"]["get"]
    assert get["x-amazon-apigateway-integration"]["uri"] == URI
    parsed = ingest(fetched.raw)
    assert {(o.method, o.path, o.summary) for o in parsed.operations} >= {
        ("get", "/orders/{id}", "One order")
    }
    assert fetched.integrations == [
        {"route": "ANY /proxy/{proxy+}", "type": "HTTP_PROXY"},
        {
            "route": "GET /orders/{id}",
            "type": "AWS_PROXY",
            "lambda": {
                "region": "eu-west-1",
                "account": "123456789012",
                "function": "orders",
                "alias": "live",
            },
        },
    ]
    assert fetched.refs == {"http_api_id": "abc123", "stage": "prod", "deployment_id": "d1"}


@pytest.mark.parametrize(
    "body",
    [b"", b"{}", json.dumps({**EXPORT, "paths": {}}).encode(), b'{"swagger": "2.0"}'],
    ids=["empty", "empty-object", "no-paths", "swagger"],
)
def test_an_empty_or_unusable_export_falls_back_to_the_routes(adapter, body):
    _expect_export(adapter, body)
    api = _api()

    document = json.loads(adapter.fetch_spec(api, api.stages[0]).raw)

    assert document["info"] == {
        "title": "Orders",
        "version": "2.1.0",
        "description": "Orders, built.",
    }
    assert document["paths"]["/orders/{id}"]["get"]["summary"] == "GET /orders/{id}"


@pytest.mark.parametrize(
    ("code", "status"), [("NotImplemented", 501), ("NotFoundException", 404), ("404", 404)]
)
def test_a_gateway_without_export_falls_back_to_the_routes(adapter, code, status):
    adapter.stubber.add_client_error("export_api", service_error_code=code, http_status_code=status)
    _expect_routes(adapter)
    api = _api()

    document = json.loads(adapter.fetch_spec(api, api.stages[0]).raw)

    assert document["paths"]["/orders/{id}"]["get"]["summary"] == "GET /orders/{id}"


def test_a_passing_fault_of_the_export_is_not_hidden_by_the_routes(adapter):
    # Building from routes now would make a version the next run's export replaces.
    adapter.stubber.add_client_error(
        "export_api", service_error_code="TooManyRequestsException", http_status_code=429
    )
    api = _api()

    with pytest.raises(GatewayError, match="ExportApi: TooManyRequestsException"):
        adapter.fetch_spec(api, api.stages[0])
