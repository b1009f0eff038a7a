"""The demo's usage data: a week of API Gateway access logs and Lambda REPORT lines in
the AWS emulator's CloudWatch Logs, for the APIs Acme's gateway connections synced,
and the CloudWatch log sources that import them through the ordinary import path.

Two of Acme's applications subscribe to the synced REST APIs and get their keys
provisioned on the emulator, so the logs name keys the portal knows (the emulator's
own demo keys call too, as keys made outside the portal do). Traffic is generated an
hour at a time from a seed per hour: a demo started again later writes the same lines
for the hours the two weeks share, and the importer drops them as duplicates.
"""

import contextlib
import datetime
import json
import random
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass

import boto3
from botocore.config import Config
from django.db.models import Max

from apis.demo_gateways import (
    DEMO_HTTP_APIS,
    DEMO_REST_APIS,
    ORGANISATION,
    REGION,
    REST_CONNECTION,
    HttpApiShape,
    RestApiShape,
)
from apis.gateways import GatewayError
from apis.models import (
    Api,
    Application,
    Credential,
    GatewayConnection,
    GatewayKey,
    GatewayOperation,
    Plan,
    Subscription,
)
from apis.services import provisioning
from apis.services.applications import application_create
from apis.services.provisioning import OperationDeferred
from apis.services.subscriptions import subscription_act, subscription_request
from tenants.actors import Actor
from tenants.models import Organisation, Team, User

from .models import ImportRun, LogSource, RequestEvent
from .services.sources import source_create, source_import

DAYS = 7
SEED = 20261126
REST_GROUP = "/aws/apigateway/acme-rest-access"
HTTP_GROUP = "/aws/apigateway/acme-http-access"
LAMBDA_GROUP = "/aws/lambda/"
MAINTAINER, DEVELOPER = "maintainer@acme.example", "developer@acme.example"
# Requests an hour at the busiest hour of a weekday, per API.
RATES = {
    "Orders API": 150,
    "Inventory API": 60,
    "Shipping Rates API": 30,
    "Webhooks Relay": 40,
    "Status Page API": 25,
}
# (application, team, [(API, plan)]): the consumers whose keys the logs carry.
CONSUMERS = (
    ("Acme mobile app", "identity", (("Orders API", "Pro"), ("Shipping Rates API", "Free"))),
    ("Warehouse scanner", "payments", (("Inventory API", "Pro"), ("Orders API", "Free"))),
)
MAX_BATCH_BYTES = 1_000_000  # PutLogEvents takes up to 1 MB (and 10,000 events) a call
MAX_BATCH_EVENTS = 10_000


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the API defines it: /orders/{orderId}
    function: str  # the Lambda function behind it, or ""
    needs_key: bool


@dataclass(frozen=True)
class Target:
    """One synced API stage as the logs name it, and who calls it."""

    name: str
    api_id: str
    stage: str
    http: bool
    routes: tuple[Route, ...]
    keys: tuple[str, ...]  # gateway key ids


@dataclass(frozen=True)
class LogEvent:
    group: str
    stream: str
    timestamp: int
    message: str


# --- Consumers with keys on the emulator ----------------------------------------------


def seed_consumers() -> list[Credential]:
    """Acme's demo applications, subscribed to the synced REST APIs, approved, and their
    keys put on the emulator now (the outbox's work, done in place). Idempotent."""
    maintainer = User.objects.filter(email=MAINTAINER).first()
    developer = User.objects.filter(email=DEVELOPER).first()
    if maintainer is None or developer is None:
        return []
    for name, team_slug, wanted in CONSUMERS:
        team = Team.objects.filter(organisation__slug=ORGANISATION, slug=team_slug).first()
        if team is None:
            continue
        application = Application.objects.filter(team=team, name=name).first()
        if application is None:
            application = application_create(
                team=team,
                name=name,
                description="Calls Acme's gateway APIs (demo traffic).",
                actor=Actor.for_user(developer),
            )
        for api_name, plan_name in wanted:
            plan = (
                Plan.objects.filter(
                    api__organisation__slug=ORGANISATION, api__name=api_name, name=plan_name
                )
                .select_related("api")
                .first()
            )
            if (
                plan is None
                or Subscription.objects.filter(application=application, api=plan.api).exists()
            ):
                continue
            subscription = subscription_request(
                application=application,
                api=plan.api,
                plan=plan,
                reason="The demo's traffic.",
                actor=Actor.for_user(developer),
            )
            if subscription.state == Subscription.State.PENDING:
                subscription_act(
                    subscription=subscription, action="approve", actor=Actor.for_user(maintainer)
                )
    for operation_id in GatewayOperation.objects.filter(
        organisation__slug=ORGANISATION,
        state=GatewayOperation.State.PENDING,
        subscription__application__name__in=[name for name, _, _ in CONSUMERS],
    ).values_list("pk", flat=True):
        # A failure is recorded on the operation, and the worker retries it later.
        with contextlib.suppress(GatewayError, OperationDeferred):
            provisioning.operation_execute(operation_id)
    return list(
        Credential.objects.filter(
            subscription__provider__slug=ORGANISATION, revoked_at__isnull=True
        ).exclude(gateway_key_id="")
    )


# --- What the logs are about -----------------------------------------------------------


def _routes(shape: RestApiShape | HttpApiShape) -> tuple[Route, ...]:
    if isinstance(shape, RestApiShape):
        return tuple(
            Route(
                "GET" if m.verb == "ANY" else m.verb,
                m.path,
                m.function,
                m.api_key,
            )
            for m in shape.methods
        )
    routes = []
    for route in shape.routes:
        verb, _, path = route.key.partition(" ")
        routes.append(Route("GET" if verb == "ANY" else verb, path or "/", route.function, False))
    return tuple(routes)


def targets() -> list[Target]:
    """The synced demo APIs' production stages, with the keys that may call each."""
    keys_of: dict[int, set[str]] = defaultdict(set)
    for api_id, key_id in (
        Credential.objects.filter(
            subscription__provider__slug=ORGANISATION,
            subscription__state=Subscription.State.APPROVED,
            revoked_at__isnull=True,
        )
        .exclude(gateway_key_id="")
        .values_list("subscription__api_id", "gateway_key_id")
    ):
        keys_of[api_id].add(key_id)
    # Keys made on the gateway itself call every API their usage plans cover.
    plans = {
        (plan.gateway_plan_id): plan.api_id
        for plan in Plan.objects.filter(api__organisation__slug=ORGANISATION).exclude(
            gateway_plan_id=""
        )
    }
    for key in GatewayKey.objects.filter(
        organisation__slug=ORGANISATION, missing_since__isnull=True, enabled=True
    ):
        for plan_id in key.plan_ids:
            if plan_id in plans:
                keys_of[plans[plan_id]].add(key.external_id)
    found = []
    shapes = [(s, False) for s in DEMO_REST_APIS] + [(s, True) for s in DEMO_HTTP_APIS]
    for shape, http in shapes:
        api = Api.objects.filter(
            organisation__slug=ORGANISATION, name=shape.name, missing_since__isnull=True
        ).first()
        if api is None or not api.external_id:
            continue
        stage = "prod" if "prod" in shape.stages else next(iter(shape.stages))
        found.append(
            Target(
                shape.name,
                api.external_id,
                stage,
                http,
                _routes(shape),
                tuple(sorted(keys_of.get(api.pk, ()))),
            )
        )
    return found


# --- Generated traffic -----------------------------------------------------------------

_STATUSES = ((200, 900), (201, 17), (304, 1), (400, 14), (403, 6), (404, 25), (429, 17))
_STATUSES += ((500, 10), (502, 6), (503, 3), (504, 1))
_CODES, _WEIGHTS = zip(*_STATUSES, strict=True)
_AGENTS = ("okhttp/4.12.0", "AcmeMobile/5.2 (iOS 17.5)", "python-requests/2.32.3")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _clf(ms: int) -> str:
    t = time.gmtime(ms // 1000)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def _hourly_share(hour_ms: int) -> float:
    """How busy an hour is: a working day's curve, quieter at weekends."""
    moment = time.gmtime(hour_ms // 1000)
    daily = 0.15 + 0.85 * max(0.0, 1 - abs(moment.tm_hour - 14) / 9)
    return daily * (0.45 if moment.tm_wday >= 5 else 1.0)


def _fill_path(path: str, rng: random.Random) -> str:
    parts = []
    for part in path.split("/"):
        if part.startswith("{"):
            part = str(rng.randrange(1000, 99999)) if "+" not in part else "settings/sync"
        parts.append(part)
    return "/".join(parts)


def traffic(
    found: list[Target], *, start_ms: int, end_ms: int, scale: float = 1.0
) -> list[LogEvent]:
    """The access-log and REPORT lines of the requests in (start_ms, end_ms]."""
    events = []
    for hour_ms in range(start_ms // 3_600_000 * 3_600_000, end_ms, 3_600_000):
        share = _hourly_share(hour_ms)
        for target in found:
            rng = random.Random(f"{SEED}:{target.api_id}:{hour_ms}")  # noqa: S311 - made-up traffic
            count = round(RATES.get(target.name, 20) * share * scale * rng.uniform(0.85, 1.15))
            times = sorted(hour_ms + rng.randrange(3_600_000) for _ in range(count))
            for ms in times:
                if ms > end_ms:
                    break
                requested = _request(target, ms, rng)
                if ms > start_ms:
                    events.extend(requested)
    return events


def _request(target: Target, ms: int, rng: random.Random) -> list[LogEvent]:
    route = rng.choice(target.routes)
    status = rng.choices(_CODES, _WEIGHTS)[0]
    key = ""
    if target.keys and (route.needs_key or rng.random() < 0.5):
        key = rng.choice(target.keys)
    if route.needs_key and not key:
        status = 403
    refused = status in (403, 429)
    latency = 1 + rng.random() * 4 if refused else rng.lognormvariate(3.4, 0.7)
    if status == 504:
        latency = 29_000 + rng.random() * 40
    elif status >= 500:
        latency *= 3
    integration = 0 if refused else max(1, latency - 2 - rng.random() * 5)
    request_id = f"{rng.getrandbits(128):032x}"
    request_id = "-".join(
        (request_id[:8], request_id[8:12], request_id[12:16], request_id[16:20], request_id[20:])
    )
    path = _fill_path(route.path, rng)
    if key:
        ip = f"203.0.113.{zlib.crc32(key.encode()) % 250 + 1}"
    else:
        ip = f"198.51.100.{rng.randrange(1, 255)}"
    size = 0 if status == 304 else int(rng.lognormvariate(6.5, 1.0))
    if target.http:
        record = {
            "requestId": request_id[:20].replace("-", "") + "=",
            "ip": ip,
            "requestTime": _clf(ms),
            "httpMethod": route.method,
            "routeKey": f"{route.method} {route.path}" if route.path != "/" else "$default",
            "path": path,
            "status": str(status),
            "protocol": "HTTP/1.1",
            "responseLength": str(size),
            "responseLatency": str(round(latency)),
            "integrationLatency": str(round(integration)) if integration else "-",
            "apiId": target.api_id,
            "stage": target.stage,
        }
        group = HTTP_GROUP
    else:
        record = {
            "requestId": request_id,
            "extendedRequestId": request_id[:13].replace("-", "") + "Fw=",
            "ip": ip,
            "caller": "-",
            "user": "-",
            "requestTime": _clf(ms),
            "requestTimeEpoch": ms,
            "httpMethod": route.method,
            "resourcePath": route.path,
            "path": f"/{target.stage}{path}",
            "status": str(status),
            "protocol": "HTTP/1.1",
            "responseLength": str(size),
            "responseLatency": str(round(latency)),
            "integrationLatency": str(round(integration)) if integration else "-",
            "apiId": target.api_id,
            "stage": target.stage,
            "apiKeyId": key or "-",
            "userAgent": rng.choice(_AGENTS),
        }
        group = REST_GROUP
    day = time.strftime("%Y/%m/%d", time.gmtime(ms // 1000))
    out = [
        LogEvent(
            group,
            f"{target.api_id}_{target.stage}_{day.replace('/', '-')}",
            ms,
            json.dumps(record, separators=(",", ":")),
        )
    ]
    if route.function and not refused:
        out.append(_report(route.function, ms, integration, rng, day))
    return out


def _report(function: str, ms: int, integration: float, rng: random.Random, day: str) -> LogEvent:
    duration = max(0.5, integration - rng.uniform(0.5, 3))
    cold = rng.random() < 0.02
    line = (
        f"REPORT RequestId: {rng.getrandbits(128):032x}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {int(duration) + 1} ms\tMemory Size: 512 MB\t"
        f"Max Memory Used: {rng.randrange(70, 190)} MB\t"
    )
    if cold:
        line += f"Init Duration: {rng.uniform(180, 420):.2f} ms\t"
    instance = zlib.crc32(f"{function}:{day}".encode())
    return LogEvent(
        f"{LAMBDA_GROUP}{function}",
        f"{day}/[$LATEST]{instance:08x}{instance ^ 0x5F3759DF:08x}",
        ms + round(integration),
        line,
    )


# --- The emulator's CloudWatch Logs -------------------------------------------------------


def logs_client(endpoint_url: str, *, region: str = REGION):
    return boto3.client(
        "logs",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="demo",
        aws_secret_access_key="demo",
        config=Config(retries={"max_attempts": 1}),
    )


def logs_put(client, events: list[LogEvent]) -> int:
    """Put ``events`` into their groups and streams, in PutLogEvents-sized batches of one
    stream each, in time order. Returns the number of calls."""
    by_stream: dict[tuple[str, str], list[LogEvent]] = defaultdict(list)
    for event in events:
        by_stream[(event.group, event.stream)].append(event)
    groups = {group for group, _ in by_stream}
    for group in sorted(groups):
        with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
            client.create_log_group(logGroupName=group)
    calls = 0
    for (group, stream), stream_events in sorted(by_stream.items()):
        with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
            client.create_log_stream(logGroupName=group, logStreamName=stream)
        stream_events.sort(key=lambda e: e.timestamp)
        batch, size = [], 0
        for event in stream_events:
            cost = len(event.message.encode()) + 26  # AWS counts 26 bytes an event
            if batch and (size + cost > MAX_BATCH_BYTES or len(batch) >= MAX_BATCH_EVENTS):
                client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
                calls += 1
                batch, size = [], 0
            batch.append({"timestamp": event.timestamp, "message": event.message})
            size += cost
        if batch:
            client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
            calls += 1
    return calls


# --- Sources and their first import ------------------------------------------------------


def _source(
    organisation: Organisation, connection: GatewayConnection, *, name: str, format: str, group: str
) -> LogSource:
    source = LogSource.objects.filter(organisation=organisation, name=name).first()
    if source is None:
        source, _ = source_create(
            organisation=organisation,
            name=name,
            kind=LogSource.Kind.CLOUDWATCH,
            format=format,
            config={"log_group": group},
            connection=connection,
            interval_minutes=5,
            actor=Actor.system(),
        )
    return source


def seed_log_sources(groups: set[str]) -> list[LogSource]:
    """One CloudWatch source per log group the emulator holds, on the REST connection."""
    organisation = Organisation.objects.filter(slug=ORGANISATION).first()
    connection = GatewayConnection.objects.filter(
        organisation=organisation, name=REST_CONNECTION
    ).first()
    if organisation is None or connection is None:
        return []
    formats = {
        REST_GROUP: ("Acme REST API access logs", LogSource.Format.APIGW_REST_JSON),
        HTTP_GROUP: ("Acme HTTP API access logs", LogSource.Format.APIGW_HTTP_JSON),
    }
    sources = []
    for group in sorted(groups):
        if group in formats:
            name, format = formats[group]
        else:
            name, format = f"Lambda {group[len(LAMBDA_GROUP) :]}", LogSource.Format.LAMBDA_REPORT
        sources.append(_source(organisation, connection, name=name, format=format, group=group))
    return sources


def _read_from(source: LogSource, start_ms: int) -> None:
    """Point the source's cursor at ``start_ms``: the next run reads from there to now
    (a CloudWatch source otherwise starts with the last hour). Nothing else runs at the
    demo's start, so the source is free."""
    LogSource.objects.filter(pk=source.pk).update(
        cursor={"start": start_ms, "end": start_ms, "token": None, "newest": start_ms},
        running_since=None,
    )


def _newest_ms(organisation: Organisation) -> int | None:
    """The time of the newest request the demo's sources hold: an earlier demo's."""
    sources = LogSource.objects.filter(
        organisation=organisation, kind=LogSource.Kind.CLOUDWATCH, config__log_group=REST_GROUP
    ).values_list("pk", flat=True)
    newest = RequestEvent.objects.filter(source_id__in=list(sources)).aggregate(Max("ts"))
    moment = newest["ts__max"]
    return int(moment.timestamp() * 1000) if moment else None


def seed_usage_logs(
    *,
    endpoint_url: str,
    days: int = DAYS,
    scale: float = 1.0,
    now: datetime.datetime | None = None,
    out=None,
) -> list[ImportRun]:
    """Fill the emulator's CloudWatch Logs with Acme's traffic of the last ``days`` days,
    make the log sources and import them. Needs the gateway synced (seed_gateways).

    A demo started again writes only what came after the newest request the last one
    imported (the emulator forgets, the portal does not), so no hour counts twice."""
    organisation = Organisation.objects.filter(slug=ORGANISATION).first()
    if organisation is None:
        return []
    seed_consumers()
    found = targets()
    if not found:
        return []
    end_ms = int((now or datetime.datetime.now(datetime.UTC)).timestamp() * 1000)
    start_ms = (end_ms // 3_600_000 - days * 24) * 3_600_000
    newest = _newest_ms(organisation)
    if newest is not None:
        start_ms = max(start_ms, newest)
    events = traffic(found, start_ms=start_ms, end_ms=end_ms, scale=scale)
    logs_put(logs_client(endpoint_url), events)
    runs = []
    for source in seed_log_sources({event.group for event in events}):
        _read_from(source, start_ms)
        run, _ = source_import(source=source, trigger="manual")
        runs.append(run)
        if out is not None:
            out.write(
                f"  usage: {source.name}: {run.get_status_display()} "
                f"({run.read:,} lines, {run.imported:,} new)\n"
            )
    return runs
