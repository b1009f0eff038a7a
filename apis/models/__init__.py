"""Models of the apis app: the catalogue, gateway connections and sync, plans."""

from .catalogue import Api, ApiVersion, LifecycleTransition, Operation, SpecDocument, Tag
from .gateways import GatewayConnection, GatewayDeployment, GatewayKey, Plan, SyncRun

__all__ = [
    "Api",
    "ApiVersion",
    "GatewayConnection",
    "GatewayDeployment",
    "GatewayKey",
    "LifecycleTransition",
    "Operation",
    "Plan",
    "SpecDocument",
    "SyncRun",
    "Tag",
]
