"""Provisioning benchmark: 1,000 approvals carried to a local moto API Gateway.

    python bench/provision.py [--subscriptions 1000] [--runner celery|threads]
                              [--workers 2] [--broker redis://127.0.0.1:6379/15]

Starts moto on an ephemeral 127.0.0.1 port with one REST API and a usage plan, and a
counting proxy in front of it (every request the adapters send passes through it). On a
PostgreSQL database of its own (``DATABASE_URL``, default portico_bench_provision:
created if missing, migrated, its subscription tables emptied) it syncs the API into a
provider's catalogue, creates 1,000 applications of a consumer team, each requesting a
subscription, then approves them one after the other. Each approval commits, and its
outbox operation runs:

* ``--runner celery`` (default): published to Redis after commit and run by a real
  Celery worker subprocess (prefork, ``--workers`` processes) of this project;
* ``--runner threads``: handed after commit to a pool of ``--workers`` threads in this
  process, each running ``apis.tasks.execute_operation`` as a worker would.

It prints the time to request and approve, the median and p95 time from an approval's
commit (the subscription's ``decided_at``) to its gateway state active (the operation's
``finished_at``, written with that state), and the gateway calls per approval, counted
by the proxy and, with threads, by the adapters' ``calls`` too.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.stdout.reconfigure(line_buffering=True)  # each figure as it comes, into a file too


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--runner", choices=["celery", "threads"], default="celery")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15")
    return parser.parse_args()


OPTIONS = _options()
ENV = {
    "DATABASE_URL": os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portico_bench_provision"
    ),
    "DJANGO_SETTINGS_MODULE": "portal.settings",
    "LOG_LEVEL": "WARNING",
    "EMAIL_URL": "dummymail://",
    "CELERY_BROKER_URL": OPTIONS.broker,
    # Threads run the tasks in this process; the notices' e-mail tasks run inline too.
    "CELERY_TASK_ALWAYS_EAGER": "true" if OPTIONS.runner == "threads" else "false",
    # One consumer team asks for all of them: the per-team cap is not what is measured.
    "SUBSCRIPTION_PENDING_LIMIT": str(OPTIONS.subscriptions + 1),
    # Fake credentials for boto3's chain: the emulator takes any.
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "eu-west-1",
}
os.environ.update(ENV)

from bench._database import create_if_missing

create_if_missing(os.environ["DATABASE_URL"])

import django

django.setup()

from django.apps import apps
from django.core.management import call_command
from django.db import connection as db
from django.db import connections, transaction

from apis.demo_gateways import clients, usage_plan_put
from apis.gateways import adapter_for as make_adapter
from apis.models import Api, GatewayOperation, Plan, Subscription, SyncRun
from apis.services import provisioning
from apis.services.applications import application_create
from apis.services.connections import connection_create
from apis.services.subscriptions import subscription_act, subscription_request
from apis.services.sync import sync_connection
from apis.tasks import execute_operation
from portal.celery import app as celery_app
from tenants.actors import Actor
from tenants.models import Membership, Organisation, Team, User
from tenants.roles import OrgRole, TeamRole
from tenants.services.organisations import organisation_create, team_create, team_member_set
from tests.emulators import MotoServer
from tests.gateways.faults import FaultProxy
from tests.gateways.moto_apis import create_rest_api


def empty_tables() -> None:
    tables = [m._meta.db_table for m in apps.get_app_config("apis").get_models()]
    tables.append("tenants_notification")
    with db.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


def person(email: str) -> User:
    user, _ = User.objects.get_or_create(email=email)
    return user


def organisation(slug: str, owner: User) -> Organisation:
    return Organisation.objects.filter(slug=slug).first() or organisation_create(
        name=slug.replace("-", " ").title(), slug=slug, owner=owner
    )


def team(org: Organisation, slug: str, actor: Actor) -> Team:
    return Team.objects.filter(organisation=org, slug=slug).first() or team_create(
        organisation=org, name=slug.title(), slug=slug, actor=actor
    )


def member(org: Organisation, user: User, group: Team, role: str, actor: Actor) -> None:
    Membership.objects.get_or_create(organisation=org, user=user, defaults={"role": OrgRole.MEMBER})
    team_member_set(team=group, user=user, role=role, actor=actor)


def setup(endpoint: str):
    """The provider's API synced from the gateway, and the consumer's team."""
    owner = person("bench-provision-owner@example.com")
    provider = organisation("bench-provider", owner)
    owner_actor = Actor.for_user(owner)
    gateway_team = team(provider, "gateway", owner_actor)
    maintainer = person("bench-provision-maintainer@example.com")
    member(provider, maintainer, gateway_team, TeamRole.MAINTAINER, owner_actor)

    consumer_owner = person("bench-provision-consumer@example.com")
    consumer = organisation("bench-consumer", consumer_owner)
    consumer_actor = Actor.for_user(consumer_owner)
    apps_team = team(consumer, "apps", consumer_actor)
    developer = person("bench-provision-developer@example.com")
    member(consumer, developer, apps_team, TeamRole.DEVELOPER, consumer_actor)

    connection = connection_create(
        organisation=provider,
        team=gateway_team,
        name="Bench AWS",
        kind="aws_rest",
        config={"region": "eu-west-1", "endpoint_url": endpoint},
        visibility=Api.Visibility.PUBLIC,
        publish_on_sync=True,
        actor=owner_actor,
    )
    run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    api = Api.objects.get(connection=connection)
    plan = Plan.objects.get(api=api)
    return api, plan, apps_team, Actor.for_user(developer), Actor.for_user(maintainer)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Worker:
    """A Celery worker subprocess of this project on the bench's broker and database."""

    def __init__(self, concurrency: int):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--loglevel=WARNING",
                f"--concurrency={concurrency}",
                "--without-gossip",
                "--without-mingle",
                f"--hostname=bench-provision-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env={**os.environ, **ENV},
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the Celery worker exited on start")
            if celery_app.control.ping(timeout=1.0):
                return
        raise RuntimeError("the Celery worker did not answer within a minute")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def thread_runner(workers: int):
    """Hand each operation, after commit, to a pool thread that runs the task eagerly;
    returns the pool and the adapters it made (to read their ``calls``)."""
    pool = ThreadPoolExecutor(max_workers=workers)
    adapters = []

    def counted(connection):
        adapter = make_adapter(connection)
        adapters.append(adapter)
        return adapter

    def run(operation_id: int) -> None:
        try:
            execute_operation.apply(args=(operation_id,))
        finally:
            connections.close_all()

    provisioning.adapter_for = counted
    provisioning._run_after_commit = lambda operation_id: transaction.on_commit(
        lambda: pool.submit(run, operation_id)
    )
    return pool, adapters


def main() -> None:
    # Stopped from outside, still stop the worker and the servers (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    count = OPTIONS.subscriptions
    call_command("migrate", verbosity=0)
    empty_tables()
    server = MotoServer().start()
    proxy = FaultProxy(server.url).start()
    worker = pool = None
    try:
        apigw, _ = clients(server.url)
        api_id = create_rest_api(apigw, "bench-orders")
        usage_plan = usage_plan_put(
            apigw,
            name="Bench plan",
            stages=[(api_id, "prod")],
            rate=100.0,
            burst=200,
            quota=1_000_000,
            period="MONTH",
        )
        api, plan, apps_team, developer, maintainer = setup(proxy.url)
        print(
            f"moto at {server.url} behind a counting proxy; runner: {OPTIONS.runner} "
            f"({OPTIONS.workers} {'processes' if OPTIONS.runner == 'celery' else 'threads'})"
        )

        started = time.perf_counter()
        subscriptions = []
        for n in range(count):
            application = application_create(team=apps_team, name=f"App {n:04d}", actor=developer)
            subscriptions.append(
                subscription_request(application=application, api=api, plan=plan, actor=developer)
            )
        ask_s = time.perf_counter() - started
        print(f"requests:   {count:,} applications and requests in {ask_s:.1f} s")

        if OPTIONS.runner == "celery":
            celery_app.control.purge()
            worker = Worker(OPTIONS.workers)
            worker.wait_ready()
            adapters = None
        else:
            pool, adapters = thread_runner(OPTIONS.workers)

        sent = len(proxy.requests)
        started = time.perf_counter()
        for subscription in subscriptions:
            subscription_act(subscription=subscription, action="approve", actor=maintainer)
        approve_s = time.perf_counter() - started
        print(f"approvals:  {count:,} committed in {approve_s:.1f} s ({count / approve_s:.0f}/s)")

        waiting = Subscription.objects.filter(api=api).exclude(
            gateway_state=Subscription.GatewayState.ACTIVE
        )
        left, progress = waiting.count(), time.monotonic()
        while left:
            failed = GatewayOperation.objects.filter(state=GatewayOperation.State.FAILED).first()
            if failed is not None:
                raise RuntimeError(f"operation {failed.pk} failed: {failed.last_error}")
            if time.monotonic() - progress > 60:
                # A shared Redis database flushed by someone else loses queued tasks.
                raise RuntimeError(f"{left} subscriptions made no progress for a minute")
            time.sleep(0.2)
            now_left = waiting.count()
            if now_left != left:
                left, progress = now_left, time.monotonic()
        drained_s = time.perf_counter() - started

        latencies = [
            (finished - decided).total_seconds()
            for decided, finished in GatewayOperation.objects.filter(
                subscription__api=api, action=GatewayOperation.Action.PROVISION
            ).values_list("subscription__decided_at", "finished_at")
        ]
        assert len(latencies) == count, len(latencies)
        calls = proxy.requests[sent:]
        on_plan = apigw.get_usage_plan_keys(usagePlanId=usage_plan, limit=500)["items"]
        assert len(on_plan) == count, len(on_plan)
        assert len(apigw.get_api_keys(limit=500)["items"]) == count

        print(f"all active: {drained_s:.1f} s after the first approval")
        print(
            f"commit → active: median {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms"
        )
        kinds: dict[str, int] = {}
        for line in calls:
            method, path = line.split(" ", 1)
            kind = f"{method} /{path.strip('/').split('/')[0]}"
            kind += "/…/keys" if path.rstrip("/").endswith("/keys") else ""
            kinds[kind] = kinds.get(kind, 0) + 1
        print(
            f"gateway calls per approval: {len(calls) / count:.2f} "
            f"({', '.join(f'{k} ×{v:,}' for k, v in sorted(kinds.items()))})"
        )
        if adapters is not None:
            print(f"  adapters counted {sum(a.calls for a in adapters) / count:.2f} per approval")
    finally:
        if worker is not None:
            worker.stop()
        if pool is not None:
            pool.shutdown(wait=True)
        proxy.stop()
        server.stop()


if __name__ == "__main__":
    main()
