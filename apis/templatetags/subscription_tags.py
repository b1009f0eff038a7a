"""Template tags of the subscription pages that other pages carry: the plans and
subscribe panel of the API page, and the organisation menu's entries."""

from django import template

from tenants.scoping import LAST_ORGANISATION_SESSION_KEY
from tenants.selectors import membership_list_for_user

from .. import selectors_consumers
from .. import selectors_subscriptions as selectors
from ..urls_subscriptions import urlpatterns

register = template.Library()

# The menu entry each page of these URLs belongs to (plans belong to the catalogue).
SECTIONS = {
    "inbox": "inbox",
    "webhook": "webhooks",
    "application": "applications",
    "key": "applications",
    "subscription": "subscriptions",
    "operation": "subscriptions",
}
NAMES = {pattern.name for pattern in urlpatterns if not pattern.name.startswith("plan_")}


def _section(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None or match.app_name != "apis" or match.url_name not in NAMES:
        return ""
    return next((s for prefix, s in SECTIONS.items() if match.url_name.startswith(prefix)), "")


def _consumer_membership(request):
    """The membership to subscribe with from a page outside any organisation: the last
    organisation the user worked in, else the first where they may subscribe."""
    memberships = list(membership_list_for_user(user=request.user))
    last = request.session.get(LAST_ORGANISATION_SESSION_KEY)
    memberships.sort(key=lambda m: m.organisation.slug != last)
    for membership in memberships:
        teams = selectors_consumers.consumer_team_list(
            organisation=membership.organisation,
            user=request.user,
            is_admin=membership.is_admin,
        )
        if teams.exists():
            return membership
    return None


@register.inclusion_tag("apis/plans/_api_section.html", takes_context=True)
def api_plans(context, api):
    """The API page's plans, its maintainers' link to manage them, and the panel to
    subscribe from the user's current organisation."""
    from ..views_subscriptions import subscribe_context

    request = context["request"]
    can_manage = bool(context.get("can_manage"))
    membership = _consumer_membership(request)
    panel = (
        subscribe_context(user=request.user, membership=membership, api=api)
        if membership is not None
        else {}
    )
    return {
        **panel,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "api": api,
        "plans": selectors.plan_list(api=api),
        "can_manage": can_manage,
        "can_subscribe": membership is not None,
    }


@register.simple_tag(takes_context=True)
def subscription_nav(context) -> dict:
    """The organisation menu's state: which entry is current, and for those who decide
    requests, how many wait."""
    request = context.get("request")
    organisation = context.get("current_organisation")
    membership = context.get("current_membership")
    found = {"section": _section(request) if request else "", "decider": False, "waiting": 0}
    if organisation is None or membership is None:
        return found
    user = request.user
    if selectors_consumers.is_decider(
        organisation=organisation, user=user, is_admin=membership.is_admin
    ):
        found["decider"] = True
        found["waiting"] = selectors_consumers.inbox_count(
            organisation=organisation, user=user, is_admin=membership.is_admin
        )
    return found
