"""Gateway sync: bring a connection's APIs, stages, plans and keys into the portal.

One run per connection at a time: a run claims the connection with a
conditional UPDATE (``running_since`` empty or stale) and a second run that
finds it claimed is recorded as skipped. APIs are upserted by (connection,
external id), each in its own transaction, so one broken API costs only
itself. A stage whose fingerprint is unchanged is not fetched again; a new
version is made only when a spec's hash is new. What the gateway no longer
lists is marked missing, never deleted; a plan whose usage plan is gone is closed.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from portal.observability import current_request_id
from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.services.audit import audit_record

from ..gateways import DiscoveredApi, DiscoveredStage, GatewayError, adapter_for
from ..gateways.base import GatewayAdapter
from ..models import (
    Api,
    ApiVersion,
    GatewayConnection,
    GatewayDeployment,
    GatewayKey,
    Plan,
    SyncRun,
)
from ..specs import SpecError, ingest
from .catalogue import api_create, version_create_parsed
from .lifecycle import version_transition

logger = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 50
UNDEPLOYED = ""
# Kept in a plan's gateway_observed, in place of the limits, once its usage plan is gone.
PLAN_MISSING_SINCE = "missing_since"


@dataclass
class _Outcome:
    new: bool = False
    changed: bool = False


def _claim(connection: GatewayConnection) -> bool:
    now = timezone.now()
    stale = now - timedelta(minutes=settings.GATEWAY_SYNC_STALE_MINUTES)
    return bool(
        GatewayConnection.objects.filter(pk=connection.pk)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=stale))
        .update(running_since=now)
    )


def sync_connection(
    *,
    connection: GatewayConnection,
    trigger: str,
    actor: Actor | None = None,
    run: SyncRun | None = None,
) -> SyncRun:
    """Run one sync of ``connection`` now, in this process; returns its SyncRun.
    ``run`` is a run someone asked for, already taken by this worker (status running)."""
    actor = actor or Actor.system()
    if run is None:
        run = SyncRun.objects.create(
            connection=connection,
            organisation=connection.organisation,
            trigger=trigger,
            request_id=current_request_id(),
        )
    if not _claim(connection):
        run.status = SyncRun.Status.SKIPPED
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at"])
        return run
    adapter: GatewayAdapter | None = None
    try:
        adapter = adapter_for(connection)
        _sync(connection, adapter, run)
        run.status = SyncRun.Status.PARTIAL if run.errors else SyncRun.Status.SUCCEEDED
    except GatewayError as exc:
        run.errors.append({"where": "connection", "message": exc.message})
        run.status = SyncRun.Status.FAILED
    except Exception:
        logger.exception("sync of connection %s failed", connection.pk)
        run.errors.append({"where": "connection", "message": "Unexpected error; see the logs."})
        run.status = SyncRun.Status.FAILED
    finally:
        run.calls = adapter.calls if adapter is not None else 0
        run.finished_at = timezone.now()
        run.errors = run.errors[:MAX_ERRORS_KEPT]
        with transaction.atomic():
            run.save()
            GatewayConnection.objects.filter(pk=connection.pk).update(
                running_since=None, last_run=run
            )
            audit_record(
                actor=actor,
                organisation=connection.organisation,
                action="gateway.synced",
                target=connection,
                after={
                    "run": run.pk,
                    "status": run.status,
                    "new": run.new,
                    "changed": run.changed,
                    "unchanged": run.unchanged,
                    "missing": run.missing,
                    "calls": run.calls,
                    "errors": len(run.errors),
                },
            )
    logger.info(
        "synced connection %s: %s (%s new, %s changed, %s unchanged, %s missing, %s calls)",
        connection.pk,
        run.status,
        run.new,
        run.changed,
        run.unchanged,
        run.missing,
        run.calls,
    )
    return run


def _sync(connection: GatewayConnection, adapter: GatewayAdapter, run: SyncRun) -> None:
    discovered = adapter.list_apis()
    # What the portal holds for this connection, read once rather than once an API.
    apis = {a.external_id: a for a in Api.objects.filter(connection=connection)}
    deployments: dict[int, dict[str, GatewayDeployment]] = {}
    for deployment in GatewayDeployment.objects.filter(api__connection=connection):
        deployments.setdefault(deployment.api_id, {})[deployment.stage] = deployment
    untouched: list[int] = []  # deployments of unchanged APIs: only last_seen_at moves
    seen: set[str] = set()
    for found in discovered:
        seen.add(found.external_id)
        api = apis.get(found.external_id)
        try:
            outcome = _sync_api(
                connection,
                adapter,
                found,
                api=api,
                known=deployments.get(api.pk, {}) if api is not None else {},
                untouched=untouched,
            )
        except (GatewayError, ApplicationError) as exc:
            message = getattr(exc, "message", str(exc))
            run.errors.append({"where": found.name, "message": message})
            continue
        except (InterfaceError, OperationalError):
            raise  # the database is gone: no other API would fare better
        except Exception:
            # Each API's writes are one transaction, rolled back by now: the others go on.
            logger.exception("sync of %s in connection %s failed", found.external_id, connection.pk)
            run.errors.append({"where": found.name, "message": "Unexpected error; see the logs."})
            continue
        if outcome.new:
            run.new += 1
        elif outcome.changed:
            run.changed += 1
        else:
            run.unchanged += 1
    now = timezone.now()
    GatewayDeployment.objects.filter(pk__in=untouched).update(last_seen_at=now)
    vanished = Api.objects.filter(connection=connection, missing_since__isnull=True).exclude(
        external_id__in=seen
    )
    run.missing = vanished.update(missing_since=now)
    GatewayDeployment.objects.filter(connection=connection, missing_since__isnull=True).exclude(
        api__external_id__in=seen
    ).update(missing_since=now)
    _sync_plans(connection, adapter, run)
    _sync_keys(connection, adapter, run)


def _unique_slug(connection: GatewayConnection, name: str, external_id: str) -> str:
    base = slugify(name)[:70] or slugify(external_id)[:70] or "api"
    slug, n = base, 2
    while Api.objects.filter(organisation=connection.organisation, slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


def _unchanged(
    api: Api,
    found: DiscoveredApi,
    stages: list[DiscoveredStage],
    known: dict[str, GatewayDeployment],
) -> bool:
    """Whether the API is as the portal saw it: present, same name, same stages with the
    same variables and custom-domain paths (their fingerprints matched already)."""
    present = {name for name, deployment in known.items() if deployment.missing_since is None}
    return (
        api.missing_since is None
        and api.name == found.name
        and present == {stage.name for stage in stages}
        and all(
            known[stage.name].variables == stage.variables
            and known[stage.name].base_paths == stage.base_paths
            for stage in stages
        )
    )


def _sync_api(
    connection: GatewayConnection,
    adapter: GatewayAdapter,
    found: DiscoveredApi,
    *,
    api: Api | None,
    known: dict[str, GatewayDeployment],
    untouched: list[int],
) -> _Outcome:
    outcome = _Outcome()
    # An API deployed to no stage still has a spec (a version) but no deployment.
    stages = found.stages or [DiscoveredStage(name=UNDEPLOYED)]
    # Fetch (network) before opening the transaction that writes.
    fetched = {}
    for stage in stages:
        previous = known.get(stage.name)
        if (
            previous is not None
            and stage.fingerprint
            and previous.fingerprint == stage.fingerprint
            and previous.missing_since is None
        ):
            continue
        spec = adapter.fetch_spec(found, stage)
        try:
            parsed = ingest(spec.raw)
        except SpecError as exc:
            first = exc.problems[0] if exc.problems else None
            where = f" First: {first['message']} at {first['pointer'] or '/'}." if first else ""
            raise SpecError(
                f"The spec{f' of stage {stage.name}' if stage.name else ''} was refused: "
                f"{exc.message}{where}",
                problems=exc.problems,
            ) from exc
        fetched[stage.name] = (stage, spec, parsed)
    if api is not None and not fetched and _unchanged(api, found, stages, known):
        untouched.extend(known[stage.name].pk for stage in stages)
        return outcome
    system = Actor.system()
    with transaction.atomic():
        if api is None:
            api = api_create(
                organisation=connection.organisation,
                team=connection.team,
                name=found.name,
                slug=_unique_slug(connection, found.name, found.external_id),
                summary=found.description[:2000],
                tags=found.tags,
                visibility=connection.visibility,
                kind=found.kind if found.kind in Api.Kind.values else Api.Kind.REST,
                actor=system,
            )
            Api.objects.filter(pk=api.pk).update(
                connection=connection, external_id=found.external_id
            )
            api.connection, api.external_id = connection, found.external_id
            outcome.new = True
        elif api.missing_since is not None or api.name != found.name:
            Api.objects.filter(pk=api.pk).update(missing_since=None, name=found.name)
            outcome.changed = api.missing_since is not None
        now = timezone.now()
        for stage in stages:
            if stage.name not in fetched:
                GatewayDeployment.objects.filter(api=api, stage=stage.name).update(
                    last_seen_at=now, variables=stage.variables, base_paths=stage.base_paths
                )
                continue
            stage, spec, parsed = fetched[stage.name]
            version = api.versions.filter(spec_hash=parsed.spec_hash).first()
            if version is None:
                version = version_create_parsed(
                    api=api,
                    parsed=parsed,
                    version=_label(api, spec.version_label, parsed, stage),
                    base_url=spec.base_url,
                    actor=system,
                    gateway_refs={"connection": connection.pk, **spec.refs},
                )
                if connection.publish_on_sync:
                    version_transition(
                        version=version,
                        to_state=ApiVersion.State.PUBLISHED,
                        actor=system,
                        reason="Published by gateway sync.",
                    )
                outcome.changed = True
            if stage.name == UNDEPLOYED:
                continue
            GatewayDeployment.objects.update_or_create(
                api=api,
                stage=stage.name,
                defaults={
                    "connection": connection,
                    "organisation": connection.organisation,
                    "version": version,
                    "deployment_id": stage.deployment_id,
                    "invoke_url": stage.invoke_url,
                    "variables": stage.variables,
                    "base_paths": stage.base_paths,
                    "integrations": spec.integrations,
                    "fingerprint": stage.fingerprint,
                    "last_seen_at": now,
                    "missing_since": None,
                },
            )
        stages = [s.name for s in found.stages]
        GatewayDeployment.objects.filter(api=api, missing_since__isnull=True).exclude(
            stage__in=stages
        ).update(missing_since=now)
    return outcome


def _label(api: Api, offered: str, parsed, stage: DiscoveredStage) -> str:
    label = (offered or parsed.info_version or stage.deployment_id or "1").strip()[:40]
    label = label.replace("/", "-")
    if not api.versions.filter(version=label).exists():
        return label
    suffix = f"{stage.name}.{stage.deployment_id or parsed.spec_hash[:8]}"
    candidate = f"{label}+{suffix}"[:64]
    if not api.versions.filter(version=candidate).exists():
        return candidate
    return f"{label}+{parsed.spec_hash[:12]}"[:64]


def _sync_plans(connection: GatewayConnection, adapter: GatewayAdapter, run: SyncRun) -> None:
    """Plans for the gateway's usage plans, one an API they cover. A plan whose usage plan
    the gateway no longer lists is closed (no new subscriptions; those it has keep it), its
    observed limits replaced by when it went missing, and counted with the run's missing;
    bound to a usage plan the gateway lists again, it reopens."""
    try:
        plans = adapter.list_plans()
    except GatewayError as exc:
        run.errors.append({"where": "usage plans", "message": exc.message})
        return
    apis = {a.external_id: a for a in Api.objects.filter(connection=connection)}
    bound = {(p.api_id, p.gateway_plan_id): p for p in Plan.objects.filter(connection=connection)}
    names = set(Plan.objects.filter(api__connection=connection).values_list("api_id", "name"))
    for found in plans:
        for api_external_id in dict.fromkeys(a for a, _ in found.api_stages):
            api = apis.get(api_external_id)
            if api is None:
                continue
            observed = found.limits()
            plan = bound.get((api.pk, found.external_id))
            if plan is not None:
                # The portal owns a bound plan's limits; the gateway's are recorded, and a
                # difference shows as drift.
                if plan.gateway_observed != observed:
                    fields = {"gateway_observed": observed}
                    if PLAN_MISSING_SINCE in plan.gateway_observed:
                        fields["is_active"] = True  # closed by a sync, not by its owner
                    Plan.objects.filter(pk=plan.pk).update(**fields)
                continue
            name = found.name
            if (api.pk, name) in names:
                name = f"{found.name} ({found.external_id})"[:100]
            names.add((api.pk, name))
            bound[(api.pk, found.external_id)] = Plan.objects.create(
                api=api,
                organisation=connection.organisation,
                name=name,
                description=found.description[:2000],
                rate_limit=found.rate_limit,
                burst_limit=found.burst_limit,
                quota_limit=found.quota_limit,
                quota_period=found.quota_period,
                connection=connection,
                gateway_plan_id=found.external_id,
                gateway_observed=observed,
            )
    # Closed once, when first missed: a plan its owner reopens stays open.
    gone = (
        Plan.objects.filter(connection=connection, is_active=True)
        .exclude(gateway_plan_id="")
        .exclude(gateway_plan_id__in=[found.external_id for found in plans])
        .exclude(gateway_observed__has_key=PLAN_MISSING_SINCE)
    )
    run.missing += gone.update(
        is_active=False, gateway_observed={PLAN_MISSING_SINCE: timezone.now().isoformat()}
    )


def _sync_keys(connection: GatewayConnection, adapter: GatewayAdapter, run: SyncRun) -> None:
    now = timezone.now()
    try:
        found = adapter.list_keys()
    except GatewayError as exc:
        run.errors.append({"where": "API keys", "message": exc.message})
        return
    existing = {k.external_id: k for k in GatewayKey.objects.filter(connection=connection)}
    untouched = []
    for key in found:
        fields = {
            "name": key.name[:200],
            "enabled": key.enabled,
            "value_digest": key.value_digest,
            "plan_ids": key.plan_ids,
            "missing_since": None,
        }
        row = existing.get(key.external_id)
        if row is not None and all(getattr(row, f) == v for f, v in fields.items()):
            untouched.append(row.pk)
            continue
        GatewayKey.objects.update_or_create(
            connection=connection,
            external_id=key.external_id,
            defaults={"organisation": connection.organisation, "last_seen_at": now, **fields},
        )
    GatewayKey.objects.filter(pk__in=untouched).update(last_seen_at=now)
    GatewayKey.objects.filter(connection=connection, missing_since__isnull=True).exclude(
        external_id__in=[k.external_id for k in found]
    ).update(missing_since=now)
