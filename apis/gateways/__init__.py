"""Gateway adapters: one small class per kind of gateway behind one interface.

    adapter = adapter_for(connection)
    for api in adapter.list_apis(): ...

See base.py for the interface and the shapes adapters return.
"""

from .base import (
    DiscoveredApi,
    DiscoveredKey,
    DiscoveredPlan,
    DiscoveredStage,
    FetchedSpec,
    GatewayAdapter,
    GatewayError,
)
from .registry import adapter_for

__all__ = [
    "DiscoveredApi",
    "DiscoveredKey",
    "DiscoveredPlan",
    "DiscoveredStage",
    "FetchedSpec",
    "GatewayAdapter",
    "GatewayError",
    "adapter_for",
]
