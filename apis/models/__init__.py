"""Models of the apis app: the catalogue, gateway connections and sync, plans,
applications and subscriptions."""

from .catalogue import Api, ApiVersion, LifecycleTransition, Operation, SpecDocument, Tag
from .gateways import GatewayConnection, GatewayDeployment, GatewayKey, Plan, SyncRun
from .subscriptions import (
    Application,
    Credential,
    GatewayOperation,
    Subscription,
    Webhook,
    WebhookDelivery,
)

__all__ = [
    "Api",
    "ApiVersion",
    "Application",
    "Credential",
    "GatewayConnection",
    "GatewayDeployment",
    "GatewayKey",
    "GatewayOperation",
    "LifecycleTransition",
    "Operation",
    "Plan",
    "SpecDocument",
    "Subscription",
    "SyncRun",
    "Tag",
    "Webhook",
    "WebhookDelivery",
]
