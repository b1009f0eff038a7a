"""Who hears about a subscription, in the portal and by e-mail."""

from django.db.models import Q
from django.urls import reverse

from tenants.models import User
from tenants.roles import OrgRole, TeamRole
from tenants.services.notifications import notify

from ..models import Subscription

TITLES = {
    "requested": "{app} asks for {api} ({plan})",
    "approved": "{api}: your subscription for {app} is approved",
    "rejected": "{api}: your subscription for {app} was rejected",
    "cancelled": "{app} cancelled its subscription to {api}",
    "suspended": "{api}: the subscription of {app} is suspended",
    "revoked": "{api}: the subscription of {app} was revoked",
    "plan_change_requested": "{app} asks to change plan on {api}",
    "plan_changed": "{api}: {app} is now on {plan}",
    "plan_change_rejected": "{api}: the plan change for {app} was rejected",
}
# Provider-side news goes to the API's deciders; the rest to the application's team.
TO_PROVIDER = {"requested", "cancelled", "plan_change_requested"}


def providers(subscription: Subscription):
    api = subscription.api
    return User.objects.filter(
        Q(team_memberships__team=api.team, team_memberships__role=TeamRole.MAINTAINER)
        | Q(
            memberships__organisation=api.organisation,
            memberships__role__in=[OrgRole.OWNER, OrgRole.ADMIN],
        )
    ).distinct()


def consumers(subscription: Subscription):
    application = subscription.application
    return User.objects.filter(
        Q(
            team_memberships__team=application.team,
            team_memberships__role__in=[TeamRole.MAINTAINER, TeamRole.DEVELOPER],
        )
        | Q(owned_applications=application)
        | Q(pk=subscription.requested_by_id)
    ).distinct()


def notify_subscription(subscription: Subscription, what: str, *, reason: str = "") -> None:
    title = TITLES.get(what, "{api}: subscription of {app} is " + what).format(
        app=subscription.application.name,
        api=subscription.api.name,
        plan=subscription.plan.name,
    )
    if what in TO_PROVIDER:
        users = providers(subscription)
        organisation = subscription.provider
        url = reverse("apis:inbox", kwargs={"org": subscription.provider.slug})
    else:
        users = consumers(subscription)
        organisation = subscription.organisation
        url = subscription.get_absolute_url()
    notify(
        users=users,
        organisation=organisation,
        kind=f"subscription.{what}",
        title=title,
        body=reason,
        url=url,
        email=True,
    )
