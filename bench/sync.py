"""Gateway sync benchmark: 1,000 REST APIs × 3 stages in a local moto server.

    python bench/sync.py [--apis 1000] [--resyncs 3] [--profile]

Starts moto on an ephemeral 127.0.0.1 port and fills it: each API is imported from an
OpenAPI 3 document (8 resources, 12 methods, Lambda integrations), deployed to dev, test
and prod with stage variables; 10 usage plans and 50 keys on them. On a PostgreSQL
database of its own (``DATABASE_URL``, default portico_bench_sync: created if missing,
migrated, its catalogue tables emptied) it then prints:

* the first full sync: time and gateway calls;
* the re-sync with nothing changed: median time and calls over ``--resyncs`` runs;
* the ratio of the two (the target: a re-sync at least 5 times faster);
* with ``--profile``, where a re-sync spends its time.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portico_bench_sync")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Fake credentials for boto3's chain: the emulator takes any.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

from bench._database import create_if_missing

create_if_missing(os.environ["DATABASE_URL"])

import django

django.setup()

from django.apps import apps
from django.core.management import call_command
from django.db import connection as db

from apis.demo_gateways import api_key_put, clients, function_arn, usage_plan_put
from apis.models import SyncRun
from apis.services.connections import connection_create
from apis.services.sync import sync_connection
from tenants.actors import Actor
from tenants.models import Organisation, Team, User
from tenants.services.organisations import organisation_create, team_create
from tests.emulators import MotoServer

STAGES = {"dev": {"alias": "dev"}, "test": {"alias": "test"}, "prod": {"alias": "live"}}
RESOURCES = ("orders", "customers", "invoices", "refunds")


def document(i: int) -> bytes:
    """An OpenAPI 3 document of 8 resources and 12 methods, each calling a Lambda alias."""
    uri = (
        "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
        f"{function_arn(f'bench-{i % 50}', 'live')}/invocations"
    )
    integration = {"type": "aws_proxy", "httpMethod": "POST", "uri": uri}
    paths = {}
    for name in RESOURCES:
        paths[f"/{name}"] = {
            "get": {"responses": {"200": {"description": "ok"}}},
            "post": {"responses": {"201": {"description": "created"}}},
        }
        paths[f"/{name}/{{id}}"] = {"get": {"responses": {"200": {"description": "ok"}}}}
        for item in paths[f"/{name}"].values():
            item["x-amazon-apigateway-integration"] = integration
        paths[f"/{name}/{{id}}"]["get"]["x-amazon-apigateway-integration"] = integration
    return json.dumps(
        {
            "openapi": "3.0.1",
            "info": {
                "title": f"Bench API {i:04d}",
                "version": "1.0.0",
                "description": f"API {i} of the sync benchmark.",
            },
            "paths": paths,
        }
    ).encode()


def fill(url: str, count: int) -> list[str]:
    apigw, _ = clients(url)

    def one(i: int) -> str:
        api_id = apigw.import_rest_api(body=document(i))["id"]
        for stage, variables in STAGES.items():
            apigw.create_deployment(restApiId=api_id, stageName=stage, variables=variables)
        return api_id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(one, range(count)))
    plans = [
        usage_plan_put(
            apigw,
            name=f"Plan {n}",
            stages=[(api_id, "prod") for api_id in ids[n::10]],
            rate=10.0 * (n + 1),
            burst=20 * (n + 1),
            quota=10_000 * (n + 1),
            period="MONTH",
        )
        for n in range(10)
    ]
    for n in range(50):
        api_key_put(
            apigw,
            name=f"key-{n}",
            value=f"bench-key-value-{n:04d}-xxxxxxxx",
            plan_ids=[plans[n % 10]],
        )
    return ids


def empty_catalogue() -> None:
    tables = [m._meta.db_table for m in apps.get_app_config("apis").get_models()]
    with db.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


def connection_for(url: str):
    owner, _ = User.objects.get_or_create(email="bench-sync@example.com")
    organisation = Organisation.objects.filter(slug="bench-sync").first() or organisation_create(
        name="Bench Sync", slug="bench-sync", owner=owner
    )
    actor = Actor.for_user(owner)
    team = Team.objects.filter(organisation=organisation, slug="gateway").first() or team_create(
        organisation=organisation, name="Gateway", slug="gateway", actor=actor
    )
    return connection_create(
        organisation=organisation,
        team=team,
        name="Bench AWS",
        kind="aws_rest",
        config={"region": "eu-west-1", "endpoint_url": url},
        actor=actor,
    )


def timed_sync(connection) -> tuple[float, SyncRun]:
    started = time.perf_counter()
    run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
    return time.perf_counter() - started, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apis", type=int, default=1000)
    parser.add_argument("--resyncs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()

    call_command("migrate", verbosity=0)
    empty_catalogue()
    server = MotoServer().start()
    try:
        print(f"moto at {server.url}; creating {options.apis:,} REST APIs × {len(STAGES)} stages…")
        started = time.perf_counter()
        fill(server.url, options.apis)
        print(f"  created in {time.perf_counter() - started:.1f} s")
        connection = connection_for(server.url)

        first_s, first = timed_sync(connection)
        assert first.status == SyncRun.Status.SUCCEEDED, first.errors
        assert first.new == options.apis, (first.new, first.errors)
        print(
            f"first sync:  {first_s:7.1f} s  {first.calls:6,} calls  "
            f"({first.new:,} new APIs, {first_s / options.apis * 1000:.1f} ms an API)"
        )
        times, calls = [], set()
        for _ in range(options.resyncs):
            again_s, again = timed_sync(connection)
            assert (again.status, again.new, again.changed) == (SyncRun.Status.SUCCEEDED, 0, 0)
            assert again.unchanged == options.apis
            times.append(again_s)
            calls.add(again.calls)
        resync_s = statistics.median(times)
        print(
            f"re-sync:     {resync_s:7.1f} s  {'/'.join(f'{c:,}' for c in sorted(calls))} calls  "
            f"(median of {len(times)}: {', '.join(f'{t:.1f}' for t in times)} s)"
        )
        print(f"ratio:       {first_s / resync_s:7.1f}× faster (target ≥ 5×)")
        if options.profile:
            profile = cProfile.Profile()
            profile.enable()
            timed_sync(connection)
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
            print(out.getvalue())
    finally:
        server.stop()


if __name__ == "__main__":
    main()
