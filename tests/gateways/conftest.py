import pytest

from .aws_fixtures import Estate, build_estate
from .connection_fixtures import *  # noqa: F403
from .faults import FaultProxy


@pytest.fixture
def estate(aws) -> Estate:
    """30 REST and 10 HTTP APIs, a custom domain, usage plans and keys in a clean moto."""
    return build_estate(aws.url)


@pytest.fixture
def proxy(aws):
    """A fault-injecting proxy in front of the moto server."""
    proxy = FaultProxy(aws.url).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def few_attempts(settings):
    """Throttling backs off up to 1 s, then 2 s: three attempts keep a fault test within
    seconds."""
    settings.GATEWAY_MAX_ATTEMPTS = 3
