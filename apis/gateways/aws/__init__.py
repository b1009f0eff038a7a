"""AWS API Gateway: REST APIs (v1) and HTTP APIs (v2).

Credentials come from the standard boto3 chain (environment, shared config,
instance or task role), never from the portal; a connection may name a role
to assume, with an external id, to reach another account. ``endpoint_url``
points the clients at an emulator. boto3's standard retry mode retries
throttling, 5xx and connection faults with exponential backoff and jitter.

base.py holds what both share (sessions, retries, paging, errors, paths and
Lambda targets); rest.py and http.py hold one adapter each.
"""

from .base import AwsAdapter, error_message, lambda_target, openapi_path
from .http import AwsHttpAdapter
from .rest import AwsRestAdapter, spec_from_resources

__all__ = [
    "AwsAdapter",
    "AwsHttpAdapter",
    "AwsRestAdapter",
    "error_message",
    "lambda_target",
    "openapi_path",
    "spec_from_resources",
]
