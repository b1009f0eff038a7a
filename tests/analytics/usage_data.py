"""Builders for usage tests: APIs, versions, applications, plans and subscriptions made
directly (no spec to parse), and rollup rows with a latency histogram."""

import datetime
import itertools

from analytics.histogram import COLUMNS, bucket
from analytics.models import UsageRollup
from apis.models import Api, ApiVersion, Application, Credential, Plan, Subscription
from tenants import keys as secret_keys

_serial = itertools.count(1)


def make_api(org, team, *, name="Ledger", slug=None, kind="rest", visibility="organisation"):
    api = Api.objects.create(
        organisation=org,
        team=team,
        name=name,
        slug=slug or f"api-{next(_serial)}",
        kind=kind,
        visibility=visibility,
        current_state=ApiVersion.State.PUBLISHED,
    )
    version = make_version(api, "1.0.0")
    api.current_version = version
    api.save(update_fields=["current_version"])
    return api


def make_version(api, number, *, state=ApiVersion.State.PUBLISHED):
    return ApiVersion.objects.create(
        api=api,
        organisation=api.organisation,
        version=number,
        state=state,
        openapi_version="3.0",
        spec_hash=f"{next(_serial):064d}",
    )


def make_application(team, name):
    return Application.objects.create(organisation=team.organisation, team=team, name=name)


def subscribe(application, api, *, quota=None, period="", state=Subscription.State.APPROVED):
    plan = Plan.objects.create(
        api=api,
        organisation=api.organisation,
        name=f"Plan {next(_serial)}",
        quota_limit=quota,
        quota_period=period,
    )
    return Subscription.objects.create(
        application=application,
        organisation=application.organisation,
        api=api,
        provider=api.organisation,
        plan=plan,
        state=state,
    )


def issue_key(subscription, *, key_id: str = "") -> tuple[Credential, str]:
    """A key of ``subscription`` stored as the portal stores it (its digest), with
    ``key_id`` as its gateway key id; returns the credential and the plaintext."""
    plaintext = f"sk-pak-resolution-{next(_serial):04d}"
    credential = Credential.objects.create(
        subscription=subscription,
        organisation=subscription.organisation,
        lookup_id=f"res{next(_serial):06d}",
        prefix=plaintext[:10],
        digest=secret_keys.digest(plaintext),
        gateway_key_id=key_id,
    )
    return credential, plaintext


def rollup(
    org,
    hour: datetime.datetime,
    *,
    api=None,
    version=None,
    app=None,
    calls=1,
    c4xx=0,
    c5xx=0,
    latency=50.0,
    latencies=None,
    tokens_in=0,
    tokens_out=0,
    cost=0.0,
) -> UsageRollup:
    """One rollup row: ``calls`` calls at ``latency`` ms each, or one per value of
    ``latencies``."""
    latencies = latencies if latencies is not None else [latency] * calls
    histogram = dict.fromkeys(COLUMNS, 0)
    for value in latencies:
        histogram[COLUMNS[bucket(value)]] += 1
    return UsageRollup.objects.create(
        organisation_id=org.pk,
        hour=hour,
        api_id=getattr(api, "pk", api or 0),
        api_version_id=getattr(version, "pk", version or 0),
        application_id=getattr(app, "pk", app or 0),
        calls=len(latencies),
        c4xx=c4xx,
        c5xx=c5xx,
        latency_sum=float(sum(latencies)),
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=cost,
        **histogram,
    )
