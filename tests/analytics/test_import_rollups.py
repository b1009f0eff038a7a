"""After an import the hourly rollups agree with the raw events: exactly for the
counts, within 5 % for the histogram percentiles against percentile_cont."""

import json

import pytest
from django.db import connection
from django.db.models import Sum

from analytics.histogram import COLUMNS, percentile
from analytics.models import UsageRollup
from analytics.parsers import LineContext
from analytics.services.imports import import_lines

from .logs import corpus, make_source

MAPPING = {
    "event_id": "id",
    "ts_ms": "t",
    "status": "s",
    "latency_ms": "l",
    "tokens_in": "in",
    "tokens_out": "out",
}


@pytest.mark.django_db
def test_rollups_equal_raw_aggregates(cast):
    source = make_source(cast.org)
    lines = corpus(6000, seed=11, span_ms=5 * 3_600_000)
    context = LineContext()
    for start in range(0, len(lines), 1000):  # several pages, some hours split across them
        import_lines(source=source, lines=[(line, context) for line in lines[start : start + 1000]])
    # AI calls with tokens, through a second source of the same organisation.
    ai = make_source(
        cast.org,
        name="ai",
        format="custom_json",
        config={"mapping": MAPPING},
    )
    first = json.loads(lines[0])["requestTimeEpoch"]
    calls = [
        json.dumps(
            {
                "id": f"ai-{i}",
                "t": first + i * 7_000,
                "s": 200 if i % 9 else 500,
                "l": 300 + i,
                "in": 100 + i,
                "out": 20 + i % 50,
            }
        ).encode()
        for i in range(500)
    ]
    import_lines(source=ai, lines=[(line, context) for line in calls])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*), "
            "count(*) FILTER (WHERE status BETWEEN 400 AND 499), "
            "count(*) FILTER (WHERE status >= 500), sum(bytes), "
            "coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0) "
            "FROM analytics_requestevent WHERE organisation_id = %s GROUP BY 1 ORDER BY 1",
            [cast.org.pk],
        )
        raw = cursor.fetchall()
    rolled = list(
        UsageRollup.objects.filter(organisation=cast.org)
        .values("hour")
        .annotate(
            calls=Sum("calls"),
            c4xx=Sum("c4xx"),
            c5xx=Sum("c5xx"),
            bytes=Sum("bytes"),
            tokens_in=Sum("tokens_in"),
            tokens_out=Sum("tokens_out"),
        )
        .order_by("hour")
        .values_list("hour", "calls", "c4xx", "c5xx", "bytes", "tokens_in", "tokens_out")
    )
    assert len(raw) >= 5
    assert [tuple(row) for row in rolled] == [tuple(row) for row in raw]
    assert sum(row[1] for row in raw) == 6500
    assert sum(row[5] for row in raw) == sum(100 + i for i in range(500))
    assert sum(row[6] for row in raw) == sum(20 + i % 50 for i in range(500))
    assert sum(row[2] for row in raw) > 0
    assert sum(row[3] for row in raw) > 0

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms) "
            "FROM analytics_requestevent WHERE organisation_id = %s",
            [cast.org.pk],
        )
        exact = cursor.fetchone()[0]
    buckets = UsageRollup.objects.filter(organisation=cast.org).aggregate(
        **{column: Sum(column) for column in COLUMNS}
    )
    counts = [buckets[column] for column in COLUMNS]
    for q, want in zip((0.5, 0.95, 0.99), exact, strict=True):
        got = percentile(counts, q)
        assert abs(got - want) / want < 0.05, (q, got, want)
