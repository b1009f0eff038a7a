"""Roles, ordered from most to least powerful.

Organisation roles decide who manages the organisation; team roles decide who
publishes and approves (maintainer), who consumes (developer) and who only
reads (viewer).
"""

from django.db import models


class _RankedChoices(models.TextChoices):
    @classmethod
    def rank(cls, role: str) -> int:
        values = list(cls.values)
        return len(values) - values.index(role) if role in values else 0

    @classmethod
    def at_least(cls, role: str, minimum: str) -> bool:
        return cls.rank(role) >= cls.rank(minimum)


class OrgRole(_RankedChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class TeamRole(_RankedChoices):
    MAINTAINER = "maintainer", "Maintainer"
    DEVELOPER = "developer", "Developer"
    VIEWER = "viewer", "Viewer"
