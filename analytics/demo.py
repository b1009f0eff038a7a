"""The demo's usage data: a week of API Gateway access logs and Lambda REPORT lines in
the AWS emulator's CloudWatch Logs, for the APIs Acme's gateway connections synced,
and the CloudWatch log sources that import them through the ordinary import path.

Two of Acme's applications subscribe to the synced REST APIs and get their keys
provisioned on the emulator, so the logs name keys the portal knows (the emulator's
own demo keys call too, as keys made outside the portal do). Traffic is generated an
hour at a time from a seed per hour: a demo started again later writes the same lines
for the hours the two weeks share, and the importer drops them as duplicates.

AI traffic is LiteLLM's standard logging payload, one JSON line a call, in a log group of
its own as a LiteLLM proxy on AWS would write it: Acme's and Globex's applications call
Acme's AI models (apis/demo_models.py) with the keys of their metered subscriptions, so
each line resolves by its key hash to the application and by its model to the API. Once
imported, Acme's teams get monthly AI budgets, one of them past its warning.
"""

import contextlib
import datetime
import json
import math
import random
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import boto3
from botocore.config import Config
from django.db.models import Max, Sum

from apis.demo_gateways import (
    DEMO_HTTP_APIS,
    DEMO_REST_APIS,
    ORGANISATION,
    REGION,
    REST_CONNECTION,
    HttpApiShape,
    RestApiShape,
)
from apis.demo_models import DEMO_MODELS, PROXY_URL
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

from . import selectors as usage
from .dashboards import month_start
from .forms import default_zone
from .models import ImportRun, LogSource, RequestEvent, TeamBudget
from .services.sources import source_create, source_import

DAYS = 7
SEED = 20261126
REST_GROUP = "/aws/apigateway/acme-rest-access"
HTTP_GROUP = "/aws/apigateway/acme-http-access"
LAMBDA_GROUP = "/aws/lambda/"
AI_GROUP = "/ecs/acme-litellm-proxy"
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
# (application, model, calls an hour at the busiest hour, mean prompt and completion
# tokens): who calls Acme's AI models, with the keys of the subscriptions in
# apis/demo_subscriptions.py.
AI_CALLS = (
    ("Checkout web", "gpt-4o-mini", 30, 900, 220),
    ("Checkout web", "embed-small", 40, 350, 0),
    ("Sign-in service", "llama-70b", 20, 2_400, 450),
    ("Account recovery", "llama-70b", 12, 4_000, 700),
    ("Globex storefront", "llama-70b", 10, 1_800, 600),
)
# The team whose month's AI spend the demo puts past its budget's warning, and where.
NEAR_BUDGET_TEAM, NEAR_BUDGET_SHARE = "identity", 0.9
# The other teams' budgets, as a multiple of what they spent this month.
BUDGET_HEADROOM = 4
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


# --- AI traffic: LiteLLM's standard logging payload ---------------------------------------


@dataclass(frozen=True)
class AiCaller:
    """One application calling one of Acme's AI models with its subscription's key."""

    application: str
    model: str
    key_hash: str  # SHA-256 hex of the key, as LiteLLM logs it
    key_alias: str
    rate: int
    prompt_tokens: int
    completion_tokens: int


def ai_callers() -> list[AiCaller]:
    """The AI_CALLS whose application holds a live key to the model."""
    keys = {
        (credential.subscription.application.name, credential.subscription.api.external_id): (
            credential
        )
        for credential in Credential.objects.filter(
            subscription__provider__slug=ORGANISATION,
            subscription__api__kind=Api.Kind.AI,
            subscription__state=Subscription.State.APPROVED,
            revoked_at__isnull=True,
            replaced_at__isnull=True,
        )
        .select_related("subscription__application", "subscription__api")
        .order_by("created_at", "pk")
    }
    callers = []
    for application, model, rate, prompt, completion in AI_CALLS:
        credential = keys.get((application, model))
        if credential is not None:
            callers.append(
                AiCaller(
                    application,
                    model,
                    credential.digest,
                    provisioning.key_name(credential),
                    rate,
                    prompt,
                    completion,
                )
            )
    return callers


_MODELS = {model.name: model for model in DEMO_MODELS}
# (status, weight, error code, error class): most calls succeed; the provider's rate
# limits and outages show as failures without tokens.
_AI_OUTCOMES = (
    ("success", 985, None, None),
    ("failure", 12, "429", "RateLimitError"),
    ("failure", 3, "503", "ServiceUnavailableError"),
)
_AI_WEIGHTS = tuple(outcome[1] for outcome in _AI_OUTCOMES)


def ai_traffic(
    callers: list[AiCaller], *, start_ms: int, end_ms: int, scale: float = 1.0
) -> list[LogEvent]:
    """The LiteLLM log lines of the AI calls that ended in (start_ms, end_ms]."""
    events = []
    for hour_ms in range(start_ms // 3_600_000 * 3_600_000, end_ms, 3_600_000):
        share = _hourly_share(hour_ms)
        for caller in callers:
            rng = random.Random(f"{SEED}:ai:{caller.application}:{caller.model}:{hour_ms}")  # noqa: S311 - made-up traffic
            count = round(caller.rate * share * scale * rng.uniform(0.85, 1.15))
            for ms in sorted(hour_ms + rng.randrange(3_600_000) for _ in range(count)):
                event = _ai_call(caller, ms, rng)
                if start_ms < ms and event.timestamp <= end_ms:
                    events.append(event)
    return events


def _ai_call(caller: AiCaller, ms: int, rng: random.Random) -> LogEvent:
    model = _MODELS[caller.model]
    status, _, error_code, error_class = rng.choices(_AI_OUTCOMES, _AI_WEIGHTS)[0]
    embedding = model.mode == "embedding"
    prompt = completion = 0
    if status == "success":
        prompt = max(1, round(rng.lognormvariate(0, 0.5) * caller.prompt_tokens))
        completion = round(rng.lognormvariate(0, 0.4) * caller.completion_tokens)
        seconds = (
            rng.uniform(0.05, 0.2) if embedding else 0.3 + completion * rng.uniform(0.008, 0.02)
        )
    else:
        seconds = rng.uniform(0.02, 0.4)
    cost = prompt * model.input_cost_per_token + completion * model.output_cost_per_token
    start = ms / 1000
    call_id = f"{rng.getrandbits(128):032x}"
    record = {
        "id": f"{'emb' if embedding else 'chatcmpl'}-{call_id}",
        "call_type": "aembedding" if embedding else "acompletion",
        "status": status,
        "startTime": start,
        "endTime": round(start + seconds, 3),
        "response_time": round(seconds, 3),
        "model": model.model.split("/", 1)[1],
        "model_group": model.name,
        "custom_llm_provider": model.model.split("/", 1)[0],
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "response_cost": round(cost, 8),
        "api_base": PROXY_URL,
        "requester_ip_address": f"10.20.{zlib.crc32(caller.application.encode()) % 250}.7",
        "metadata": {
            "user_api_key_hash": caller.key_hash,
            "user_api_key_alias": caller.key_alias,
            "user_api_key_request_route": "/embeddings" if embedding else "/chat/completions",
        },
        "error_information": (
            {"error_code": error_code, "error_class": error_class} if error_code else None
        ),
    }
    day = time.strftime("%Y-%m-%d", time.gmtime(ms // 1000))
    return LogEvent(
        AI_GROUP,
        f"litellm/proxy/{day}",
        ms + round(seconds * 1000),  # LiteLLM logs a call when it ends
        json.dumps(record, separators=(",", ":")),
    )


def seed_ai_budgets(*, now: datetime.datetime | None = None) -> list[TeamBudget]:
    """Monthly AI budgets of Acme's teams that call AI models, from what they spent this
    month as the AI dashboard counts it: NEAR_BUDGET_TEAM's so the spend stands at 90 % of
    it (past the 80 % warning), the others' with room to spare. Set at every start, so the
    warning shows whichever day of the month the demo starts."""
    organisation = Organisation.objects.filter(slug=ORGANISATION).first()
    if organisation is None:
        return []
    month = month_start(now or datetime.datetime.now(datetime.UTC), default_zone())
    teams = usage.application_team_map(organisation=organisation)
    spent: dict[int, float] = defaultdict(float)
    for application_id, cost in (
        usage.consumer_rollups(organisation=organisation)
        .filter(api_id__in=usage.ai_api_ids(), hour__gte=month)
        .values("application_id")
        .annotate(cost=Sum("cost"))
        .order_by()
        .values_list("application_id", "cost")
    ):
        spent[teams.get(application_id, ("", 0, ""))[1]] += cost or 0.0
    budgets = []
    for team in Team.objects.filter(organisation=organisation, pk__in=list(spent)):
        if team.slug == NEAR_BUDGET_TEAM:
            # Rounded up to the cent, so the share is at most 90 %; at least 80 % once
            # the month's spend passes ten cents.
            limit = max(math.ceil(spent[team.pk] / NEAR_BUDGET_SHARE * 100), 1)
        else:
            limit = max(math.ceil(spent[team.pk] * BUDGET_HEADROOM), 10) * 100
        budget, _ = TeamBudget.objects.update_or_create(
            team=team,
            defaults={
                "organisation": organisation,
                "monthly_limit": Decimal(limit).scaleb(-2),  # cents to 0.00
                "warn_at_percent": 80,
            },
        )
        budgets.append(budget)
    return budgets


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
        AI_GROUP: ("Acme LiteLLM proxy logs", LogSource.Format.LITELLM),
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
    AI calls included, make the log sources, import them and set the teams' AI budgets.
    Needs the gateway synced (seed_gateways).

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
    events += ai_traffic(ai_callers(), start_ms=start_ms, end_ms=end_ms, scale=scale)
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
    for budget in seed_ai_budgets(now=now):
        if out is not None:
            out.write(f"  usage: AI budget of {budget.team.name}: {budget.monthly_limit} a month\n")
    return runs
