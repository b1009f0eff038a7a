from importlib import import_module

from .base import GatewayAdapter

ADAPTERS = {
    "aws_rest": "apis.gateways.aws.rest.AwsRestAdapter",
    "aws_http": "apis.gateways.aws.http.AwsHttpAdapter",
    "litellm": "apis.gateways.litellm.LiteLLMAdapter",
    "apipark": "apis.gateways.apipark.APIParkAdapter",
    "openapi_url": "apis.gateways.openapi_url.OpenApiUrlAdapter",
}


def adapter_for(connection) -> GatewayAdapter:
    module, _, name = ADAPTERS[connection.kind].rpartition(".")
    return getattr(import_module(module), name)(connection)
