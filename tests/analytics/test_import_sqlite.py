"""The demo's database: on SQLite an import stores through the plain path (new rows
found by key, rolled up in Python) and retention deletes by rowid. The suite's
database is PostgreSQL, so this runs ``manage.py`` in a subprocess against a fresh
SQLite file: migrate, import a file twice, read the rollups back, purge."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .logs import rest_line

ROOT = Path(__file__).resolve().parents[2]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


SETUP = """
from tenants.models import User
from tenants.services.organisations import organisation_create
owner = User.objects.create_user(email="owner@demo.test", password="x" * 20)
organisation_create(name="Demo", slug="demo", owner=owner)
"""

READ_BACK = """
import datetime, json
from django.db import connection
from analytics.models import LogSource, RouteRollup, UsageRollup
from analytics.services.retention import purge
from django.utils import timezone
source = LogSource.objects.get(organisation__slug="demo", name="Backfill")
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM analytics_requestevent WHERE source_id = %s", [source.pk])
    events = cursor.fetchone()[0]
usage = [
    [row.hour.isoformat(), row.calls, row.c4xx, row.c5xx, row.bytes, round(row.latency_sum, 6)]
    for row in UsageRollup.objects.filter(organisation=source.organisation).order_by("hour")
]
routes = sorted(
    [row.hour.isoformat(), row.route, row.status, row.calls]
    for row in RouteRollup.objects.filter(organisation=source.organisation)
)
removed = purge(now=timezone.now() + datetime.timedelta(days=31))
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM analytics_requestevent")
    left = cursor.fetchone()[0]
print(json.dumps({"vendor": connection.vendor, "events": events, "usage": usage,
                  "routes": routes, "removed": removed["events"], "left": left,
                  "rollups_left": UsageRollup.objects.count()}))
"""


def test_an_import_on_sqlite_stores_rolls_up_and_retains(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "CELERY_BROKER_URL": "memory://",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    # Two hours ago and one hour ago, each at ten past the hour: two rollup hours.
    hour_ms = 3_600_000
    now = int(time.time() * 1000)
    first = (now // hour_ms - 2) * hour_ms + 600_000
    second = first + hour_ms
    lines = [
        rest_line("r1", first, status=200, latency=10.0, length=100),
        rest_line("r2", first + 1, status=404, latency=20.0, length=200, route="/orders"),
        rest_line("r3", first + 2, status=500, latency=30.0, length=300),
        rest_line("r4", second, status=200, latency=40.0, length=400),
        rest_line("r5", second + 1, status=503, latency=50.0, length=500),
        rest_line("r1", first, status=200, latency=10.0, length=100),  # the same line again
    ]
    log = tmp_path / "access.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\nnot json\n")

    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "shell", "-c", SETUP)
    command = ["import_logs", str(log), "--org", "demo", "--format", "apigw_rest_json"]
    once = manage(env, *command)
    assert "Created the upload source 'Backfill'." in once
    assert f"{log}: read 7, imported 5, duplicates 1, rejected 1, skipped 0 in" in once
    twice = manage(env, *command)
    assert "Created" not in twice
    assert f"{log}: read 7, imported 0, duplicates 6, rejected 1, skipped 0 in" in twice

    found = json.loads(manage(env, "shell", "-c", READ_BACK).strip().splitlines()[-1])
    assert found["vendor"] == "sqlite"
    assert found["events"] == 5
    hours = [
        time.strftime("%Y-%m-%dT%H:00:00+00:00", time.gmtime(ms / 1000)) for ms in (first, second)
    ]
    # Counted once each, though the file was read twice and holds r1 twice.
    assert found["usage"] == [
        [hours[0], 3, 1, 1, 600, 60.0],
        [hours[1], 2, 0, 1, 900, 90.0],
    ]
    assert found["routes"] == [
        [hours[0], "/orders", 404, 1],
        [hours[0], "/pets", 200, 1],
        [hours[0], "/pets", 500, 1],
        [hours[1], "/pets", 200, 1],
        [hours[1], "/pets", 503, 1],
    ]
    # Retention a month on: the raw events go (by rowid), the hourly rollups stay.
    assert (found["removed"], found["left"], found["rollups_left"]) == (5, 0, 2)
