"""Building gateway state in the moto server, as a real account would have it."""

import boto3
from botocore.config import Config

LAMBDA_URI = (
    "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:eu-west-1:123456789012:function:items:live/invocations"
)


def aws_client(aws, service="apigateway"):
    # A fresh session, not boto3's process-wide default one that would keep these
    # credentials for every later test.
    return boto3.session.Session().client(
        service,
        endpoint_url=aws.url,
        region_name="eu-west-1",
        config=Config(retries={"max_attempts": 1}),
    )


def create_rest_api(client, name: str, stage: str = "prod") -> str:
    """A REST API with GET /items calling a Lambda alias, deployed to ``stage``."""
    api_id = client.create_rest_api(name=name, description=f"{name} API", version="1.0")["id"]
    root = client.get_resources(restApiId=api_id)["items"][0]["id"]
    resource = client.create_resource(restApiId=api_id, parentId=root, pathPart="items")
    client.put_method(
        restApiId=api_id,
        resourceId=resource["id"],
        httpMethod="GET",
        authorizationType="NONE",
        apiKeyRequired=True,
    )
    client.put_integration(
        restApiId=api_id,
        resourceId=resource["id"],
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=LAMBDA_URI,
    )
    client.create_deployment(restApiId=api_id, stageName=stage)
    return api_id
