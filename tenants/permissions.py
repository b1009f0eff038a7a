"""DRF permission classes built on the roles."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import AccessToken
from .roles import OrgRole


class TokenScopePermission(BasePermission):
    """A read-scoped token may only read; sessions and write tokens may write."""

    message = "This access token is read-only; create one with the write scope."

    def has_permission(self, request, view) -> bool:
        token = getattr(request, "auth", None)
        if isinstance(token, AccessToken) and request.method not in SAFE_METHODS:
            return token.allows_write()
        return True


class _OrgRolePermission(BasePermission):
    read_role = OrgRole.MEMBER
    write_role = OrgRole.MEMBER
    message = "Your role in this organisation does not allow this."

    def has_permission(self, request, view) -> bool:
        membership = getattr(view, "membership", None)
        if membership is None:
            return False
        needed = self.read_role if request.method in SAFE_METHODS else self.write_role
        return OrgRole.at_least(membership.role, needed)


class IsOrgMember(_OrgRolePermission):
    pass


class IsOrgAdminOrReadOnly(_OrgRolePermission):
    write_role = OrgRole.ADMIN
    message = "Only organisation owners and admins may change this."


class IsOrgAdmin(_OrgRolePermission):
    read_role = OrgRole.ADMIN
    write_role = OrgRole.ADMIN
    message = "Only organisation owners and admins may see or change this."


class UnrestrictedToken(BasePermission):
    """Account-wide actions (managing tokens, joining organisations) need a session or a
    token that is not limited to one organisation."""

    message = (
        "A token limited to one organisation cannot do this; use an unrestricted token or sign in."
    )

    def has_permission(self, request, view) -> bool:
        token = getattr(request, "auth", None)
        return not (isinstance(token, AccessToken) and token.organisation_id)
