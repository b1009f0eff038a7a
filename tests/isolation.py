"""The registry behind tests/test_isolation.py: one entry per URL pattern.

An entry says who may reach the URL (its category) and how to fill the URL's
arguments from the sample objects of organisation A ("acme", "Acme Secret
Works"). The test walks every pattern of ``portal.urls`` and probes each one as
a member of organisation B, an anonymous visitor, a lower role of A and the
role that is allowed in.

Categories:

``PUBLIC``
    Anonymous visitors may read it; it never shows tenant data (health probes,
    schema, landing page, allauth's entrance pages).
``ACCOUNT``
    The signed-in user's own pages (allauth, MFA, access tokens). Anonymous
    visitors are sent to the login page (HTML) or get 401/403 (API). When the
    URL names an object (it has kwargs), the object belongs to A's owner and
    anybody else gets 404.
``ORGANISATION``
    Scoped to organisation A, or visible only inside it. B's member gets 404
    for every method, anonymous visitors are sent to the login page or get
    401/403, and roles below the entry's ``role`` (``write_role`` for unsafe
    methods) get 403 or 404.
``STAFF``
    The admin site: anybody who is not staff is sent to a login page or gets
    403/404; staff get in.
``INVITATION``
    Carries an invitation token. A forged token is 404 for everybody, only
    the invited address may accept, anonymous visitors are sent to log in.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from tenants.actors import Actor
from tenants.models import AuditEvent, Membership, TeamMembership, User
from tenants.roles import OrgRole, TeamRole
from tenants.services import invitations, tokens

from .factories import UserFactory

PUBLIC = "public"
ACCOUNT = "account"
ORGANISATION = "organisation"
STAFF = "staff"
INVITATION = "invitation"

# Roles are the names of the users of the `cast` fixture. The roles that must be
# refused when an entry asks for a role: organisation roles rank owner > admin >
# member; team roles (in A's team "payments") rank maintainer > developer > viewer,
# and an organisation member outside the team ranks below all of them.
LOWER_ROLES: dict[str, tuple[str, ...]] = {
    OrgRole.OWNER: ("admin", "member"),
    OrgRole.ADMIN: ("member", "maintainer"),
    OrgRole.MEMBER: (),
    TeamRole.MAINTAINER: ("developer", "viewer", "member"),
    TeamRole.DEVELOPER: ("viewer", "member"),
    TeamRole.VIEWER: ("member",),
}


# --- URL patterns ---------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    key: str  # "namespace:name", or the route when the pattern has no name
    route: str  # as ResolverMatch.route spells it

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")


def _join_route(prefix: str, route: str) -> str:
    # The same join as django.urls.resolvers.URLResolver._join_route, so that a
    # pattern's route equals the ResolverMatch.route of the paths it answers.
    return prefix + route.removeprefix("^") if prefix else route


def url_patterns() -> list[Pattern]:
    """Every URL pattern under the root resolver, includes followed."""
    found: list[tuple[str | None, str]] = []

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            route = _join_route(prefix, str(pattern.pattern))
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, route, inner)
            elif isinstance(pattern, URLPattern):
                name = pattern.name
                if name and namespace:
                    name = f"{namespace}:{name}"
                found.append((name, route))

    walk(get_resolver().url_patterns, "", None)
    names = [name for name, _ in found if name]
    duplicated = {name for name in names if names.count(name) > 1}
    return [
        Pattern(key=route if name is None or name in duplicated else name, route=route)
        for name, route in found
    ]


# --- Sample objects ---------------------------------------------------------------

INVITEE_EMAIL = "invitee@acme.test"
LEDGER_SPEC = json.dumps(
    {
        "openapi": "3.0.3",
        "info": {"title": "Acme Ledger API", "version": "1.0.0"},
        "paths": {
            "/entries": {
                "get": {"summary": "List entries", "responses": {"200": {"description": "ok"}}}
            }
        },
    }
).encode()
FORGED_INVITATION_TOKEN = "not-an-invitation-token-of-anybody"


class Samples:
    """Objects of organisation A, built from the `cast` fixture; the ones only some
    entries need are made on first use."""

    def __init__(self, cast):
        self.cast = cast
        self.org = cast.org
        self.team = cast.team
        self.forged = False

    def user(self, role: str) -> User:
        return getattr(self.cast, role)

    @cached_property
    def _invitation_pair(self):
        return invitations.invitation_create(
            organisation=self.org,
            email=INVITEE_EMAIL,
            role=OrgRole.MEMBER,
            team=self.team,
            team_role=TeamRole.DEVELOPER,
            actor=Actor.for_user(self.cast.owner),
        )

    @property
    def invitation(self):
        return self._invitation_pair[0]

    @property
    def invitation_token(self) -> str:
        return FORGED_INVITATION_TOKEN if self.forged else self._invitation_pair[1]

    def with_forged_invitation_token(self) -> "Samples":
        forged = Samples.__new__(Samples)
        forged.__dict__.update(self.__dict__)
        forged.forged = True
        return forged

    @cached_property
    def membership(self) -> Membership:
        return Membership.objects.get(organisation=self.org, user=self.cast.member)

    @cached_property
    def team_membership(self) -> TeamMembership:
        return TeamMembership.objects.get(team=self.team, user=self.cast.developer)

    @cached_property
    def token(self):
        token, _plaintext = tokens.token_create(
            user=self.cast.owner,
            name="Acme release pipeline",
            scope="write",
            organisation=self.org,
            actor=Actor.for_user(self.cast.owner),
        )
        return token

    @cached_property
    def audit_event(self) -> AuditEvent:
        return AuditEvent.objects.filter(organisation=self.org, target_id=self.invitation.pk).get(
            action="invitation.created"
        )

    @cached_property
    def owner_mfa(self):
        """TOTP and recovery codes for A's owner; returns the recovery codes."""
        from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

        TOTP.activate(self.cast.owner, generate_totp_secret())
        return RecoveryCodes.activate(self.cast.owner).instance

    @cached_property
    def social_app(self):
        """An OpenID Connect provider configured in the database (for the admin only)."""
        from allauth.socialaccount.models import SocialApp

        return SocialApp.objects.create(
            provider="openid_connect",
            provider_id="acme-sso",
            name="Acme SSO",
            client_id="acme",
            settings={"server_url": "https://sso.acme.test"},
        )

    @cached_property
    def api(self):
        """An API of A's team, visible to A's members only."""
        from apis.models import Api
        from apis.services.catalogue import api_create

        return api_create(
            organisation=self.org,
            team=self.team,
            name="Acme Ledger API",
            slug="ledger",
            summary="The books of Acme Secret Works.",
            visibility=Api.Visibility.ORGANISATION,
            actor=Actor.for_user(self.cast.maintainer),
        )

    @cached_property
    def api_version(self):
        """Version 1.0.0 of the API, published: what A's members see in the catalogue."""
        from apis.models import ApiVersion
        from apis.services.catalogue import version_create
        from apis.services.lifecycle import version_transition

        actor = Actor.for_user(self.cast.maintainer)
        version = version_create(api=self.api, raw=LEDGER_SPEC, version="1.0.0", actor=actor)
        version_transition(version=version, to_state=ApiVersion.State.PUBLISHED, actor=actor)
        version.refresh_from_db()
        return version

    @cached_property
    def notification(self):
        """A notification in the inbox of A's owner."""
        from tenants.services.notifications import notify

        (notification,) = notify(
            users=[self.cast.owner],
            organisation=self.org,
            kind="api.published",
            title=f"{self.org.name} published Acme Ledger API 1.0.0",
        )
        return notification

    @cached_property
    def connection(self):
        """A gateway connection of A (a spec URL: creating it calls nothing)."""
        from apis.services.connections import connection_create

        return connection_create(
            organisation=self.org,
            team=self.team,
            name="Acme release pipeline specs",
            kind="openapi_url",
            config={"url": "https://specs.acme.test/openapi.json"},
            actor=Actor.for_user(self.cast.owner),
        )

    @cached_property
    def sync_run(self):
        from apis.models import SyncRun

        return SyncRun.objects.create(
            connection=self.connection,
            organisation=self.org,
            trigger=SyncRun.Trigger.MANUAL,
            status=SyncRun.Status.SUCCEEDED,
            finished_at=timezone.now(),
        )

    @cached_property
    def deployment(self):
        from apis.models import GatewayDeployment

        return GatewayDeployment.objects.create(
            connection=self.connection,
            organisation=self.org,
            api=self.api,
            version=self.api_version,
            stage="prod",
        )

    @cached_property
    def gateway_key(self):
        from apis.models import GatewayKey

        return GatewayKey.objects.create(
            connection=self.connection, organisation=self.org, external_id="k1", name="acme-key"
        )

    @cached_property
    def plan(self):
        from apis.services.plans import plan_create

        return plan_create(
            api=self.api_version.api,
            name="Acme Gold",
            approval="manual",
            actor=Actor.for_user(self.cast.maintainer),
        )

    @cached_property
    def application(self):
        from apis.services.applications import application_create

        return application_create(
            team=self.team, name="Acme Checkout", actor=Actor.for_user(self.cast.developer)
        )

    @cached_property
    def subscription(self):
        """A pending request of A's own application for A's API (A is both sides)."""
        from apis.services.subscriptions import subscription_request

        return subscription_request(
            application=self.application,
            api=self.api_version.api,
            plan=self.plan,
            reason="Acme checkout needs the ledger",
            actor=Actor.for_user(self.cast.developer),
        )

    @cached_property
    def credential(self):
        """The key issued when A's maintainer approves the sample subscription."""
        from apis.services.subscriptions import subscription_act

        subscription_act(
            subscription=self.subscription,
            action="approve",
            actor=Actor.for_user(self.cast.maintainer),
        )
        return self.subscription.credentials.get()

    @cached_property
    def gateway_operation(self):
        """A provision of the sample key that failed on A's connection."""
        from apis.models import GatewayOperation

        return GatewayOperation.objects.create(
            organisation=self.org,
            connection=self.connection,
            subscription=self.credential.subscription,
            credential=self.credential,
            action=GatewayOperation.Action.PROVISION,
            state=GatewayOperation.State.FAILED,
            attempts=8,
            last_error="Acme's gateway refused the key.",
        )

    @cached_property
    def webhook(self):
        from apis.services.webhooks import webhook_create

        webhook, _secret = webhook_create(
            organisation=self.org,
            url="https://hooks.acme.test/portico",
            events=["subscription.*"],
            actor=Actor.for_user(self.cast.owner),
        )
        return webhook

    @cached_property
    def webhook_delivery(self):
        """A delivery to A's webhook that failed for good."""
        from apis.models import WebhookDelivery

        return WebhookDelivery.objects.create(
            webhook=self.webhook,
            organisation=self.org,
            event="subscription.requested",
            payload={"event": "subscription.requested", "data": {"application": "Acme Checkout"}},
            state=WebhookDelivery.State.FAILED,
            attempts=8,
            last_error="The receiver answered HTTP 500.",
        )

    @cached_property
    def other_plan(self):
        """A second plan of A's API, for plan changes."""
        from apis.services.plans import plan_create

        return plan_create(
            api=self.plan.api,
            name="Acme Platinum",
            approval="manual",
            actor=Actor.for_user(self.cast.maintainer),
        )

    @cached_property
    def plan_change(self):
        """The sample subscription, approved, with a change to the other plan waiting."""
        from apis.services.subscriptions import subscription_change_plan_request

        return subscription_change_plan_request(
            subscription=self.credential.subscription,
            plan=self.other_plan,
            reason="Acme Checkout grows",
            actor=Actor.for_user(self.cast.developer),
        )

    @cached_property
    def keyless_subscription(self):
        """The sample subscription, approved, with its only key revoked."""
        from apis.services.keys import credential_revoke

        credential_revoke(credential=self.credential, actor=Actor.for_user(self.cast.developer))
        return self.credential.subscription

    @cached_property
    def push_source(self):
        """A push log source of A (its token is not kept)."""
        from analytics.services.sources import source_create

        source, _token = source_create(
            organisation=self.org,
            name="Acme release pipeline push",
            kind="push",
            format="apigw_rest_json",
            actor=Actor.for_user(self.cast.owner),
        )
        return source

    @cached_property
    def upload_source(self):
        """An upload log source of A for its API's nginx logs."""
        from analytics.services.sources import source_create

        source, _token = source_create(
            organisation=self.org,
            name="Acme release pipeline uploads",
            kind="upload",
            format="combined",
            api=self.api_version.api,
            actor=Actor.for_user(self.cast.owner),
        )
        return source

    @cached_property
    def log_upload(self):
        """A file uploaded to A's upload source, imported."""
        from analytics.models import LogUpload

        return LogUpload.objects.create(
            source=self.upload_source,
            organisation=self.org,
            file="log-uploads/acme-ledger.log",
            name="acme-ledger.log",
            size_bytes=180,
            state=LogUpload.State.DONE,
            lines_done=3,
        )

    @cached_property
    def import_run(self):
        """The import of A's uploaded file, with a rejected line of A's logs sampled."""
        from analytics.models import ImportRun

        return ImportRun.objects.create(
            source=self.upload_source,
            organisation=self.org,
            upload=self.log_upload,
            status=ImportRun.Status.SUCCEEDED,
            trigger="upload",
            finished_at=timezone.now(),
            read=3,
            imported=2,
            rejected=1,
            samples=[{"line": "Acme Ledger API garbage", "error": "not a combined log line"}],
        )

    @cached_property
    def alert_rule(self):
        """An error-rate rule on A's API, written by its maintainer."""
        from analytics.services.alerts import alert_rule_create

        return alert_rule_create(
            organisation=self.org,
            api=self.api_version.api,
            name="Acme Ledger API errors",
            metric="error_rate",
            threshold=5,
            actor=Actor.for_user(self.cast.maintainer),
        )

    @cached_property
    def usage_rollup(self):
        """An hour of the sample application's calls to A's API."""
        from analytics.models import UsageRollup

        return UsageRollup.objects.create(
            organisation=self.org,
            hour=timezone.now().replace(minute=0, second=0, microsecond=0),
            api_id=self.api_version.api.pk,
            api_version_id=self.api_version.pk,
            application_id=self.application.pk,
            calls=120,
            c5xx=3,
            h20=120,
        )

    @cached_property
    def route_rollup(self):
        from analytics.models import RouteRollup

        return RouteRollup.objects.create(
            organisation=self.org,
            hour=self.usage_rollup.hour,
            api_id=self.api_version.api.pk,
            api_version_id=self.api_version.pk,
            method="GET",
            route="/entries",
            status=200,
            calls=117,
        )

    @cached_property
    def invitee(self) -> User:
        return UserFactory(email=INVITEE_EMAIL)

    @cached_property
    def staff(self) -> User:
        return UserFactory(email="staff@portico.test", is_staff=True, is_superuser=True)

    def admin_object(self, label: str):
        build = ADMIN_OBJECTS.get(label)
        if build is None:
            raise LookupError(
                f"The admin registers {label} but tests/isolation.py has no sample of it: "
                f"add '{label}': lambda s: <an object> to ADMIN_OBJECTS."
            )
        return build(self)

    @cached_property
    def usage(self):
        """Hourly usage of A's API by A's application, an hour and ten days ago, and an
        invocation of A's Lambda function."""
        import datetime

        from analytics.histogram import COLUMNS
        from analytics.models import UsageRollup
        from analytics.storage import insert_invocations

        hour = timezone.now().replace(minute=0, second=0, microsecond=0)
        for hours_ago in (1, 240):
            UsageRollup.objects.create(
                organisation=self.org,
                hour=hour - datetime.timedelta(hours=hours_ago),
                api_id=self.api_version.api_id,
                api_version_id=self.api_version.pk,
                application_id=self.application.pk,
                calls=10,
                c4xx=1,
                latency_sum=500.0,
                **{COLUMNS[20]: 10},
            )
        insert_invocations(
            [(hour, 0, "acme-1", self.org.pk, "acme-ledger-fn", "", 5.0, 6.0, 512, 90, 120.0)]
        )

    def create_all(self) -> None:
        """A's objects that lists and searches could show; the pages whose URLs name no
        object are probed with all of them in place."""
        self.invitation  # noqa: B018
        self.token  # noqa: B018
        self.api_version  # noqa: B018
        self.notification  # noqa: B018
        self.sync_run  # noqa: B018
        self.subscription  # noqa: B018

    def markers(self) -> list[str]:
        """Strings that only A's members may see."""
        users = [self.user(role) for role in LOWER_ROLES]
        return [
            self.org.name,
            self.team.name,
            INVITEE_EMAIL,
            "Acme release pipeline",
            "Acme Ledger API",
            "Acme Checkout",
            *(user.email for user in users),
        ]


def _celery_beat_interval(s: Samples):
    from django_celery_beat.models import IntervalSchedule

    return IntervalSchedule.objects.create(every=17, period=IntervalSchedule.SECONDS)


def _social_account(s: Samples):
    from allauth.socialaccount.models import SocialAccount

    return SocialAccount.objects.create(user=s.cast.owner, provider="acme-sso", uid="owner-1")


def _social_token(s: Samples):
    from allauth.socialaccount.models import SocialToken

    return SocialToken.objects.create(app=s.social_app, account=_social_account(s), token="t")


def _celery_beat(model_name: str):
    def build(s: Samples):
        from django_celery_beat import models

        if model_name == "periodictask":
            return models.PeriodicTask.objects.create(
                name="acme nightly", task="portal.noop", interval=_celery_beat_interval(s)
            )
        if model_name == "intervalschedule":
            return _celery_beat_interval(s)
        if model_name == "crontabschedule":
            return models.CrontabSchedule.objects.create(minute="7")
        if model_name == "solarschedule":
            return models.SolarSchedule.objects.create(
                event="sunrise", latitude=51.5, longitude=0.1
            )
        return models.ClockedSchedule.objects.create(clocked_time=timezone.now())

    return build


def _worker_heartbeat(s: Samples):
    from portal.models import WorkerHeartbeat

    return WorkerHeartbeat.objects.create(name="celery@acme-worker", last_seen=timezone.now())


def _tag(s: Samples):
    from apis.models import Tag

    return Tag.objects.create(name="acme-ledger")


def _email_address(s: Samples):
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.get(user=s.cast.owner)


# One object per model the admin site registers ("app_label.model_name").
def _analytics_settings(s: Samples):
    from analytics.models import AnalyticsSettings

    return AnalyticsSettings.objects.create(organisation=s.org, raw_retention_days=14)


def _team_budget(s: Samples):
    from analytics.models import TeamBudget

    return TeamBudget.objects.create(team=s.team, organisation=s.org, monthly_limit=250)


ADMIN_OBJECTS: dict[str, Callable[[Samples], Any]] = {
    "auth.group": lambda s: Group.objects.create(name="Acme reviewers"),
    "account.emailaddress": _email_address,
    "mfa.authenticator": lambda s: s.owner_mfa,
    "portal.workerheartbeat": _worker_heartbeat,
    "socialaccount.socialapp": lambda s: s.social_app,
    "socialaccount.socialaccount": _social_account,
    "socialaccount.socialtoken": _social_token,
    "django_celery_beat.periodictask": _celery_beat("periodictask"),
    "django_celery_beat.intervalschedule": _celery_beat("intervalschedule"),
    "django_celery_beat.crontabschedule": _celery_beat("crontabschedule"),
    "django_celery_beat.solarschedule": _celery_beat("solarschedule"),
    "django_celery_beat.clockedschedule": _celery_beat("clockedschedule"),
    "tenants.user": lambda s: s.cast.owner,
    "tenants.organisation": lambda s: s.org,
    "tenants.team": lambda s: s.team,
    "tenants.membership": lambda s: s.membership,
    "tenants.teammembership": lambda s: s.team_membership,
    "tenants.invitation": lambda s: s.invitation,
    "tenants.accesstoken": lambda s: s.token,
    "tenants.auditevent": lambda s: s.audit_event,
    "tenants.notification": lambda s: s.notification,
    "apis.tag": _tag,
    "apis.api": lambda s: s.api,
    "apis.apiversion": lambda s: s.api_version,
    "apis.specdocument": lambda s: s.api_version.spec,
    "apis.operation": lambda s: s.api_version.operations.first(),
    "apis.lifecycletransition": lambda s: s.api_version.transitions.first(),
    "apis.gatewayconnection": lambda s: s.connection,
    "apis.syncrun": lambda s: s.sync_run,
    "apis.gatewaydeployment": lambda s: s.deployment,
    "apis.gatewaykey": lambda s: s.gateway_key,
    "apis.plan": lambda s: s.plan,
    "analytics.logsource": lambda s: s.push_source,
    "analytics.logupload": lambda s: s.log_upload,
    "analytics.importrun": lambda s: s.import_run,
    "analytics.alertrule": lambda s: s.alert_rule,
    "analytics.analyticssettings": _analytics_settings,
    "analytics.teambudget": _team_budget,
    "analytics.usagerollup": lambda s: s.usage_rollup,
    "analytics.routerollup": lambda s: s.route_rollup,
    "apis.application": lambda s: s.application,
    "apis.subscription": lambda s: s.subscription,
    "apis.credential": lambda s: s.credential,
    "apis.gatewayoperation": lambda s: s.gateway_operation,
    "apis.webhook": lambda s: s.webhook,
    "apis.webhookdelivery": lambda s: s.webhook_delivery,
}


# --- Entries ------------------------------------------------------------------------

Kwargs = Callable[[Samples], dict[str, Any]]
OK = tuple(range(200, 400))


def _none(s: Samples) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Entry:
    category: str
    kwargs: Kwargs = _none
    # ORGANISATION: the least role that may GET (and run the positive control);
    # ACCOUNT: the user whose page it is.
    role: str = OrgRole.MEMBER
    write_role: str | None = None  # the least role for POST, PUT, PATCH, DELETE
    payload: Kwargs = _none  # the body of every unsafe request
    setup: Callable[[Samples], object] = _none  # what the URL needs but does not name
    query: Kwargs = _none  # the query string of every GET
    control: tuple[int, ...] = OK  # statuses the positive control's GET may answer

    def needed_role(self, method: str) -> str:
        return self.role if method == "GET" else (self.write_role or self.role)

    def lower_roles(self, method: str) -> tuple[str, ...]:
        return LOWER_ROLES[self.needed_role(method)]


def public(kwargs: Kwargs = _none, **options) -> Entry:
    return Entry(PUBLIC, kwargs, **options)


def account(kwargs: Kwargs = _none, **options) -> Entry:
    return Entry(ACCOUNT, kwargs, role=options.pop("role", OrgRole.OWNER), **options)


def organisation(kwargs: Kwargs, **options) -> Entry:
    return Entry(ORGANISATION, kwargs, **options)


def staff(kwargs: Kwargs = _none, **options) -> Entry:
    return Entry(STAFF, kwargs, **options)


def invitation(kwargs: Kwargs = _none, **options) -> Entry:
    return Entry(INVITATION, kwargs, **options)


def _owner_mfa(s: Samples):
    return s.owner_mfa


def org(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug}


def org_team(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug, "team": s.team.slug}


def catalogue_api(s: Samples) -> dict[str, Any]:
    return {"owner": s.org.slug, "api": s.api_version.api.slug}


def catalogue_version(s: Samples) -> dict[str, Any]:
    return {**catalogue_api(s), "version": s.api_version.version}


def same_version(s: Samples) -> dict[str, Any]:
    return {"from": s.api_version.version, "to": s.api_version.version}


def owned_api(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug, "api": s.api_version.api.slug}


def _usage(s: Samples):
    return s.usage


def connection(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug, "pk": s.connection.pk}


def plan_kwargs(s: Samples) -> dict[str, Any]:
    return {**catalogue_api(s), "pk": s.plan.pk}


def subscription_kwargs(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug, "pk": s.subscription.pk}


def keys_kwargs(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug, "subscription": s.credential.subscription_id}


def credential_kwargs(s: Samples) -> dict[str, Any]:
    return {**keys_kwargs(s), "pk": s.credential.pk}


def operation_kwargs(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug, "pk": s.gateway_operation.pk}


def webhook_kwargs(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug, "pk": s.webhook.pk}


def deliveries_kwargs(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug, "webhook": s.webhook_delivery.webhook_id}


def delivery_kwargs(s: Samples) -> dict[str, Any]:
    return {**deliveries_kwargs(s), "pk": s.webhook_delivery.pk}


def reason(s: Samples) -> dict[str, Any]:
    return {"reason": "Acme's reasons"}


def push_source_kwargs(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug, "pk": s.push_source.pk}


def upload_source_kwargs(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug, "source": s.upload_source.pk}


def log_source_kwargs(s: Samples) -> dict[str, Any]:
    return {"org": s.org.slug, "pk": s.upload_source.pk}


def _import_run(s: Samples):
    return s.import_run


ADMIN = OrgRole.ADMIN
MAINTAINER = TeamRole.MAINTAINER
DEVELOPER = TeamRole.DEVELOPER


REGISTRY: dict[str, Entry] = {
    # --- portal shell
    "home": public(),
    "healthz": public(),
    "readyz": public(),
    # Log senders authenticate with the source's push token, not a session: POST only.
    "analytics_ingest": public(lambda s: {"lookup": "NoSuchLookup"}, control=(405,)),
    "api-schema": public(),
    "api-docs": public(),
    "api-redoc": public(),
    # --- allauth: entrance pages (no tenant data)
    "account_login": public(),
    "account_logout": public(),
    "account_inactive": public(),
    "account_signup": public(),
    "account_reset_password": public(),
    "account_reset_password_done": public(),
    "account_reset_password_from_key": public(lambda s: {"uidb36": "1", "key": "forged-key"}),
    "account_reset_password_from_key_done": public(),
    "account_confirm_email": public(lambda s: {"key": "forged-key"}),
    "account_email_verification_sent": public(),
    "account_confirm_login_code": public(),
    "mfa_authenticate": public(),
    "socialaccount_login_cancelled": public(),
    "socialaccount_login_error": public(control=(401,)),  # allauth's error page
    "socialaccount_signup": public(),
    "accounts/social/login/cancelled/": public(),
    "accounts/social/login/error/": public(),
    "accounts/social/signup/": public(),
    "accounts/social/connections/": public(),
    # Single sign-on is configured from the environment, which tests leave empty: an
    # unknown provider is 404 (a configured one would make these call it).
    "openid_connect_login": public(lambda s: {"provider_id": "acme-sso"}, control=(404,)),
    "openid_connect_callback": public(lambda s: {"provider_id": "acme-sso"}, control=(404,)),
    # --- allauth: the signed-in user's own pages
    "account_email": account(),
    "account_change_password": account(),
    "account_set_password": account(),
    "account_reauthenticate": account(),
    "account_request_reauthentication_code": account(),
    "account_confirm_reauthentication_code": account(),
    "mfa_index": account(setup=_owner_mfa),
    "mfa_reauthenticate": account(),
    "mfa_activate_totp": account(),
    "mfa_deactivate_totp": account(setup=_owner_mfa),
    "mfa_view_recovery_codes": account(setup=_owner_mfa),
    "mfa_generate_recovery_codes": account(setup=_owner_mfa),
    "mfa_download_recovery_codes": account(setup=_owner_mfa),
    "socialaccount_connections": account(),
    # --- tenants: HTML
    "tenants:organisation_create": account(),
    "tenants:organisation": organisation(org, write_role=ADMIN),
    "tenants:organisation_leave": organisation(org),
    "tenants:team_list": organisation(org, write_role=ADMIN),
    "tenants:team": organisation(org_team),
    "tenants:team_edit": organisation(org_team, role=ADMIN),
    "tenants:team_delete": organisation(org_team, role=ADMIN),
    "tenants:team_member_add": organisation(org_team, role=ADMIN),
    "tenants:team_member_role": organisation(
        lambda s: {**org_team(s), "pk": s.team_membership.pk}, role=ADMIN
    ),
    "tenants:team_member_remove": organisation(
        lambda s: {**org_team(s), "pk": s.team_membership.pk}, role=ADMIN
    ),
    "tenants:member_list": organisation(org),
    "tenants:member_role": organisation(lambda s: {**org(s), "pk": s.membership.pk}, role=ADMIN),
    "tenants:member_remove": organisation(lambda s: {**org(s), "pk": s.membership.pk}, role=ADMIN),
    "tenants:invitation_list": organisation(org, role=ADMIN),
    "tenants:invitation_revoke": organisation(
        lambda s: {**org(s), "pk": s.invitation.pk}, role=ADMIN
    ),
    "tenants:audit_list": organisation(org, role=ADMIN),
    "tenants:invitation_accept": invitation(lambda s: {"token": s.invitation_token}),
    "tenants:token_list": account(),
    "tenants:token_revoke": account(lambda s: {"pk": s.token.pk}),
    "notifications": account(),
    "notifications_read_all": account(),
    "notification_read": account(lambda s: {"pk": s.notification.pk}),
    # --- catalogue: HTML
    "apis:catalogue": account(query=lambda s: {"q": "ledger"}),
    "apis:api": organisation(catalogue_api),
    "apis:compare": organisation(catalogue_api, query=same_version),
    "apis:version": organisation(catalogue_version),
    "apis:docs": organisation(catalogue_version),
    "apis:spec": organisation(catalogue_version),
    "apis:api_new": organisation(org, role=MAINTAINER),
    "apis:api_edit": organisation(owned_api, role=MAINTAINER),
    "apis:version_new": organisation(owned_api, role=MAINTAINER),
    "apis:version_transition": organisation(
        lambda s: {**owned_api(s), "version": s.api_version.version}, role=MAINTAINER
    ),
    # --- gateway connections: HTML
    "apis:connection_list": organisation(org),
    "apis:connection": organisation(connection),
    "apis:connection_run": organisation(lambda s: {**connection(s), "run": s.sync_run.pk}),
    "apis:connection_new": organisation(org, role=ADMIN),
    "apis:connection_edit": organisation(connection, role=ADMIN),
    "apis:connection_delete": organisation(connection, role=ADMIN),
    "apis:connection_sync": organisation(connection, role=ADMIN),
    "apis:drift": organisation(org, role=ADMIN),
    # --- subscriptions: HTML
    "apis:inbox": organisation(org),
    "apis:inbox_decide": organisation(
        lambda s: {**org(s), "pk": s.subscription.pk},
        role=MAINTAINER,
        payload=lambda s: {"action": "approve"},
    ),
    "apis:inbox_plan_decide": organisation(
        lambda s: {**org(s), "pk": s.plan_change.pk},
        role=MAINTAINER,
        payload=lambda s: {"action": "approve"},
    ),
    "apis:subscription_list": organisation(org),
    "apis:subscription_new": organisation(
        org,
        role=TeamRole.DEVELOPER,
        query=lambda s: {"api": f"{s.org.slug}/{s.plan.api.slug}"},
    ),
    "apis:subscription": organisation(lambda s: {**org(s), "pk": s.subscription.pk}),
    "apis:subscription_action": organisation(
        lambda s: {**org(s), "pk": s.subscription.pk},
        role=TeamRole.DEVELOPER,
        payload=lambda s: {"action": "cancel"},
    ),
    "apis:subscription_plan": organisation(
        lambda s: {**org(s), "pk": s.credential.subscription_id},
        role=TeamRole.DEVELOPER,
        payload=lambda s: {"plan": s.other_plan.pk, "reason": "Acme Checkout grows"},
    ),
    "apis:operation_retry": organisation(
        lambda s: {
            **org(s),
            "pk": s.gateway_operation.subscription_id,
            "operation": s.gateway_operation.pk,
        },
        role=MAINTAINER,
    ),
    "apis:application_list": organisation(
        org,
        write_role=TeamRole.DEVELOPER,
        payload=lambda s: {"team": s.team.pk, "name": "Acme Billing"},
    ),
    "apis:application": organisation(lambda s: {**org(s), "pk": s.application.pk}),
    "apis:application_edit": organisation(
        lambda s: {**org(s), "pk": s.application.pk}, role=TeamRole.DEVELOPER
    ),
    "apis:application_delete": organisation(
        lambda s: {**org(s), "pk": s.application.pk}, role=TeamRole.DEVELOPER
    ),
    "apis:key_issue": organisation(
        lambda s: {**org(s), "pk": s.keyless_subscription.pk}, role=TeamRole.DEVELOPER
    ),
    "apis:key_reveal": organisation(
        lambda s: {**org(s), "pk": s.credential.pk}, role=TeamRole.DEVELOPER
    ),
    "apis:key_rotate": organisation(
        lambda s: {**org(s), "pk": s.credential.pk}, role=TeamRole.DEVELOPER
    ),
    "apis:key_revoke": organisation(
        lambda s: {**org(s), "pk": s.credential.pk}, role=TeamRole.DEVELOPER
    ),
    "apis:webhook_list": organisation(
        org,
        role=ADMIN,
        payload=lambda s: {"url": "https://hooks.acme.test/more", "events": ["credential.*"]},
    ),
    "apis:webhook": organisation(lambda s: {**org(s), "pk": s.webhook.pk}, role=ADMIN),
    "apis:webhook_edit": organisation(lambda s: {**org(s), "pk": s.webhook.pk}, role=ADMIN),
    "apis:webhook_delete": organisation(lambda s: {**org(s), "pk": s.webhook.pk}, role=ADMIN),
    "apis:webhook_redeliver": organisation(
        lambda s: {**org(s), "webhook": s.webhook_delivery.webhook_id, "pk": s.webhook_delivery.pk},
        role=ADMIN,
    ),
    "apis:plan_list": organisation(owned_api, role=MAINTAINER),
    "apis:plan_new": organisation(
        owned_api,
        role=MAINTAINER,
        payload=lambda s: {"name": "Acme Platinum", "approval": "manual", "key_grace_hours": 24},
    ),
    "apis:plan_edit": organisation(lambda s: {**owned_api(s), "pk": s.plan.pk}, role=MAINTAINER),
    "apis:plan_close": organisation(lambda s: {**owned_api(s), "pk": s.plan.pk}, role=MAINTAINER),
    # --- usage dashboards: HTML
    "analytics:overview": organisation(org, setup=_usage),
    "analytics:api": organisation(owned_api, setup=_usage),
    "analytics:application": organisation(
        lambda s: {**org(s), "pk": s.application.pk}, setup=_usage
    ),
    "analytics:ai": organisation(org, setup=_usage),
    "analytics:lambda": organisation(org, setup=_usage),
    "analytics:alert_list": organisation(org, setup=lambda s: s.alert_rule),
    "analytics:alert_new": organisation(org, role=DEVELOPER),
    "analytics:alert_edit": organisation(
        lambda s: {**org(s), "pk": s.alert_rule.pk}, role=MAINTAINER
    ),
    "analytics:alert_delete": organisation(
        lambda s: {**org(s), "pk": s.alert_rule.pk}, role=MAINTAINER
    ),
    "analytics:source_list": organisation(org, role=ADMIN, setup=_import_run),
    "analytics:source_new": organisation(org, role=ADMIN),
    "analytics:source": organisation(log_source_kwargs, role=ADMIN, setup=_import_run),
    "analytics:source_edit": organisation(log_source_kwargs, role=ADMIN),
    "analytics:source_enabled": organisation(log_source_kwargs, role=ADMIN),
    "analytics:source_delete": organisation(log_source_kwargs, role=ADMIN),
    "analytics:source_import": organisation(log_source_kwargs, role=ADMIN, setup=_import_run),
    "analytics:source_upload": organisation(log_source_kwargs, role=ADMIN),
    "analytics:source_rotate_token": organisation(push_source_kwargs, role=ADMIN),
    # --- REST API
    "api:connection-list": organisation(org, write_role=ADMIN),
    "api:connection-detail": organisation(connection, write_role=ADMIN),
    "api:connection-sync": organisation(connection, write_role=ADMIN),
    "api:connection-run-list": organisation(
        lambda s: {"org": s.org.slug, "connection": s.connection.pk}
    ),
    "api:connection-run-detail": organisation(
        lambda s: {"org": s.org.slug, "connection": s.connection.pk, "pk": s.sync_run.pk}
    ),
    "api:drift-list": organisation(org, role=ADMIN),
    "api:me": account(),
    "api:organisation-list": account(),
    "api:organisation-detail": organisation(org, write_role=ADMIN),
    "api:organisation-leave": organisation(org),
    "api:token-list": account(),
    "api:token-detail": account(lambda s: {"pk": s.token.pk}),
    "api:token-revoke": account(lambda s: {"pk": s.token.pk}),
    "api:invitation-accept-list": invitation(payload=lambda s: {"token": s.invitation_token}),
    "api:team-list": organisation(org, write_role=ADMIN),
    "api:team-detail": organisation(org_team, write_role=ADMIN),
    "api:member-list": organisation(org, write_role=ADMIN),
    "api:member-detail": organisation(
        lambda s: {**org(s), "pk": s.membership.pk}, write_role=ADMIN
    ),
    "api:invitation-list": organisation(org, role=ADMIN),
    "api:invitation-detail": organisation(lambda s: {**org(s), "pk": s.invitation.pk}, role=ADMIN),
    "api:invitation-revoke": organisation(lambda s: {**org(s), "pk": s.invitation.pk}, role=ADMIN),
    "api:audit-event-list": organisation(org, role=ADMIN),
    "api:audit-event-detail": organisation(
        lambda s: {**org(s), "pk": s.audit_event.pk}, role=ADMIN
    ),
    "api:team-member-list": organisation(org_team, write_role=ADMIN),
    "api:team-member-detail": organisation(
        lambda s: {**org_team(s), "pk": s.team_membership.pk}, write_role=ADMIN
    ),
    "api:api-list": account(),
    "api:search-list": account(query=lambda s: {"q": "ledger"}),
    "api:api-detail": organisation(catalogue_api, write_role=MAINTAINER),
    "api:api-compare": organisation(catalogue_api, query=same_version),
    "api:api-version-list": organisation(catalogue_api, write_role=MAINTAINER),
    "api:api-version-detail": organisation(catalogue_version, write_role=MAINTAINER),
    "api:api-version-operations": organisation(catalogue_version),
    "api:api-version-spec": organisation(catalogue_version),
    "api:api-version-transitions": organisation(catalogue_version),
    "api:api-version-transition": organisation(catalogue_version, write_role=MAINTAINER),
    # --- subscriptions: REST API
    "api:api-plan-list": organisation(
        catalogue_api, write_role=MAINTAINER, payload=lambda s: {"name": "Acme Platinum"}
    ),
    "api:api-plan-detail": organisation(plan_kwargs, write_role=MAINTAINER),
    "api:api-plan-close": organisation(plan_kwargs, write_role=MAINTAINER),
    "api:application-list": organisation(
        org, write_role=DEVELOPER, payload=lambda s: {"team": s.team.slug, "name": "Acme Billing"}
    ),
    "api:application-detail": organisation(
        lambda s: {**org(s), "pk": s.application.pk}, write_role=DEVELOPER
    ),
    "api:subscription-list": organisation(
        org,
        write_role=DEVELOPER,
        payload=lambda s: {
            "application": s.application.pk,
            "api_owner": s.org.slug,
            "api": s.api_version.api.slug,
            "plan": s.plan.pk,
        },
    ),
    "api:subscription-detail": organisation(subscription_kwargs),
    "api:subscription-approve": organisation(subscription_kwargs, write_role=MAINTAINER),
    "api:subscription-reject": organisation(
        subscription_kwargs, write_role=MAINTAINER, payload=reason
    ),
    "api:subscription-cancel": organisation(subscription_kwargs, write_role=DEVELOPER),
    "api:subscription-unsubscribe": organisation(subscription_kwargs, write_role=DEVELOPER),
    "api:subscription-suspend": organisation(
        subscription_kwargs, write_role=MAINTAINER, payload=reason
    ),
    "api:subscription-resume": organisation(subscription_kwargs, write_role=MAINTAINER),
    "api:subscription-revoke": organisation(
        subscription_kwargs, write_role=MAINTAINER, payload=reason
    ),
    "api:subscription-change-plan": organisation(
        subscription_kwargs, write_role=DEVELOPER, payload=lambda s: {"plan": s.plan.pk}
    ),
    "api:subscription-approve-plan-change": organisation(
        subscription_kwargs, write_role=MAINTAINER
    ),
    "api:subscription-reject-plan-change": organisation(
        subscription_kwargs, write_role=MAINTAINER, payload=reason
    ),
    "api:subscription-credential-list": organisation(keys_kwargs, write_role=DEVELOPER),
    "api:subscription-credential-detail": organisation(credential_kwargs),
    "api:subscription-credential-reveal": organisation(credential_kwargs, write_role=DEVELOPER),
    "api:subscription-credential-rotate": organisation(credential_kwargs, write_role=DEVELOPER),
    "api:subscription-credential-revoke": organisation(credential_kwargs, write_role=DEVELOPER),
    "api:operation-list": organisation(org),
    "api:operation-detail": organisation(operation_kwargs),
    "api:operation-retry": organisation(operation_kwargs, write_role=MAINTAINER),
    "api:webhook-list": organisation(
        org,
        role=ADMIN,
        payload=lambda s: {"url": "https://hooks.acme.test/more", "events": ["credential.*"]},
    ),
    "api:webhook-detail": organisation(webhook_kwargs, role=ADMIN),
    "api:webhook-delivery-list": organisation(deliveries_kwargs, role=ADMIN),
    "api:webhook-delivery-detail": organisation(delivery_kwargs, role=ADMIN),
    "api:webhook-delivery-redeliver": organisation(delivery_kwargs, role=ADMIN),
    # --- analytics: REST API
    "api:log-source-list": organisation(org, role=ADMIN),
    "api:log-source-detail": organisation(push_source_kwargs, role=ADMIN),
    "api:log-source-rotate-token": organisation(push_source_kwargs, role=ADMIN),
    "api:log-source-import": organisation(
        lambda s: {**org(s), "pk": s.upload_source.pk}, role=ADMIN
    ),
    "api:log-source-upload-list": organisation(upload_source_kwargs, role=ADMIN),
    "api:log-source-upload-detail": organisation(
        lambda s: {**upload_source_kwargs(s), "pk": s.log_upload.pk}, role=ADMIN
    ),
    "api:log-source-run-list": organisation(upload_source_kwargs, role=ADMIN),
    "api:log-source-run-detail": organisation(
        lambda s: {**upload_source_kwargs(s), "pk": s.import_run.pk}, role=ADMIN
    ),
    "api:alert-rule-list": organisation(org, write_role=TeamRole.DEVELOPER),
    "api:alert-rule-detail": organisation(
        lambda s: {**org(s), "pk": s.alert_rule.pk}, write_role=MAINTAINER
    ),
    "api:usage-list": organisation(
        org, setup=lambda s: s.usage_rollup, query=lambda s: {"group_by": "application"}
    ),
    # --- admin site (the model pages are generated below)
    "admin:index": staff(),
    "admin:login": staff(),
    "admin:logout": staff(),
    "admin:password_change": staff(),
    "admin:password_change_done": staff(),
    "admin:autocomplete": staff(
        query=lambda s: {"app_label": "tenants", "model_name": "membership", "field_name": "user"}
    ),
    "admin:jsi18n": staff(),
    "admin:view_on_site": staff(
        lambda s: {"content_type_id": _content_type_id(s.org), "object_id": s.org.pk}
    ),
    "admin:app_list": staff(lambda s: {"app_label": "tenants"}),
    # A changelist's path without its slash: staff are sent to the slashed path.
    "admin/(?P<url>.*)$": staff(lambda s: {"url": "tenants/team"}),
    "admin:auth_user_password_change": staff(lambda s: {"id": s.cast.owner.pk}),
}


def _content_type_id(obj) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj).pk


def _admin_entries() -> dict[str, Entry]:
    """changelist, add, history, delete, change and the bare object URL for every model
    the admin site registers, with that model's sample from ADMIN_OBJECTS."""
    superuser = User(is_staff=True, is_superuser=True, is_active=True)
    request = RequestFactory().get("/admin/")
    request.user = superuser
    entries: dict[str, Entry] = {}
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        label, prefix = meta.label_lower, f"admin:{meta.app_label}_{meta.model_name}"

        def object_id(s: Samples, label=label) -> dict[str, Any]:
            return {"object_id": s.admin_object(label).pk}

        may_add = model_admin.has_add_permission(request)
        may_delete = model_admin.has_delete_permission(request)
        entries[f"{prefix}_changelist"] = staff()
        entries[f"{prefix}_add"] = staff(control=OK if may_add else (403,))
        entries[f"{prefix}_history"] = staff(object_id)
        entries[f"{prefix}_delete"] = staff(object_id, control=OK if may_delete else (403,))
        entries[f"{prefix}_change"] = staff(object_id)
        entries[f"admin/{meta.app_label}/{meta.model_name}/<path:object_id>/"] = staff(object_id)
    return entries


REGISTRY.update(_admin_entries())
