import datetime
import random

import pytest
from django.db import connection

from analytics.histogram import COLUMNS, percentile
from analytics.models import RouteRollup, UsageRollup
from analytics.storage import (
    EVENT_COLUMNS,
    _months,
    copy_formatter,
    insert_requests,
    rollup_deltas,
    stage_copy,
)

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


def statements_run(rows: list[tuple]) -> tuple[int, list[str]]:
    """insert_requests(rows), and which of the two insert statements ran, in order."""
    ran = []

    def spy(execute, sql, params, many, context):
        if sql.lstrip().startswith("WITH ins AS"):
            ran.append("on conflict" if "ON CONFLICT DO NOTHING" in sql else "plain")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        return insert_requests(rows), ran


def calls(org: int) -> int:
    return sum(UsageRollup.objects.filter(organisation_id=org).values_list("calls", flat=True))


@pytest.mark.django_db
def test_a_new_page_goes_in_by_a_plain_insert(cast):
    org = cast.org.pk
    assert statements_run([row(n, org=org) for n in range(50)]) == (50, ["plain"])
    assert calls(org) == 50


@pytest.mark.django_db
def test_a_page_beginning_with_a_stored_row_is_inserted_skipping_duplicates(cast):
    org = cast.org.pk
    rows = [row(n, org=org) for n in range(50)]
    insert_requests(rows[:10])
    assert statements_run(rows) == (40, ["on conflict"])
    assert calls(org) == 50


@pytest.mark.django_db
def test_a_duplicate_inside_a_page_undoes_the_plain_insert_and_counts_once(cast):
    org = cast.org.pk
    rows = [row(n, org=org) for n in range(50)]
    rows.insert(25, rows[7])  # the same event twice, neither first nor last
    assert statements_run(rows) == (50, ["plain", "on conflict"])
    assert calls(org) == 50
    assert UsageRollup.objects.get(organisation_id=org).calls == 50


@pytest.mark.django_db
def test_a_stored_row_inside_a_page_undoes_the_plain_insert_and_counts_once(cast):
    org = cast.org.pk
    rows = [row(n, org=org, status=500 if n % 2 else 200) for n in range(50)]
    insert_requests([rows[30]])
    assert statements_run(rows) == (49, ["plain", "on conflict"])
    rollup = UsageRollup.objects.get(organisation_id=org)
    assert (rollup.calls, rollup.c5xx) == (50, 25)


@pytest.mark.django_db
def test_sql_rollups_of_overlapping_pages_match_python_rollup(cast):
    # The ON CONFLICT statement's rollups (only the rows new to the second page) and
    # the plain insert's, added up, against the Python arithmetic over all rows once.
    org = cast.org.pk
    generator = random.Random(13)
    rows = [
        row(
            n,
            org=org,
            app=n % 4,
            status=generator.choice([200, 204, 404, 429, 500, 503]),
            latency=generator.choice([None, 0.4, 1.0, generator.lognormvariate(4, 1.5)]),
            ts=T0 + datetime.timedelta(minutes=7 * n),
        )
        for n in range(400)
    ]
    insert_requests(rows[:150])
    assert insert_requests(rows[100:]) == 250
    usage, routes = rollup_deltas(rows)
    stored = {
        (r.organisation_id, r.hour, r.api_id, r.api_version_id, r.application_id): [
            r.calls,
            r.c4xx,
            r.c5xx,
            r.bytes,
            *(getattr(r, c) for c in COLUMNS),
        ]
        for r in UsageRollup.objects.all()
    }
    assert stored == {key: [v[0], v[1], v[2], v[4], *v[8:]] for key, v in usage.items()}
    stored_routes = {
        (r.organisation_id, r.hour, r.api_id, r.api_version_id, r.method, r.route, r.status): (
            r.calls
        )
        for r in RouteRollup.objects.all()
    }
    assert stored_routes == {key: v[0] for key, v in routes.items()}


def test_a_page_makes_every_month_from_its_first_row_to_its_last():
    zone = datetime.timezone(datetime.timedelta(hours=2))
    rows = [
        row(0, org=1, ts=datetime.datetime(2026, 12, 20, tzinfo=datetime.UTC)),
        # 1 March at 01:00 in UTC+2 is still February in UTC, as partitions are cut.
        row(1, org=1, ts=datetime.datetime(2027, 3, 1, 1, 0, tzinfo=zone)),
        row(2, org=1, ts=datetime.datetime(2027, 1, 5, tzinfo=datetime.UTC)),
    ]
    assert _months(rows) == {
        datetime.date(2026, 12, 1),
        datetime.date(2027, 1, 1),
        datetime.date(2027, 2, 1),
    }


@pytest.mark.django_db
def test_a_page_of_one_month_goes_into_its_partition_and_one_of_two_into_the_parent(cast):
    org = cast.org.pk
    targets = []

    def spy(execute, sql, params, many, context):
        if sql.lstrip().startswith("WITH ins AS"):
            targets.append(sql.split("INSERT INTO ", 1)[1].split(" ", 1)[0])
        return execute(sql, params, many, context)

    november = [row(n, org=org) for n in range(10)]
    turn = datetime.datetime(2026, 11, 30, 23, 59, 48, tzinfo=datetime.UTC)
    across = [row(n, org=org, ts=turn) for n in range(10, 14)]  # 30 Nov to 1 Dec
    with connection.execute_wrapper(spy):
        assert insert_requests(november) == 10
        assert insert_requests(across) == 4
        assert insert_requests(november + across) == 0  # the ON CONFLICT statement
    assert targets == [
        "analytics_requestevent_202611",
        "analytics_requestevent",
        "analytics_requestevent",
    ]
    assert calls(org) == 14


def stored_rows(org: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM analytics_requestevent "
            "WHERE organisation_id = %s ORDER BY ts, source_id, event_id",
            [org],
        )
        return cursor.fetchall()


@pytest.mark.django_db
def test_rows_copied_ahead_are_stored_as_the_rows_themselves(cast):
    # The COPY data made in the parsing thread holds the same values as the rows the
    # storing thread would have sent: NULLs, floats, text beyond ASCII included.
    def rows_of(org: int) -> list[tuple]:
        # A source of each organisation's own: the events' keys do not name it.
        rows = [row(n, org=org, latency=None if n % 3 else 12.5) for n in range(30)]
        rows = [(r[0], org, *r[2:]) for r in rows]
        rows[4] = (*rows[4][:9], "/cafés/{nom}", *rows[4][10:])
        return rows

    one, two = cast.org.pk, cast.other_org.pk
    assert insert_requests(rows_of(one)) == 30
    ahead = rows_of(two)
    assert insert_requests(ahead, copied=stage_copy(ahead, copy_formatter())) == 30

    def without_organisation(org: int) -> list[tuple]:
        return [(r[0], r[2], *r[4:]) for r in stored_rows(org)]

    assert without_organisation(two) == without_organisation(one)
    assert len(without_organisation(one)) == 30
    assert calls(two) == calls(one) == 30
