import datetime
import random

import pytest
from django.db import connection

from analytics.histogram import COLUMNS, percentile
from analytics.models import UsageRollup
from analytics.storage import insert_requests, rollup_deltas

T0 = datetime.datetime(2026, 11, 20, 10, 15, tzinfo=datetime.UTC)


def row(
    n: int, *, org: int, api: int = 7, app: int = 3, status: int = 200, latency: float = 42.0, ts=T0
) -> tuple:
    return (
        ts + datetime.timedelta(seconds=n),
        1,
        f"req-{n}",
        org,
        api,
        70,
        app,
        0,
        "GET",
        "/pets/{id}",
        status,
        latency,
        10.0,
        512,
        "",
        None,
        None,
        None,
        "10.0.0.1",
        "prod",
    )


@pytest.mark.django_db
def test_only_new_rows_reach_the_rollup(cast):
    org = cast.org.pk
    rows = [row(n, org=org, status=200 if n % 10 else 503) for n in range(100)]
    assert insert_requests(rows) == 100
    assert insert_requests([*rows[:50], row(100, org=org)]) == 1
    rollup = UsageRollup.objects.get(organisation_id=org)
    assert (rollup.calls, rollup.c5xx, rollup.bytes) == (101, 10, 101 * 512)


@pytest.mark.django_db
def test_sql_rollup_matches_python_rollup(cast):
    org = cast.org.pk
    generator = random.Random(7)
    rows = [
        row(
            n,
            org=org,
            app=n % 3,
            status=generator.choice([200, 201, 404, 500]),
            latency=generator.lognormvariate(4, 1),
            ts=T0 + datetime.timedelta(minutes=n),
        )
        for n in range(500)
    ]
    assert connection.vendor == "postgresql"
    insert_requests(rows)
    usage, _ = rollup_deltas(rows)
    stored = {
        (r.organisation_id, r.hour, r.api_id, r.api_version_id, r.application_id): [
            r.calls,
            r.c4xx,
            r.c5xx,
            *(getattr(r, c) for c in COLUMNS),
        ]
        for r in UsageRollup.objects.all()
    }
    expected = {key: [v[0], v[1], v[2], *v[8:]] for key, v in usage.items()}
    assert stored == expected


def test_histogram_percentiles_within_five_percent():
    generator = random.Random(11)
    values = sorted(generator.lognormvariate(4, 0.8) for _ in range(50_000))
    from analytics.histogram import BUCKETS, bucket

    counts = [0] * BUCKETS
    for value in values:
        counts[bucket(value)] += 1
    for q in (0.5, 0.95, 0.99):
        exact = values[int(q * len(values))]
        assert abs(percentile(counts, q) - exact) / exact < 0.05
