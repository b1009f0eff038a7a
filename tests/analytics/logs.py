"""Log lines and table snapshots for the import tests: API Gateway REST access-log
JSON lines and Lambda REPORT lines, generated from a seed, and what the tables hold
after an import, in a form two imports can be compared by."""

import datetime
import json
import random
import time

from django.db import connection

from analytics.histogram import COLUMNS
from analytics.models import LogSource, RouteRollup, UsageRollup
from analytics.services.sources import source_create
from tenants.actors import Actor

STATUSES = [200] * 90 + [201] * 3 + [404] * 4 + [429] * 1 + [500] * 1 + [503] * 1
ROUTES = ["/pets", "/pets/{id}", "/orders", "/orders/{id}/items"]


def now_ms() -> int:
    return int(time.time() * 1000)


def rest_line(
    request_id: str,
    ts_ms: int,
    *,
    status: int = 200,
    latency: float = 42.0,
    route: str = "/pets",
    method: str = "GET",
    api_id: str = "a1b2c3",
    stage: str = "prod",
    key_id: str = "",
    length: int = 512,
) -> bytes:
    return json.dumps(
        {
            "requestId": request_id,
            "requestTimeEpoch": ts_ms,
            "httpMethod": method,
            "resourcePath": route,
            "path": route.replace("{id}", "7"),
            "status": status,
            "responseLatency": latency,
            "integrationLatency": round(latency * 0.8, 3),
            "responseLength": length,
            "apiId": api_id,
            "stage": stage,
            "ip": "203.0.113.9",
            "identity": {"apiKeyId": key_id} if key_id else {},
        },
        separators=(",", ":"),
    ).encode()


def report_line(request_id: str, *, duration: float = 2.5, cold: bool = False) -> bytes:
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {int(duration) + 1} ms\tMemory Size: 128 MB\tMax Memory Used: 65 MB\t"
    )
    if cold:
        line += "Init Duration: 163.07 ms\t"
    return line.encode()


def corpus(count: int, *, seed: int = 1, start_ms: int | None = None, span_ms: int = 3_600_000):
    """``count`` REST access-log lines with unique request ids over ``span_ms``, in time
    order, statuses and lognormal latencies as a busy API has them."""
    generator = random.Random(seed)
    start = (now_ms() - 2 * span_ms) if start_ms is None else start_ms
    times = sorted(start + generator.randrange(span_ms) for _ in range(count))
    return [
        rest_line(
            f"req-{seed}-{index:07d}",
            ts,
            status=generator.choice(STATUSES),
            latency=round(generator.lognormvariate(3.5, 0.9), 3),
            route=generator.choice(ROUTES),
            method=generator.choice(["GET", "GET", "POST"]),
            length=generator.randrange(100, 5000),
        )
        for index, ts in enumerate(times)
    ]


def make_source(organisation, *, name="logs", kind="upload", format="apigw_rest_json", **fields):
    source, token = source_create(
        organisation=organisation,
        name=name,
        kind=kind,
        format=format,
        actor=Actor.system(),
        **fields,
    )
    source.token = token
    return source


def events(source_id: int) -> list[tuple]:
    """Every stored event of a source, all columns, in key order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM analytics_requestevent WHERE source_id = %s "
            "ORDER BY ts, source_id, event_id",
            [source_id],
        )
        return cursor.fetchall()


def invocations(source_id: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM analytics_functioninvocation WHERE source_id = %s "
            "ORDER BY ts, source_id, request_id",
            [source_id],
        )
        return cursor.fetchall()


def rollups(organisation_id: int) -> tuple[list, list]:
    usage = sorted(
        UsageRollup.objects.filter(organisation_id=organisation_id).values_list(
            "hour",
            "api_id",
            "api_version_id",
            "application_id",
            "calls",
            "c4xx",
            "c5xx",
            "bytes",
            "tokens_in",
            "tokens_out",
            *COLUMNS,
        )
    )
    # Sums of floats depend on the order they were added in: compared rounded.
    latency = sorted(
        (key, round(total, 6))
        for *key, total in UsageRollup.objects.filter(organisation_id=organisation_id).values_list(
            "hour", "api_id", "api_version_id", "application_id", "latency_sum"
        )
    )
    routes = sorted(
        RouteRollup.objects.filter(organisation_id=organisation_id).values_list(
            "hour", "api_id", "api_version_id", "method", "route", "status", "calls"
        )
    )
    return usage + latency, routes


def snapshot(source: LogSource) -> tuple:
    return events(source.pk), invocations(source.pk), rollups(source.organisation_id)


def hour_of(ts_ms: int) -> datetime.datetime:
    moment = datetime.datetime.fromtimestamp(ts_ms / 1000, tz=datetime.UTC)
    return moment.replace(minute=0, second=0, microsecond=0)
