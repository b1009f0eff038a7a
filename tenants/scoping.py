"""The one way to resolve the current organisation.

Organisation-scoped URLs carry the organisation's slug (``/o/<org>/...`` in the
portal, ``/api/v1/organisations/<org>/...`` in the REST API). It is resolved
once per request against the signed-in user's memberships; an organisation the
user does not belong to is indistinguishable from one that does not exist.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import AccessToken, Membership
from .roles import OrgRole

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LAST_ORGANISATION_SESSION_KEY = "portico_last_organisation"


def resolve_membership(*, request, org_slug: str) -> Membership:
    user = request.user
    if not user.is_authenticated:
        raise Http404("Not found.")
    token = getattr(request, "auth", None)
    membership = (
        Membership.objects.select_related("organisation", "user")
        .filter(user=user, organisation__slug=org_slug, organisation__is_active=True)
        .first()
    )
    if membership is None:
        raise Http404("Not found.")
    if isinstance(token, AccessToken) and token.organisation_id not in (
        None,
        membership.organisation_id,
    ):
        raise Http404("Not found.")
    request.organisation = membership.organisation
    request.membership = membership
    return membership


def organisation_view(min_role: str = OrgRole.MEMBER, write_role: str | None = None):
    """Decorate an HTML view whose URL has ``<org>``; the view gets ``request.organisation``
    and ``request.membership``. ``write_role`` is the role needed for POST (default
    ``min_role``)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, org: str, **kwargs):
            membership = resolve_membership(request=request, org_slug=org)
            needed = min_role if request.method in SAFE_METHODS else (write_role or min_role)
            if not OrgRole.at_least(membership.role, needed):
                raise PermissionDenied("Your role in this organisation does not allow this.")
            if request.session.get(LAST_ORGANISATION_SESSION_KEY) != org:
                # Set only when it changes: a modified session is a database write.
                request.session[LAST_ORGANISATION_SESSION_KEY] = org
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class OrganisationScopedMixin:
    """For DRF views under ``/organisations/<org>/``: sets ``self.organisation``
    and ``self.membership`` before permission classes run."""

    organisation = None
    membership = None

    def check_permissions(self, request):
        if request.user.is_authenticated and "org" in self.kwargs and self.membership is None:
            self.membership = resolve_membership(request=request, org_slug=self.kwargs["org"])
            self.organisation = self.membership.organisation
        super().check_permissions(request)
