"""Catalogue benchmark: search latency and the list page's cost over 10,000 APIs.

    python bench/catalogue.py   # DATABASE_URL: default portico_bench, created if missing

Builds (once; reused while the row counts match) 10,000 APIs of about 50
operations each in a PostgreSQL database of its own, then prints:

* search latency: median and p95 over 200 varied queries, server time (the
  selector's query for one page plus its count), and the same through the
  whole catalogue view;
* the catalogue list page's query count for 10 and 100 rows a page;
* the list page's median render time, with the plain "all APIs" query as the
  baseline measured in the same run.
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portico_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench._database import create_if_missing

create_if_missing(os.environ["DATABASE_URL"])

import django

django.setup()

from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apis import selectors
from apis.models import Api, ApiVersion, Operation, SpecDocument, Tag
from apis.search import search_refresh_many
from tenants.models import Membership, Organisation, Team, TeamMembership, User

APIS = 10_000
OPERATIONS = 50
QUERIES = 200
RANDOM = random.Random(20261126)

NOUNS = (
    "payment invoice customer order shipment refund ledger account transfer card wallet "
    "subscription plan price product catalog inventory warehouse carrier parcel label "
    "user session token role group permission audit event webhook notification message "
    "template email sms device sensor reading forecast station route trip driver vehicle "
    "booking room guest review rating claim policy quote premium loan mortgage statement "
    "report dashboard metric alert incident ticket comment attachment document signature "
    "contract tenant lease property listing search index recommendation model dataset"
).split()
VERBS = "list create get update delete cancel capture approve reject export import search".split()
# Path shapes under each resource: 8 resources × 7 shapes cover 50 operations.
SHAPES = [
    "",
    "/{{{r}_id}}",
    "/{{{r}_id}}/{s}s",
    "/{{{r}_id}}/{s}s/{{{s}_id}}",
    "/search",
    "/{{{r}_id}}/history",
    "/bulk",
]
TAGS = "payments identity logistics insurance travel retail analytics messaging iot ai".split()


def ensure_database(*, rebuild: bool) -> None:
    call_command("migrate", verbosity=0)
    if Api.objects.count() == APIS and not rebuild:
        return
    print(f"building {APIS:,} APIs × {OPERATIONS} operations (once)…", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE apis_operation, apis_specdocument, apis_lifecycletransition, "
            "apis_apiversion, apis_api_tags, apis_api, apis_tag CASCADE"
        )
    organisation, _ = Organisation.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    user, _ = User.objects.get_or_create(email="bench@example.com")
    Membership.objects.get_or_create(
        organisation=organisation, user=user, defaults={"role": "member"}
    )
    teams = [
        Team.objects.get_or_create(
            organisation=organisation, slug=f"team-{i}", defaults={"name": f"Team {i}"}
        )[0]
        for i in range(20)
    ]
    TeamMembership.objects.get_or_create(
        organisation=organisation, team=teams[0], user=user, defaults={"role": "developer"}
    )
    tags = {name: Tag.objects.get_or_create(name=name)[0] for name in TAGS}
    visibilities = ["organisation", "public", "team"]
    for start in range(0, APIS, 1000):
        apis = []
        for i in range(start, start + 1000):
            a, b = RANDOM.sample(NOUNS, 2)
            apis.append(
                Api(
                    organisation=organisation,
                    team=teams[i % len(teams)],
                    slug=f"{a}-{b}-{i}",
                    name=f"{a.title()} {b.title()} API {i}",
                    summary=f"Manage {a}s and their {b}s: {RANDOM.choice(VERBS)} and "
                    f"{RANDOM.choice(VERBS)} {a} {b} records.",
                    visibility=visibilities[i % 3],
                    kind="rest",
                )
            )
        Api.objects.bulk_create(apis)
        versions = [
            ApiVersion(
                api=api,
                organisation=organisation,
                version="1.0.0",
                state="published",
                openapi_version="3.0",
                title=api.name,
                spec_hash=f"{api.pk:064d}",
            )
            for api in apis
        ]
        ApiVersion.objects.bulk_create(versions)
        SpecDocument.objects.bulk_create(
            SpecDocument(api_version=v, document={}, size_bytes=2, source_format="json")
            for v in versions
        )
        operations = []
        for version in versions:
            resources = RANDOM.sample(NOUNS, 8)
            for n in range(OPERATIONS):
                resource, sub = resources[n % 8], resources[(n * 3 + 1) % 8]
                verb = VERBS[n % len(VERBS)]
                shape = SHAPES[n // 8].format(r=resource, s=sub)
                operations.append(
                    Operation(
                        api_version=version,
                        organisation=organisation,
                        method=["get", "post", "put", "delete", "patch"][n % 5],
                        path=f"/v1/{resource}s{shape}",
                        operation_id=f"{verb}{resource.title()}{sub.title()}{n // 8}",
                        summary=f"{verb.title()} {resource} {sub}",
                    )
                )
        Operation.objects.bulk_create(operations, batch_size=5000)
        for api, version in zip(apis, versions, strict=True):
            api.current_version, api.current_state = version, "published"
        Api.objects.bulk_update(apis, ["current_version", "current_state"])
        Api.tags.through.objects.bulk_create(
            Api.tags.through(api_id=api.pk, tag_id=tags[TAGS[i % len(TAGS)]].pk)
            for i, api in enumerate(apis)
        )
        search_refresh_many([api.pk for api in apis])
        print(f"  {start + 1000:,} APIs", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE apis_api")
        cursor.execute("VACUUM ANALYZE apis_operation")
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


def queries() -> list[str]:
    out = []
    for i in range(QUERIES):
        kind = i % 4
        a, b = RANDOM.sample(NOUNS, 2)
        if kind == 0:
            out.append(a)  # one word
        elif kind == 1:
            out.append(f"{a} {b}")  # two words
        elif kind == 2:
            out.append(a[: RANDOM.randint(3, 5)])  # typing: a prefix
        else:
            out.append(f"/v1/{a}s/{{{a}_id}}/{b}s")  # an operation path
    return out


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    ensure_database(rebuild="--rebuild" in sys.argv)
    user = User.objects.get(email="bench@example.com")
    client = Client()
    client.force_login(user)
    texts = queries()

    selector_ms, view_ms = [], []
    for text in texts:
        started = time.perf_counter()
        results = selectors.api_search(user=user, text=text)
        list(results[:20])
        results.count()
        selector_ms.append((time.perf_counter() - started) * 1000)
    for text in texts:
        started = time.perf_counter()
        response = client.get("/catalogue/", {"q": text})
        view_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200

    counts = {}
    for size in (10, 100):
        with CaptureQueriesContext(connection) as captured:
            client.get("/catalogue/", {"page_size": size})
        counts[size] = len(captured.captured_queries)

    render_ms, baseline_ms = [], []
    for _ in range(30):
        started = time.perf_counter()
        client.get("/catalogue/")
        render_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        list(Api.objects.order_by("name")[:20])
        baseline_ms.append((time.perf_counter() - started) * 1000)

    print()
    print(
        f"catalogue over {Api.objects.count():,} APIs and "
        f"{Operation.objects.count():,} operations (PostgreSQL {connection.pg_version})"
    )
    print(
        f"search, selector (page + count), {QUERIES} queries: "
        f"median {statistics.median(selector_ms):.1f} ms, "
        f"p95 {percentile(selector_ms, 0.95):.1f} ms"
    )
    print(
        f"search, whole view,              {QUERIES} queries: "
        f"median {statistics.median(view_ms):.1f} ms, p95 {percentile(view_ms, 0.95):.1f} ms"
    )
    print(f"list page queries: {counts[10]} for 10 rows, {counts[100]} for 100 rows")
    print(
        f"list page render: median {statistics.median(render_ms):.1f} ms "
        f"(baseline: 20 rows of the plain table, {statistics.median(baseline_ms):.1f} ms)"
    )


if __name__ == "__main__":
    main()
