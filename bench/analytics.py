"""Usage analytics benchmark: importing API Gateway access logs and reading dashboards.

    python bench/analytics.py [--lines 1000000] [--events 10000000] [--gigabytes 1]
                              [--runs 3] [--quick]
                              [--skip goaccess,streams,memory,dashboard] [--profile]

On a PostgreSQL database of its own (``DATABASE_URL``, default portico_bench_analytics:
created if missing, migrated) it builds one organisation with 50 APIs as a gateway
sync leaves them (Api, ApiVersion and GatewayDeployment rows with gateway ids and
stages) and 500 applications whose keys carry their gateway key ids, so every
generated line resolves. The logs are API Gateway REST access logs in JSON (50 APIs,
500 keys, 7 days; 91.7 % 2xx, 6.2 % 4xx, 2.0 % 5xx; lognormal latencies; the
fields AWS's own example format writes, with requestTimeEpoch). It prints, each
beside a baseline measured in the same run:

* the import of ``--lines`` lines through the upload import (parse, resolve,
  deduplicate, roll up, one transaction a page), events/s, against a plain COPY of
  the same rows, parsed beforehand, into a table without indexes (the ceiling), and
  against GoAccess reading the same lines as a combined log, run after each import
  (target: 50,000 events/s and at least GoAccess's rate);
* the import of the same lines again: lines/s, and not one new row;
* the same requests as two log groups (the APIs split in two, about half the lines
  each) imported at once by two processes running the upload import, one source
  each, as a deployment's workers do: events/s together, against two GoAccess
  processes reading the same two halves at once;
* the 30-day dashboard of one API over ``--events`` events: median server time of
  ``analytics.dashboards.traffic`` against the same figures (calls, errors, p50/p95/
  p99) computed from the raw events with percentile_cont (target: under 50 ms);
* the peak memory of a worker importing a ``--gigabytes`` file, in a child process,
  against the same child's memory before it reads a line (target: under 300 MB).

``--quick`` (100,000 lines, 1,000,000 events, 100 MB) smoke-tests the whole script.
Medians of ``--runs`` runs where a run is cheap; the load average is printed with
each figure, since other work on the machine slows every rate here.
"""

import argparse
import cProfile
import datetime
import gzip
import io
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portico_bench_analytics")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
WORK = Path(os.environ.get("BENCH_ANALYTICS_DIR", "/tmp/portico_bench_analytics"))
os.environ.setdefault("MEDIA_ROOT", str(WORK / "media"))
# A bench import runs to its end in one go, not in budgeted task-sized slices.
os.environ.setdefault("ANALYTICS_TASK_BUDGET_SECONDS", "100000")

from bench._database import create_if_missing

APIS = 50
KEYS = 500
DAYS = 7
SEED = 20261126
ORGANISATION = "bench-analytics"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ROUTES = (
    ("GET", "/orders", "/orders"),
    ("POST", "/orders", "/orders"),
    ("GET", "/orders/{id}", "/orders/{n}"),
    ("DELETE", "/orders/{id}", "/orders/{n}"),
    ("GET", "/customers/{id}", "/customers/{n}"),
    ("PUT", "/customers/{id}", "/customers/{n}"),
    ("GET", "/invoices", "/invoices"),
    ("GET", "/invoices/{id}/lines", "/invoices/{n}/lines"),
)
ROUTE_WEIGHTS = (30, 8, 25, 2, 15, 4, 10, 6)
# 91.7 % 2xx, 0.1 % 3xx, 6.2 % 4xx, 2.0 % 5xx, in thousandths.
STATUSES = ((200, 887), (201, 30), (304, 1), (400, 12), (403, 8), (404, 27), (429, 15))
STATUSES += ((500, 9), (502, 6), (503, 4), (504, 1))
AGENTS = (
    "okhttp/4.12.0",
    "python-requests/2.32.3",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15",
    "axios/1.7.2",
    "Go-http-client/2.0",
)


import django
from django.apps import apps as django_apps

if not django_apps.ready:  # run as a script, not imported by the smoke test
    create_if_missing(os.environ["DATABASE_URL"])
    django.setup()

from django.conf import settings
from django.core.management import call_command
from django.db import connection as db
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics import dashboards, partitions, selectors
from analytics.histogram import percentile as histogram_percentile
from analytics.models import ImportRun, LogSource, LogUpload
from analytics.parsers import PARSERS, LineContext
from analytics.resolve import Resolver
from analytics.services.imports import PageResult, build_rows
from analytics.services.sources import upload_import
from analytics.storage import EVENT_COLUMNS, EVENT_TYPES, INSERT_AND_ROLL_UP
from apis.models import (
    Api,
    ApiVersion,
    Application,
    Credential,
    GatewayConnection,
    GatewayDeployment,
    Plan,
    Subscription,
)
from tenants.actors import Actor
from tenants.models import Organisation, Team, User
from tenants.services.organisations import organisation_create, team_create

# --- The organisation's catalogue, as a sync leaves it ------------------------------


def gateway_api_id(i: int) -> str:
    return f"{(i * 2_654_435_761 + 12345) % 36**10:010x}"[-10:]


def key_id(k: int) -> str:
    return f"{(k * 40_503 + 7) % 36**8:08x}k{k:03d}"


def build_catalogue() -> tuple[Organisation, list[tuple[str, str, list[str]]]]:
    """The organisation, and for each API its gateway id, stage and the key ids calling it
    (each application holds one key, subscribed to one API: ten keys an API)."""
    owner, _ = User.objects.get_or_create(email="bench-analytics@example.com")
    organisation = Organisation.objects.filter(slug=ORGANISATION).first()
    if organisation is None:
        organisation = organisation_create(name="Bench Analytics", slug=ORGANISATION, owner=owner)
    actor = Actor.for_user(owner)
    team = Team.objects.filter(organisation=organisation, slug="platform").first() or team_create(
        organisation=organisation, name="Platform", slug="platform", actor=actor
    )
    endpoints = []
    if Api.objects.filter(organisation=organisation).count() != APIS:
        _create_catalogue(organisation, team)
    apis = list(
        Api.objects.filter(organisation=organisation)
        .order_by("external_id")
        .values_list("pk", "external_id")
    )
    keys_of: dict[int, list[str]] = {pk: [] for pk, _ in apis}
    for api_id, gateway_key in Credential.objects.filter(organisation=organisation).values_list(
        "subscription__api_id", "gateway_key_id"
    ):
        keys_of[api_id].append(gateway_key)
    for pk, external in apis:
        endpoints.append((external, "prod", sorted(keys_of[pk])))
    return organisation, endpoints


@transaction.atomic
def _create_catalogue(organisation: Organisation, team: Team) -> None:
    connection = GatewayConnection.objects.create(
        organisation=organisation,
        team=team,
        name="Bench AWS",
        kind=GatewayConnection.Kind.AWS_REST,
        config={"region": "eu-west-1"},
    )
    apis = Api.objects.bulk_create(
        Api(
            organisation=organisation,
            team=team,
            slug=f"bench-api-{i:02d}",
            name=f"Bench API {i:02d}",
            connection=connection,
            external_id=gateway_api_id(i),
        )
        for i in range(APIS)
    )
    versions = ApiVersion.objects.bulk_create(
        ApiVersion(
            api=api,
            organisation=organisation,
            version="1.0.0",
            state=ApiVersion.State.PUBLISHED,
            openapi_version="3.0",
            spec_hash=f"{api.pk:064x}",
        )
        for api in apis
    )
    for api, version in zip(apis, versions, strict=True):
        api.current_version = version
        api.current_state = version.state
    Api.objects.bulk_update(apis, ["current_version", "current_state"])
    GatewayDeployment.objects.bulk_create(
        GatewayDeployment(
            connection=connection,
            organisation=organisation,
            api=api,
            version=version,
            stage=stage,
        )
        for api, version in zip(apis, versions, strict=True)
        for stage in ("dev", "prod")
    )
    plans = Plan.objects.bulk_create(
        Plan(api=api, organisation=organisation, name="Standard", connection=connection)
        for api in apis
    )
    applications = Application.objects.bulk_create(
        Application(organisation=organisation, team=team, name=f"Bench app {k:03d}")
        for k in range(KEYS)
    )
    subscriptions = Subscription.objects.bulk_create(
        Subscription(
            application=application,
            organisation=organisation,
            api=apis[k % APIS],
            provider=organisation,
            plan=plans[k % APIS],
            state=Subscription.State.APPROVED,
            gateway_state=Subscription.GatewayState.ACTIVE,
        )
        for k, application in enumerate(applications)
    )
    Credential.objects.bulk_create(
        Credential(
            subscription=subscription,
            organisation=organisation,
            lookup_id=f"bench{k:06d}",
            prefix=f"pak_bench{k:06d}",
            digest=f"{k:064x}",
            gateway_key_id=key_id(k),
        )
        for k, subscription in enumerate(subscriptions)
    )


# --- Log lines ------------------------------------------------------------------------

REST_LINE = (
    '{"requestId":"%s","extendedRequestId":"%s","ip":"%s","caller":"-","user":"-",'
    '"requestTime":"%s","requestTimeEpoch":%d,"httpMethod":"%s","resourcePath":"%s",'
    '"path":"/prod%s","status":"%d","protocol":"HTTP/1.1","responseLength":"%d",'
    '"responseLatency":"%d","integrationLatency":"%d","apiId":"%s","stage":"%s",'
    '"apiKeyId":"%s","userAgent":"%s"}\n'
)
COMBINED_LINE = '%s - %s [%s] "%s /prod%s HTTP/1.1" %d %d "-" "%s" %.3f\n'


def clf_time(seconds: int) -> str:
    t = time.gmtime(seconds)
    return (
        f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def traffic(endpoints, count: int, *, end_ms: int, days: int = DAYS, seed: int = SEED):
    """``count`` requests over ``days`` days before ``end_ms``, in time order, as tuples
    (ms, request id, ip, method, route, path, status, bytes, latency, integration,
    api id, stage, key id, agent). APIs are called unevenly (a few busy ones), 3 % of
    requests carry no key; seven keys in ten are servers calling from eight addresses,
    the others mobile apps whose users call from anywhere; traffic follows the day,
    busiest at 14:00 UTC."""
    rng = random.Random(seed)
    span = days * 86_400_000
    start = end_ms - span
    api_weights = [1.0 / (1 + i) ** 0.8 for i in range(len(endpoints))]
    api_of = rng.choices(range(len(endpoints)), api_weights, k=count)
    route_of = rng.choices(range(len(ROUTES)), ROUTE_WEIGHTS, k=count)
    codes, weights = zip(*STATUSES, strict=True)
    status_of = rng.choices(codes, weights, k=count)
    agent_of = rng.choices(AGENTS, k=count)
    # Times: uniform draws bent towards the afternoon, then sorted.
    times = []
    for _ in range(count):
        while True:
            ms = start + int(rng.random() * span)
            hour = (ms // 3_600_000) % 24
            if rng.random() < 0.35 + 0.65 * (1 - abs(hour - 14) / 12):
                break
        times.append(ms)
    times.sort()
    lognorm = rng.lognormvariate
    ips: dict[str, list[str]] = {}

    def ips_of(key: str) -> list[str]:
        # A server-side application calls from a few addresses of its own.
        found = ips.get(key)
        if found is None:
            base = random.Random(key).getrandbits(24)
            found = ips[key] = [
                f"{(base >> 16) % 200 + 3}.{(base >> 8) % 256}.{base % 256}.{n * 17 + 10}"
                for n in range(8)
            ]
        return found

    for i in range(count):
        api, stage, keys = endpoints[api_of[i]]
        method, route, path = ROUTES[route_of[i]]
        status = status_of[i]
        latency = lognorm(3.6, 0.75)  # median 37 ms
        if status == 504:
            latency = 29_000 + rng.random() * 50
        elif status >= 500:
            latency *= 2.5
        elif status in (403, 429):
            latency = 1 + rng.random() * 4  # refused before the integration
        latency = max(1, int(latency))
        integration = max(0, latency - 3 - int(rng.random() * 6)) if status not in (403, 429) else 0
        bits = rng.getrandbits(128)
        rid = f"{bits:032x}"
        key = "-" if not keys or rng.random() < 0.03 else keys[rng.randrange(len(keys))]
        if key != "-" and zlib.crc32(key.encode()) % 10 < 7:
            ip = ips_of(key)[bits % 8]  # a server calling
        else:  # a mobile app's users, or a caller without a key: anyone
            ip = f"{(bits >> 8) % 223 + 1}.{bits % 256}.{(bits >> 16) % 256}.{bits % 254 + 1}"
        yield (
            times[i],
            f"{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:]}",
            ip,
            method,
            route,
            path.replace("{n}", str(bits % 100_000)),
            status,
            0 if status == 204 else int(rng.lognormvariate(7, 1.2)),
            latency,
            integration,
            api,
            stage,
            key,
            agent_of[i],
        )


def rest_lines(endpoints, count: int, *, end_ms: int, seed: int = SEED):
    """``count`` REST JSON access-log lines, as (gateway API id, line)."""
    clf_cache: dict[int, str] = {}
    for (
        ms,
        rid,
        ip,
        method,
        route,
        rpath,
        status,
        size,
        latency,
        integ,
        api,
        stage,
        key,
        agent,
    ) in traffic(endpoints, count, end_ms=end_ms, seed=seed):
        second = ms // 1000
        when = clf_cache.get(second)
        if when is None:
            if len(clf_cache) > 4096:
                clf_cache.clear()
            when = clf_cache[second] = clf_time(second)
        yield api, (
            REST_LINE
            % (rid, rid[:8] + "Xy7=", ip, when, ms, method, route, rpath, status, size,
               latency, integ, api, stage, key, agent)
        )  # fmt: skip


def combined_lines(endpoints, count: int, *, end_ms: int):
    """The same requests as nginx combined log lines with the request time appended, as
    (gateway API id, line)."""
    for ms, _, ip, method, _, rpath, status, size, latency, _, api, _, key, agent in traffic(
        endpoints, count, end_ms=end_ms
    ):
        yield (
            api,
            (
                COMBINED_LINE
                % (
                    ip,
                    key,
                    clf_time(ms // 1000),
                    method,
                    rpath,
                    status,
                    size,
                    agent,
                    latency / 1000,
                )
            ),
        )


def write_lines(paths: list[Path], lines, file_of=None) -> list[int]:
    """Write (API id, line) pairs to ``paths`` (gzip where a name ends .gz), each line
    to ``paths[file_of[api]]`` (all to the first without ``file_of``); returns sizes."""
    outs = [(gzip.open if path.suffix == ".gz" else open)(path, "wt", encoding="ascii")
            for path in paths]  # fmt: skip
    buffers: list[list[str]] = [[] for _ in paths]
    try:
        for api, line in lines:
            index = file_of[api] if file_of else 0
            buffer = buffers[index]
            buffer.append(line)
            if len(buffer) >= 10_000:
                outs[index].write("".join(buffer))
                buffer.clear()
        for out, buffer in zip(outs, buffers, strict=True):
            out.write("".join(buffer))
    finally:
        for out in outs:
            out.close()
    return [path.stat().st_size for path in paths]


def write_rest_log(path: Path, endpoints, count: int, *, end_ms: int, seed: int = SEED) -> int:
    """Write ``count`` REST JSON access-log lines (gzip if the name ends .gz); returns bytes."""
    return write_lines([path], rest_lines(endpoints, count, end_ms=end_ms, seed=seed))[0]


def write_combined_log(path: Path, endpoints, count: int, *, end_ms: int) -> None:
    """The same requests as an nginx combined log with the request time appended."""
    write_lines([path], combined_lines(endpoints, count, end_ms=end_ms))


def two_log_groups(endpoints) -> dict[str, int]:
    """API id -> 0 or 1: the APIs shared between two log groups (API Gateway writes one
    per API stage) so that each gets about half the requests (the APIs' weights in
    ``traffic``, the busiest first, each to the lighter group)."""
    weights = [1.0 / (1 + i) ** 0.8 for i in range(len(endpoints))]
    totals = [0.0, 0.0]
    group_of = {}
    for i in sorted(range(len(endpoints)), key=lambda i: -weights[i]):
        group = 0 if totals[0] <= totals[1] else 1
        group_of[endpoints[i][0]] = group
        totals[group] += weights[i]
    return group_of


# --- Running imports ------------------------------------------------------------------


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def empty_analytics() -> None:
    with db.cursor() as cursor:
        cursor.execute(
            "TRUNCATE analytics_requestevent, analytics_functioninvocation, "
            "analytics_usagerollup, analytics_routerollup, analytics_importrun, "
            "analytics_logupload"
        )


def upload_source(organisation: Organisation) -> LogSource:
    source, _ = LogSource.objects.get_or_create(
        organisation=organisation,
        name="bench uploads",
        defaults={"kind": LogSource.Kind.UPLOAD, "format": LogSource.Format.APIGW_REST_JSON},
    )
    LogSource.objects.filter(pk=source.pk).update(running_since=None)
    return source


def upload_of(source: LogSource, path: Path) -> LogUpload:
    """An upload row for a file already in place (under MEDIA_ROOT), from its first line."""
    media = Path(settings.MEDIA_ROOT)
    return LogUpload.objects.create(
        source=source,
        organisation=source.organisation,
        file=str(path.relative_to(media)),
        name=path.name,
        size_bytes=path.stat().st_size,
    )


def backend_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend, when it runs on this machine."""
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_import(source: LogSource, path: Path) -> tuple[float, float, float | None, ImportRun]:
    """(wall seconds, this process's CPU seconds, its database backend's CPU seconds, run)
    of one upload import."""
    upload = upload_of(source, path)
    backend = backend_cpu()
    cpu, started = time.process_time(), time.perf_counter()
    run, more = upload_import(upload=upload)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = backend_cpu()
    assert run is not None, "the upload was not imported"
    assert run.status == ImportRun.Status.SUCCEEDED, (run.status, run.error)
    assert not more, "the import stopped before the end of the file"
    return wall, cpu, (after - backend if backend is not None else None), run


def event_count() -> int:
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_requestevent")
        return cursor.fetchone()[0]


def copy_ceiling(organisation: Organisation, source: LogSource, path: Path) -> float:
    """Seconds to COPY the file's rows, parsed and resolved beforehand, into a table of
    the same columns without a key or index: what PostgreSQL takes to receive them."""
    resolver = Resolver(source)
    with open(path, "rb") as stream:
        lines = [(line.rstrip(b"\n"), LineContext()) for line in stream]
    rows, _ = build_rows(source, lines, PARSERS["apigw_rest_json"], resolver, PageResult())
    del lines
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_ceiling")
        cursor.execute(
            "CREATE TABLE bench_copy_ceiling AS SELECT * FROM analytics_requestevent LIMIT 0"
        )
        started = time.perf_counter()
        with transaction.atomic():
            raw = cursor.cursor
            with raw.copy(
                f"COPY bench_copy_ceiling ({', '.join(EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(EVENT_TYPES)
                for row in rows:
                    copy.write_row(row)
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy_ceiling")
    return seconds


GOACCESS_FORMAT = '%h %^ %e [%d:%t %^] "%r" %s %b "%R" "%u" %T'


def goaccess(*paths: Path) -> tuple[float, float, float] | str:
    """(seconds, CPU seconds, peak resident MB) of GoAccess over the combined logs, one
    process a log, all at once (seconds until the last ends, CPU summed, the largest
    peak), or why not."""
    binary = shutil.which("goaccess")
    if binary is None:
        return (
            "GoAccess is not installed (Debian: apt-get install goaccess); "
            "its comparison is skipped"
        )
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [
                binary,
                str(path),
                "--no-global-config",
                "-o",
                str(path.with_suffix(".json")),
                f"--log-format={GOACCESS_FORMAT}",
                "--date-format=%d/%b/%Y",
                "--time-format=%H:%M:%S",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        for path in paths
    ]
    cpu, peak, failures = 0.0, 0.0, []
    for process in processes:
        _, status, usage = os.wait4(process.pid, 0)
        cpu += usage.ru_utime + usage.ru_stime
        peak = max(peak, usage.ru_maxrss / 1024)
        if os.waitstatus_to_exitcode(status) != 0:
            failures.append(process.stderr.read().decode(errors="replace")[:300])
        process.stderr.close()
    seconds = time.perf_counter() - started
    for path in paths:
        path.with_suffix(".json").unlink(missing_ok=True)
    if failures:
        return f"GoAccess failed: {failures[0]}"
    return seconds, cpu, peak


# --- Dashboards ---------------------------------------------------------------------

# One day of generated events a statement: random (api, key) pairs as the logs have
# them, statuses in the same mix, lognormal latencies by Box-Muller.
GENERATE_DAY = """
INSERT INTO analytics_stage_requests ({columns})
SELECT ts, %(source)s, 'g' || (%(day)s * 10000000 + n)::text, %(organisation)s,
       e.api_id, e.version_id, e.application_id, e.credential_id, 'GET', '/orders/{{id}}',
       CASE WHEN r < 0.917 THEN 200 WHEN r < 0.918 THEN 304 WHEN r < 0.980 THEN 404
            WHEN r < 0.996 THEN 500 ELSE 503 END,
       latency, greatest(latency - 4, 0), (exp(7 + 1.2 * z2))::bigint, '', NULL, NULL, NULL,
       '198.51.100.7', 'prod'
FROM (
    SELECT n, %(start)s::timestamptz + (random() * 86400) * interval '1 second' AS ts,
           random() AS r, floor(random() * %(endpoints)s)::int AS pick,
           round(exp(3.6 + 0.75 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
                 ::numeric, 1)::float8 AS latency,
           sqrt(-2 * ln(1 - random())) * sin(2 * pi() * random()) AS z2
    FROM generate_series(1, %(count)s) AS n
) g JOIN bench_endpoints e ON e.pick = g.pick
"""


def fill_events(organisation: Organisation, source: LogSource, total: int, days: int = 30):
    """``total`` events over the last ``days`` days, stored and rolled up a day at a time
    through the importer's own SQL (analytics.storage)."""
    apis = list(
        Api.objects.filter(organisation=organisation).values_list("pk", "current_version_id")
    )
    keys = list(
        Credential.objects.filter(organisation=organisation).values_list(
            "subscription__api_id", "subscription__application_id", "pk"
        )
    )
    now = timezone.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_endpoints")
        cursor.execute(
            "CREATE TABLE bench_endpoints (pick int, api_id bigint, version_id bigint, "
            "application_id bigint, credential_id bigint)"
        )
        versions = dict(apis)
        cursor.executemany(
            "INSERT INTO bench_endpoints VALUES (%s, %s, %s, %s, %s)",
            [(i, api, versions[api], app, cred) for i, (api, app, cred) in enumerate(keys)],
        )
    months = {partitions.month_start(today - datetime.timedelta(days=d)) for d in range(days + 1)}
    partitions.ensure(months)
    per_day = total // days
    for day in range(days):
        start = today - datetime.timedelta(days=days - day)
        with transaction.atomic(), db.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS analytics_stage_requests "
                "(LIKE analytics_requestevent INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            cursor.execute("TRUNCATE analytics_stage_requests")
            cursor.execute(
                GENERATE_DAY.format(columns=", ".join(EVENT_COLUMNS)),
                {
                    "source": source.pk,
                    "day": day,
                    "organisation": organisation.pk,
                    "start": start,
                    "endpoints": len(keys),
                    "count": per_day if day < days - 1 else total - per_day * (days - 1),
                },
            )
            cursor.execute(INSERT_AND_ROLL_UP)
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE bench_endpoints")
        cursor.execute("ANALYZE analytics_requestevent")
        cursor.execute("ANALYZE analytics_usagerollup")


RAW_DAILY = """
SELECT date_trunc('day', ts AT TIME ZONE 'UTC') AS day, count(*),
       count(*) FILTER (WHERE status BETWEEN 400 AND 499),
       count(*) FILTER (WHERE status >= 500),
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms)
FROM analytics_requestevent
WHERE organisation_id = %s AND api_id = %s AND ts >= %s AND ts < %s
GROUP BY 1 ORDER BY 1
"""
RAW_TOTAL = """
SELECT count(*), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms)
FROM analytics_requestevent
WHERE organisation_id = %s AND api_id = %s AND ts >= %s AND ts < %s
"""


def dashboard(organisation: Organisation, api: Api, runs: int) -> dict:
    owner = User.objects.get(email="bench-analytics@example.com")
    tz = datetime.UTC
    timings, raw_timings = [], []
    data = None
    for _ in range(runs):
        started = time.perf_counter()
        window = dashboards.window_for("30d", now=timezone.now(), tz=tz)
        visible = selectors.provider_api_get(organisation=organisation, user=owner, slug=api.slug)
        rollups = selectors.provider_rollups(organisation=organisation, api_ids=[visible.pk])
        data = dashboards.traffic(rollups, window)
        timings.append(time.perf_counter() - started)
    window = data.window
    # The page as a browser gets it: the same traffic plus the top applications, routes,
    # status codes and versions, rendered; and the htmx body the range picker swaps in.
    client = Client()
    client.force_login(owner)
    url = reverse("analytics:api", kwargs={"org": organisation.slug, "api": api.slug})
    page_timings, body_timings = [], []
    for timings_of, headers in (
        (page_timings, {}),
        (body_timings, {"HX-Request": "true", "HX-Target": "usage-body"}),
    ):
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url, {"range": "30d", "tz": "UTC"}, headers=headers)
            timings_of.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
    raw = None
    for _ in range(max(1, runs // 5)):
        started = time.perf_counter()
        with db.cursor() as cursor:
            cursor.execute(RAW_DAILY, [organisation.pk, api.pk, window.start, window.end])
            daily = cursor.fetchall()
            cursor.execute(RAW_TOTAL, [organisation.pk, api.pk, window.start, window.end])
            raw = cursor.fetchone()
        raw_timings.append(time.perf_counter() - started)
    errors = []
    by_day = {row[0].date(): row for row in daily}
    for point in data.points:
        row = by_day.get(point.start.date())
        if row is None or not row[1]:
            continue
        assert (point.calls, point.c4xx, point.c5xx) == tuple(row[1:4]), (point, row)
        errors.append([abs(histogram_percentile(point.hist, q) / exact - 1)
                       for q, exact in zip((0.5, 0.95, 0.99), row[4], strict=True)])  # fmt: skip
    assert data.total.calls == raw[0]
    total = data.total
    return {
        "median_ms": statistics.median(timings) * 1000,
        "page_ms": statistics.median(page_timings) * 1000,
        "body_ms": statistics.median(body_timings) * 1000,
        "raw_ms": statistics.median(raw_timings) * 1000,
        "calls": total.calls,
        "days": len(data.points),
        "rollup": (total.p50, total.p95, total.p99),
        "exact": tuple(raw[1]),
        "day_error": [statistics.median(e[i] for e in errors) * 100 for i in range(3)]
        if errors
        else [],
    }


# --- Memory of a worker ---------------------------------------------------------------


def vm_hwm_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def child_import(upload_id: int) -> None:
    """Run in a child process: import one upload, print its peak memory, its times and
    its counts as JSON."""
    upload = LogUpload.objects.select_related("source__organisation").get(pk=upload_id)
    # Everything a worker has loaded before its first page: the baseline.
    Resolver(upload.source)
    before = vm_hwm_kb()
    backend = backend_cpu()
    cpu, started, wall_clock = time.process_time(), time.perf_counter(), time.time()
    run, _ = upload_import(upload=upload)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = backend_cpu()
    print(
        json.dumps(
            {
                "before_kb": before,
                "peak_kb": vm_hwm_kb(),
                "seconds": seconds,
                "started": wall_clock,
                "finished": wall_clock + seconds,
                "cpu": cpu,
                "backend_cpu": after - backend if backend is not None else None,
                "read": run.read,
                "imported": run.imported,
                "status": run.status,
            }
        )
    )


# --- Main ---------------------------------------------------------------------------


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f}/s"


def print_goaccess(results: list[tuple[float, float, float]], lines: int, wall: float) -> None:
    seconds = statistics.median(r[0] for r in results)
    busy = statistics.median(r[1] for r in results)
    peak = max(r[2] for r in results)
    print(
        f"  goaccess:  {rate(lines, seconds)} lines  median of {len(results)} "
        f"({', '.join(f'{r[0]:.1f}' for r in results)} s); {rate(lines, busy).strip()} a CPU "
        f"second; in memory, nothing kept, {peak:,.0f} MB resident; Portico at "
        f"{seconds / wall:.2f}× its rate"
    )


def two_streams(organisation, endpoints, options, *, end_ms: int, media: Path, skip: set) -> None:
    """The same requests as two log groups (APIs split in two, about half the requests
    each), imported at once by two processes running the upload import, one a source;
    GoAccess after each run, two processes on the same two halves at once."""
    count = options.lines
    group_of = two_log_groups(endpoints)
    paths = [media / f"stream-{n}-{count}.log" for n in (1, 2)]
    write_lines(paths, rest_lines(endpoints, count, end_ms=end_ms), group_of)
    combined = [media / f"stream-{n}-{count}.combined.log" for n in (1, 2)]
    if "goaccess" not in skip:
        write_lines(combined, combined_lines(endpoints, count, end_ms=end_ms), group_of)
    sources = [
        LogSource.objects.get_or_create(
            organisation=organisation,
            name=f"bench log group {n}",
            defaults={"kind": LogSource.Kind.UPLOAD, "format": LogSource.Format.APIGW_REST_JSON},
        )[0]
        for n in (1, 2)
    ]
    LogSource.objects.filter(pk__in=[s.pk for s in sources]).update(running_since=None)
    walls, cpus, theirs = [], [], []
    for number in range(options.runs):
        empty_analytics()
        uploads = [upload_of(source, path) for source, path in zip(sources, paths, strict=True)]
        children = [
            subprocess.Popen(
                [sys.executable, __file__, "--child-import", str(upload.pk)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for upload in uploads
        ]
        reports = []
        for child in children:
            out, _ = child.communicate()
            assert child.returncode == 0, "an import process failed"
            reports.append(json.loads(out.strip().splitlines()[-1]))
        assert sum(r["imported"] for r in reports) == count, reports
        assert event_count() == count
        wall = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
        walls.append(wall)
        cpus.append(sum(r["cpu"] + (r["backend_cpu"] or 0.0) for r in reports))
        each = ", ".join(f"{r['imported']:,} in {r['seconds']:.1f} s" for r in reports)
        print(f"  two streams run {number + 1}: {wall:.1f} s ({each}); {load()}")
        if "goaccess" not in skip:
            theirs.append(goaccess(*combined))
            if isinstance(theirs[-1], str):
                print(f"  goaccess:  {theirs.pop()}")
                skip.add("goaccess")
            else:
                print(f"  goaccess ×2 run {number + 1}: {theirs[-1][0]:.1f} s; {load()}")
    wall = statistics.median(walls)
    print(
        f"two streams: {rate(count, wall)} events  two processes, a log group each "
        f"({', '.join(f'{w:.1f}' for w in walls)} s); "
        f"{rate(count, statistics.median(cpus)).strip()} a CPU second"
    )
    if theirs:
        print_goaccess(theirs, count, wall)
    for path in (*paths, *combined):
        path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100k lines, 1M events, 100 MB")
    parser.add_argument(
        "--skip", default="", help="comma-separated: goaccess,streams,memory,dashboard"
    )
    parser.add_argument("--profile", action="store_true", help="profile one import")
    parser.add_argument("--child-import", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child_import:
        child_import(options.child_import)
        return
    if options.quick:
        options.lines, options.events, options.gigabytes = 100_000, 1_000_000, 0.1
    skip = set(filter(None, options.skip.split(",")))

    print(f"Portico analytics benchmark; {load()}")
    call_command("migrate", verbosity=0)
    organisation, endpoints = build_catalogue()
    source = upload_source(organisation)
    media = Path(os.environ["MEDIA_ROOT"]) / "bench"
    media.mkdir(parents=True, exist_ok=True)
    end_ms = int(time.time() * 1000) - 3_600_000

    lines_path = media / f"rest-{options.lines}.log"
    started = time.perf_counter()
    size = write_rest_log(lines_path, endpoints, options.lines, end_ms=end_ms)
    print(
        f"generated {options.lines:,} REST JSON lines ({size / options.lines:.0f} bytes a line) "
        f"in {time.perf_counter() - started:.1f} s"
    )

    combined = media / f"combined-{options.lines}.log"
    if "goaccess" not in skip:
        write_combined_log(combined, endpoints, options.lines, end_ms=end_ms)

    # Import, fresh tables each run; GoAccess after each, so both see the same load.
    walls, cpus, theirs = [], [], []
    for number in range(options.runs):
        empty_analytics()
        wall, cpu, backend, run = timed_import(source, lines_path)
        assert run.imported == options.lines, (run.imported, run.rejected, run.samples[:2])
        walls.append(wall)
        cpus.append(cpu + (backend or 0.0))
        database = f", {backend:.1f} s in PostgreSQL" if backend is not None else ""
        print(f"  import run {number + 1}: {wall:.1f} s ({cpu:.1f} s CPU here{database}); {load()}")
        if "goaccess" not in skip:
            theirs.append(goaccess(combined))
            if isinstance(theirs[-1], str):
                print(f"  goaccess:  {theirs.pop()}")
                skip.add("goaccess")
            else:
                print(f"  goaccess run {number + 1}: {theirs[-1][0]:.1f} s; {load()}")
    wall = statistics.median(walls)
    cpu = statistics.median(cpus)
    print(
        f"import:      {rate(options.lines, wall)} events  median of {len(walls)} "
        f"({', '.join(f'{w:.1f}' for w in walls)} s); {rate(options.lines, cpu).strip()} "
        "a CPU second (Python and PostgreSQL)"
    )
    if theirs:
        print_goaccess(theirs, options.lines, wall)
    combined.unlink(missing_ok=True)

    ceiling = copy_ceiling(organisation, source, lines_path)
    print(f"  ceiling:   {rate(options.lines, ceiling)} rows   plain COPY of the parsed rows")

    # Re-import: every line a duplicate.
    stored = event_count()
    rewalls = []
    for _ in range(options.runs):
        rewall, _, _, run = timed_import(source, lines_path)
        assert (run.imported, run.duplicates) == (0, options.lines), run
        rewalls.append(rewall)
    assert event_count() == stored, "the re-import added rows"
    print(
        f"re-import:   {rate(options.lines, statistics.median(rewalls))} lines   "
        f"0 new rows, median of {len(rewalls)}; {load()}"
    )

    if "streams" not in skip:
        two_streams(organisation, endpoints, options, end_ms=end_ms, media=media, skip=skip)

    if options.profile:
        empty_analytics()
        profile = cProfile.Profile()
        profile.enable()
        timed_import(source, lines_path)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
    lines_path.unlink(missing_ok=True)

    if "memory" not in skip:
        empty_analytics()
        big = media / "big.log"
        count = int(options.gigabytes * 1e9 / (size / options.lines))
        started = time.perf_counter()
        big_size = write_rest_log(big, endpoints, count, end_ms=end_ms, seed=SEED + 1)
        print(
            f"generated {big_size / 1e9:.2f} GB ({count:,} lines) in "
            f"{time.perf_counter() - started:.0f} s"
        )
        upload = upload_of(source, big)
        child = subprocess.run(
            [sys.executable, __file__, "--child-import", str(upload.pk)],
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(child.stdout.strip().splitlines()[-1])
        assert report["imported"] == count, report
        print(
            f"memory:      {report['peak_kb'] / 1024:>10,.0f} MB peak  importing "
            f"{big_size / 1e9:.2f} GB in a child ({report['seconds']:.0f} s, "
            f"{rate(count, report['seconds']).strip()}); the same child before its first "
            f"line: {report['before_kb'] / 1024:,.0f} MB; {load()}"
        )
        big.unlink(missing_ok=True)

    if "dashboard" not in skip:
        empty_analytics()
        started = time.perf_counter()
        print(f"storing {options.events:,} events over 30 days…")
        fill_events(organisation, source, options.events)
        print(f"  stored in {time.perf_counter() - started:.0f} s")
        api = Api.objects.filter(organisation=organisation).order_by("external_id").first()
        result = dashboard(organisation, api, runs=max(5, options.runs * 5))
        p = ", ".join(f"{v:.1f}" for v in result["rollup"])
        exact = ", ".join(f"{v:.1f}" for v in result["exact"])
        errors = ", ".join(f"{v:.1f} %" for v in result["day_error"])
        print(
            f"dashboard:   {result['median_ms']:>10.1f} ms  one API, 30 days, daily "
            f"({result['calls']:,} of {options.events:,} events); {load()}\n"
            f"  page:      {result['page_ms']:>10.1f} ms  the whole per-API page, rendered "
            f"(top applications, routes, statuses, versions); its htmx body: "
            f"{result['body_ms']:.1f} ms\n"
            f"  raw:       {result['raw_ms']:>10.1f} ms  the same from raw events "
            f"(percentile_cont)\n"
            f"  p50/p95/p99 over the 30 days: {p} ms from histograms, {exact} ms exact; "
            f"median error of a day's p50/p95/p99: {errors}"
        )


if __name__ == "__main__":
    main()
