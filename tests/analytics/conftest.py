"""Fixtures shared by the analytics tests."""

import pytest

from .usage_world import UsageWorld, build_usage_world


@pytest.fixture
def usage_world(cast) -> UsageWorld:
    """The alert and usage tests' world (usage_world.py)."""
    return build_usage_world(cast)
