"""Fixtures of the connection pages, API, command and drift tests: a boto3 client
against the moto server, connections made through the service, and a port nothing
listens on. conftest.py makes them available to the package."""

import socket

import pytest

from apis.services.connections import connection_create
from tenants.actors import Actor

# The REST API tests share the tenants tests' helpers: error bodies and tokens.
from tests.tenants.conftest import api_error, bearer, make_token  # noqa: F401

from .moto_apis import aws_client


@pytest.fixture
def apigw(aws):
    return aws_client(aws)


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def fast_gateway_failures(settings):
    """Give up on an unreachable gateway after one attempt, without waiting."""
    settings.GATEWAY_MAX_ATTEMPTS = 1
    settings.GATEWAY_RETRY_BASE_DELAY = 0
    settings.GATEWAY_TIMEOUT = 2


@pytest.fixture
def make_connection(cast):
    """Create a connection through the service, as the organisation's owner."""

    def make(name="aws", kind="aws_rest", config=None, secret="", **fields):
        return connection_create(
            organisation=cast.org,
            team=cast.team,
            name=name,
            kind=kind,
            config=config if config is not None else {"region": "eu-west-1"},
            secret=secret,
            actor=Actor.for_user(cast.owner),
            **fields,
        )

    return make


@pytest.fixture
def aws_connection(aws, make_connection):
    return make_connection(config={"region": "eu-west-1", "endpoint_url": aws.url})
