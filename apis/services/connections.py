"""Gateway connections: create, change, schedule and trigger their syncs.

Secrets typed into the portal (a LiteLLM admin key, an APIPark token) are
sealed on the way in and never returned, logged or audited. AWS credentials
never pass through the portal: the workers' boto3 chain provides them.
"""

import json

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from portal.observability import current_request_id
from tenants.actors import Actor
from tenants.errors import Conflict, ValidationFailed
from tenants.models import Organisation, Team
from tenants.services.audit import audit_record
from tenants.services.organisations import require_org_admin, require_team_in
from tenants.services.unique import save_unique

from ..models import Api, GatewayConnection, SyncRun
from .catalogue import check_visibility

TASK = "apis.tasks.sync_connection"
MIN_INTERVAL, MAX_INTERVAL = 5, 7 * 24 * 60

# What each kind reads from ``config``; anything else is refused.
CONFIG_FIELDS: dict[str, dict[str, bool]] = {
    "aws_rest": {"region": True, "endpoint_url": False, "role_arn": False, "external_id": False},
    "aws_http": {"region": True, "endpoint_url": False, "role_arn": False, "external_id": False},
    "litellm": {"base_url": True},
    "apipark": {"base_url": True},
    "openapi_url": {"url": True, "name": False},
}
NEEDS_SECRET = {"litellm", "apipark"}


def _clean_config(kind: str, config: dict) -> dict:
    fields = CONFIG_FIELDS.get(kind)
    if fields is None:
        raise ValidationFailed("Unknown kind.", fields={"kind": [f"'{kind}' is not a kind."]})
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise ValidationFailed(
            "Unknown settings.", fields={"config": [f"Not a setting of {kind}: {unknown}."]}
        )
    cleaned = {k: str(v).strip() for k, v in config.items() if v not in (None, "")}
    missing = [name for name, required in fields.items() if required and not cleaned.get(name)]
    if missing:
        raise ValidationFailed(
            "Settings missing.", fields={name: ["This setting is required."] for name in missing}
        )
    for name in ("endpoint_url", "base_url", "url"):
        if name in cleaned and not cleaned[name].startswith(("http://", "https://")):
            raise ValidationFailed("Bad URL.", fields={name: ["Give an http(s) URL."]})
    return cleaned


def _public_state(connection: GatewayConnection) -> dict:
    return {
        "name": connection.name,
        "kind": connection.kind,
        "config": connection.config,
        "team": connection.team.slug,
        "visibility": connection.visibility,
        "publish_on_sync": connection.publish_on_sync,
        "interval_minutes": connection.interval_minutes,
        "enabled": connection.enabled,
        "secret": "set" if connection.has_secret else "none",
    }


def _schedule(connection: GatewayConnection) -> None:
    """Keep the connection's django-celery-beat entry in step with it."""
    interval = IntervalSchedule.objects.filter(
        every=connection.interval_minutes, period=IntervalSchedule.MINUTES
    ).order_by("pk").first() or IntervalSchedule.objects.create(
        every=connection.interval_minutes, period=IntervalSchedule.MINUTES
    )
    PeriodicTask.objects.update_or_create(
        name=schedule_name(connection),
        defaults={
            "task": TASK,
            "interval": interval,
            "args": json.dumps([connection.pk, SyncRun.Trigger.SCHEDULE]),
            "enabled": connection.enabled,
            "description": f"Sync {connection.name} ({connection.organisation.slug})",
        },
    )


def schedule_name(connection: GatewayConnection) -> str:
    return f"Gateway sync #{connection.pk}"


def _check_interval(minutes: int) -> None:
    if not MIN_INTERVAL <= minutes <= MAX_INTERVAL:
        raise ValidationFailed(
            "Interval out of range.",
            fields={"interval_minutes": [f"Between {MIN_INTERVAL} minutes and 7 days."]},
        )


@transaction.atomic
def connection_create(
    *,
    organisation: Organisation,
    team: Team,
    name: str,
    kind: str,
    config: dict,
    secret: str = "",
    visibility: str = Api.Visibility.ORGANISATION,
    publish_on_sync: bool = False,
    interval_minutes: int = 60,
    enabled: bool = True,
    actor: Actor,
) -> GatewayConnection:
    require_org_admin(actor=actor, organisation=organisation)
    require_team_in(team=team, organisation_id=organisation.pk)
    config = _clean_config(kind, config)
    if kind in NEEDS_SECRET and not secret:
        raise ValidationFailed(
            "A secret is needed.", fields={"secret": ["This gateway needs its admin key or token."]}
        )
    check_visibility(visibility)
    _check_interval(interval_minutes)
    connection = GatewayConnection(
        organisation=organisation,
        team=team,
        name=name,
        kind=kind,
        config=config,
        visibility=visibility,
        publish_on_sync=publish_on_sync,
        interval_minutes=interval_minutes,
        enabled=enabled,
    )
    connection.set_secret(secret)
    save_unique(connection, field="name", message="A connection with this name exists.")
    _schedule(connection)
    audit_record(
        actor=actor,
        organisation=organisation,
        action="gateway_connection.created",
        target=connection,
        after=_public_state(connection),
    )
    return connection


@transaction.atomic
def connection_update(
    *,
    connection: GatewayConnection,
    actor: Actor,
    name: str | None = None,
    team: Team | None = None,
    config: dict | None = None,
    secret: str | None = None,
    visibility: str | None = None,
    publish_on_sync: bool | None = None,
    interval_minutes: int | None = None,
    enabled: bool | None = None,
) -> GatewayConnection:
    """Change what is given; ``secret=None`` keeps the stored secret, ``""`` keeps it too
    (forms never show it back), a new value replaces it."""
    require_org_admin(actor=actor, organisation=connection.organisation)
    before = _public_state(connection)
    if team is not None:
        require_team_in(team=team, organisation_id=connection.organisation_id)
        connection.team = team
    if config is not None:
        connection.config = _clean_config(connection.kind, config)
    if secret:
        connection.set_secret(secret)
    if visibility is not None:
        check_visibility(visibility)
        connection.visibility = visibility
    if interval_minutes is not None:
        _check_interval(interval_minutes)
        connection.interval_minutes = interval_minutes
    for field, value in (
        ("name", name),
        ("publish_on_sync", publish_on_sync),
        ("enabled", enabled),
    ):
        if value is not None:
            setattr(connection, field, value)
    save_unique(connection, field="name", message="A connection with this name exists.")
    _schedule(connection)
    after = _public_state(connection)
    if secret:
        after["secret"] = "replaced"
    audit_record(
        actor=actor,
        organisation=connection.organisation,
        action="gateway_connection.updated",
        target=connection,
        before=before,
        after=after,
    )
    return connection


@transaction.atomic
def connection_delete(*, connection: GatewayConnection, actor: Actor) -> None:
    """Delete the connection and its schedule; the APIs it brought stay in the catalogue."""
    require_org_admin(actor=actor, organisation=connection.organisation)
    if connection.running_since is not None:
        raise Conflict("A sync of this connection is running; delete it when the run ends.")
    audit_record(
        actor=actor,
        organisation=connection.organisation,
        action="gateway_connection.deleted",
        target=connection,
        before=_public_state(connection),
    )
    PeriodicTask.objects.filter(name=schedule_name(connection)).delete()
    connection.delete()


@transaction.atomic
def connection_sync_request(*, connection: GatewayConnection, actor: Actor) -> SyncRun:
    """Queue a sync now; a worker picks it up after this transaction commits. The queued
    run is returned so the page can follow it."""
    require_org_admin(actor=actor, organisation=connection.organisation)
    from ..tasks import sync_connection

    pending = SyncRun.objects.filter(
        connection=connection, status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
    ).first()
    if pending is not None:
        return pending
    run = SyncRun.objects.create(
        connection=connection,
        organisation=connection.organisation,
        trigger=SyncRun.Trigger.MANUAL,
        status=SyncRun.Status.QUEUED,
        request_id=current_request_id(),
    )
    audit_record(
        actor=actor,
        organisation=connection.organisation,
        action="gateway_connection.sync_requested",
        target=connection,
        after={"run": run.pk},
    )
    transaction.on_commit(
        lambda: sync_connection.delay(connection.pk, SyncRun.Trigger.MANUAL, run.pk)
    )
    return run
