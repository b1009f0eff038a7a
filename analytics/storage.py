"""Storing events and rolling them up, counting each event exactly once.

PostgreSQL: the rows are COPYed into a session-temporary staging table, then one
statement inserts them into the event table and, from what that insert RETURNs (the
new rows only), adds to the hourly rollups. Nothing crosses the wire twice and a
duplicate never reaches a rollup: a page that may hold one is inserted with
``ON CONFLICT DO NOTHING``; any other page with a plain insert in a savepoint, which
fails whole on a duplicate, and then goes the first way.

SQLite (the demo): the new rows are found by key first, inserted, and rolled up
in Python with the same arithmetic.

Both run inside the caller's transaction, with the cursor move that belongs to
the same page.
"""

import datetime
import functools
import io
from collections import defaultdict
from operator import itemgetter

import psycopg
from django.db import IntegrityError, connection, transaction
from psycopg.copy import Copy, FileWriter

from . import partitions
from .histogram import BUCKETS, COLUMNS, bucket, sql_bucket

EVENT_COLUMNS = (
    "ts",
    "source_id",
    "event_id",
    "organisation_id",
    "api_id",
    "api_version_id",
    "application_id",
    "credential_id",
    "method",
    "route",
    "status",
    "latency_ms",
    "integration_ms",
    "bytes",
    "model",
    "tokens_in",
    "tokens_out",
    "cost",
    "source_ip",
    "stage",
)
INVOCATION_COLUMNS = (
    "ts",
    "source_id",
    "request_id",
    "organisation_id",
    "function",
    "version",
    "duration_ms",
    "billed_ms",
    "memory_mb",
    "max_memory_mb",
    "init_ms",
)
_INDEX = {name: i for i, name in enumerate(EVENT_COLUMNS)}
USAGE_KEY = ("organisation_id", "hour", "api_id", "api_version_id", "application_id")
USAGE_SUMS = ("calls", "c4xx", "c5xx", "latency_sum", "bytes", "tokens_in", "tokens_out", "cost")
ROUTE_KEY = ("organisation_id", "hour", "api_id", "api_version_id", "method", "route", "status")


def _months(rows, position: int = 0) -> set[datetime.date]:
    """The months (UTC, as partitions are cut) from the earliest row's to the latest's:
    a min and a max in C instead of a date a row. Months between that no row falls in
    are made too, which costs little: build_rows keeps times within about a year."""
    times = list(map(itemgetter(position), rows))
    first = partitions.month_start(min(times).astimezone(datetime.UTC))
    last = partitions.month_start(max(times).astimezone(datetime.UTC))
    months = {first}
    while first < last:
        first = partitions.next_month(first)
        months.add(first)
    return months


def insert_requests(rows: list[tuple], *, copied: bytes | None = None) -> int:
    """Store request rows (tuples in EVENT_COLUMNS order, ``ts`` an aware datetime) and
    add the new ones to the rollups. Returns how many were new. ``copied``: the rows as
    stage_copy made them, if it did (PostgreSQL)."""
    if not rows:
        return 0
    months = _months(rows)
    partitions.ensure(months)
    if connection.vendor == "postgresql":
        month = next(iter(months)) if len(months) == 1 else None
        return _insert_requests_pg(rows, month, copied)
    return _insert_requests_plain(rows)


# --- PostgreSQL ---------------------------------------------------------------------

_STAGE = "analytics_stage_requests"
# The staging table's column types, for a binary COPY: a sixth of the text format's
# cost per row here (no text to format) and less parsing on the server.
EVENT_TYPES = (
    "timestamptz",
    "int8",
    "text",
    "int8",
    "int8",
    "int8",
    "int8",
    "int8",
    "text",
    "text",
    "int2",
    "float8",
    "float8",
    "int8",
    "text",
    "int4",
    "int4",
    "float8",
    "text",
    "text",
)
# Enough for a page's aggregates without spilling to disk (the default is 4 MB).
WORK_MEM = "64MB"

_USAGE_SQL = ", ".join(
    [
        "count(*)",
        "count(*) FILTER (WHERE status BETWEEN 400 AND 499)",
        "count(*) FILTER (WHERE status >= 500)",
        "coalesce(sum(latency_ms), 0)",
        "coalesce(sum(bytes), 0)",
        "coalesce(sum(tokens_in), 0)",
        "coalesce(sum(tokens_out), 0)",
        "coalesce(sum(cost), 0)",
        *(f"count(*) FILTER (WHERE b = {i})" for i in range(BUCKETS)),
    ]
)
_USAGE_UPDATE = ", ".join(
    f"{column} = analytics_usagerollup.{column} + EXCLUDED.{column}"
    for column in (*USAGE_SUMS, *COLUMNS)
)


def _insert_and_roll_up(on_conflict: str, table: str = "analytics_requestevent") -> str:
    return f"""
WITH ins AS (
    INSERT INTO {table} ({", ".join(EVENT_COLUMNS)})
    SELECT {", ".join(EVENT_COLUMNS)} FROM {_STAGE}
    {on_conflict}
    RETURNING organisation_id, date_trunc('hour', ts AT TIME ZONE 'UTC') AS hour, api_id,
              api_version_id, application_id, method, route, status, latency_ms, bytes,
              tokens_in, tokens_out, cost, {sql_bucket("latency_ms")} AS b
), usage AS (
    INSERT INTO analytics_usagerollup (organisation_id, hour, api_id, api_version_id,
        application_id, {", ".join(USAGE_SUMS)}, {", ".join(COLUMNS)})
    SELECT organisation_id, hour AT TIME ZONE 'UTC', api_id, api_version_id, application_id,
           {_USAGE_SQL}
    FROM ins
    GROUP BY organisation_id, hour, api_id, api_version_id, application_id
    -- Rows locked in key order: two imports touching the same hours cannot deadlock.
    ORDER BY organisation_id, hour, api_id, api_version_id, application_id
    ON CONFLICT (organisation_id, hour, api_id, api_version_id, application_id)
    DO UPDATE SET {_USAGE_UPDATE}
    RETURNING 1
), routes AS (
    INSERT INTO analytics_routerollup (organisation_id, hour, api_id, api_version_id, method,
        route, status, calls, latency_sum)
    SELECT organisation_id, hour AT TIME ZONE 'UTC', api_id, api_version_id, method, route,
           status, count(*), coalesce(sum(latency_ms), 0)
    FROM ins
    GROUP BY organisation_id, hour, api_id, api_version_id, method, route, status
    ORDER BY organisation_id, hour, api_id, api_version_id, method, route, status
    ON CONFLICT (organisation_id, hour, api_id, api_version_id, method, route, status)
    DO UPDATE SET calls = analytics_routerollup.calls + EXCLUDED.calls,
                  latency_sum = analytics_routerollup.latency_sum + EXCLUDED.latency_sum
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM usage), (SELECT count(*) FROM routes)
"""


# Any page: duplicates (of stored rows or within the page) are left out, and only the
# rows the insert reports as new reach the rollups.
INSERT_AND_ROLL_UP = _insert_and_roll_up("ON CONFLICT DO NOTHING")
# A page with no duplicate at all, which is every page of a first import: the same
# statement as a plain insert, which fails on the first duplicate instead of testing
# each row first. Testing costs as much as the insert's own index entry (a speculative
# insertion probes the key, inserts, then confirms, a WAL record more a row).
INSERT_NEW_AND_ROLL_UP = _insert_and_roll_up("")


@functools.cache
def _statements(month: datetime.date | None) -> tuple[str, str]:
    """(INSERT_AND_ROLL_UP, INSERT_NEW_AND_ROLL_UP) for a page all of whose rows fall in
    ``month``: into that month's partition, which checks each row against its bounds
    instead of routing it (0.25 µs a row less); for None, the two above."""
    if month is None:
        return INSERT_AND_ROLL_UP, INSERT_NEW_AND_ROLL_UP
    table = partitions.partition_name("analytics_requestevent", month)
    return (
        _insert_and_roll_up("ON CONFLICT DO NOTHING", table),
        _insert_and_roll_up("", table),
    )


def copy_formatter() -> psycopg.Cursor | None:
    """A cursor of this thread's connection that lends stage_copy, in another thread, the
    connection's adapters (and nothing else: it never runs a statement); None off
    PostgreSQL."""
    if connection.vendor != "postgresql":
        return None
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def stage_copy(rows: list[tuple], formatter: psycopg.Cursor) -> bytes:
    """``rows`` as the staging table's binary COPY data, signature to trailer, for
    insert_requests(rows, copied=...). Made where the rows are built, in the thread that
    parses pages, which has time to spare: the storing thread, which PostgreSQL waits
    for, then only sends it (formatting there was an eighth of an import's time)."""
    out = io.BytesIO()
    with Copy(formatter, binary=True, writer=FileWriter(out)) as copy:
        copy.set_types(EVENT_TYPES)
        write = copy.write_row
        for row in rows:
            write(row)
    return out.getvalue()


def _insert_requests_pg(
    rows: list[tuple], month: datetime.date | None, copied: bytes | None
) -> int:
    any_rows, new_rows = _statements(month)
    with connection.cursor() as cursor:
        # One round trip. The TRUNCATE: rows left by an earlier page of this same
        # transaction would count twice.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} "
            f"(LIKE analytics_requestevent INCLUDING DEFAULTS) ON COMMIT DELETE ROWS; "
            f"TRUNCATE {_STAGE}; SET LOCAL work_mem = '{WORK_MEM}'"
        )
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(
            f"COPY {_STAGE} ({', '.join(EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            if copied is not None:
                copy.write(memoryview(copied))  # sent in parts without copying them
            else:
                copy.set_types(EVENT_TYPES)
                write = copy.write_row
                for row in rows:
                    write(row)
        if _stored_already(cursor, rows):
            cursor.execute(any_rows)
        else:
            try:
                with transaction.atomic():  # a savepoint: a failed insert leaves nothing
                    cursor.execute(new_rows)
            except IntegrityError as exc:
                if not isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                    raise
                # A duplicate after all: twice within the page, a row between its first
                # and last, or one a concurrent push committed meanwhile.
                cursor.execute(any_rows)
        inserted, _, _ = cursor.fetchone()
    return inserted


def _stored_already(cursor, rows: list[tuple]) -> bool:
    """Whether the page's first or last row is stored: a file read again, or a
    CloudWatch window overlapping the one before, begins or ends with stored rows. Two
    index probes, against one a row for the insert that tests every row."""
    ts, source, event = _INDEX["ts"], _INDEX["source_id"], _INDEX["event_id"]
    first, last = rows[0], rows[-1]
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM analytics_requestevent "
        "WHERE (ts, source_id, event_id) IN ((%s, %s, %s), (%s, %s, %s)))",
        [first[ts], first[source], first[event], last[ts], last[source], last[event]],
    )
    return cursor.fetchone()[0]


# --- SQLite and any other database ---------------------------------------------------


def _db(value):
    """A value as the database stores it: datetimes in the backend's own format."""
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _insert_requests_plain(rows: list[tuple]) -> int:
    ts, source, event = _INDEX["ts"], _INDEX["source_id"], _INDEX["event_id"]
    unique: dict[tuple, tuple] = {}
    for row in rows:
        unique.setdefault((_db(row[ts]), row[source], row[event]), row)
    existing = set()
    keys = list(unique)
    with connection.cursor() as cursor:
        for start in range(0, len(keys), 300):
            chunk = keys[start : start + 300]
            where = " OR ".join(["(ts = %s AND source_id = %s AND event_id = %s)"] * len(chunk))
            cursor.execute(
                f"SELECT ts, source_id, event_id FROM analytics_requestevent WHERE {where}",
                [value for key in chunk for value in key],
            )
            # SQLite's driver hands ``ts`` back as a datetime (Django registers a
            # converter for the declared type): compared in the stored form, as the keys.
            existing.update(
                (_db(at), source_id, event_id) for at, source_id, event_id in cursor.fetchall()
            )
        new = [row for key, row in unique.items() if key not in existing]
        cursor.executemany(
            f"INSERT INTO analytics_requestevent ({', '.join(EVENT_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))})",
            [tuple(_db(v) for v in row) for row in new],
        )
    roll_up(new)
    return len(new)


def rollup_deltas(rows: list[tuple]) -> tuple[dict, dict]:
    """The rollup increments of ``rows`` (new events only), in Python: the same
    arithmetic as INSERT_AND_ROLL_UP. Returns (usage, routes) keyed like the tables."""
    usage: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0.0, 0, 0, 0, 0.0] + [0] * BUCKETS)
    routes: dict[tuple, list] = defaultdict(lambda: [0, 0.0])
    i = _INDEX
    for row in rows:
        ts = row[i["ts"]].astimezone(datetime.UTC)
        hour = ts.replace(minute=0, second=0, microsecond=0)
        status = row[i["status"]] or 0
        latency = row[i["latency_ms"]]
        entry = usage[
            (
                row[i["organisation_id"]],
                hour,
                row[i["api_id"]],
                row[i["api_version_id"]],
                row[i["application_id"]],
            )
        ]
        entry[0] += 1
        entry[1] += 400 <= status <= 499
        entry[2] += status >= 500
        entry[3] += latency or 0.0
        entry[4] += row[i["bytes"]] or 0
        entry[5] += row[i["tokens_in"]] or 0
        entry[6] += row[i["tokens_out"]] or 0
        entry[7] += row[i["cost"]] or 0.0
        entry[8 + bucket(latency)] += 1
        route = routes[
            (
                row[i["organisation_id"]],
                hour,
                row[i["api_id"]],
                row[i["api_version_id"]],
                row[i["method"]],
                row[i["route"]],
                status,
            )
        ]
        route[0] += 1
        route[1] += latency or 0.0
    return usage, routes


def roll_up(rows: list[tuple]) -> None:
    usage, routes = rollup_deltas(rows)
    if not usage:
        return
    usage_columns = (*USAGE_KEY, *USAGE_SUMS, *COLUMNS)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO analytics_usagerollup ({', '.join(usage_columns)}) "
            f"VALUES ({', '.join(['%s'] * len(usage_columns))}) "
            f"ON CONFLICT ({', '.join(USAGE_KEY)}) DO UPDATE SET {_USAGE_UPDATE}",
            [tuple(_db(v) for v in (*key, *values)) for key, values in usage.items()],
        )
        cursor.executemany(
            f"INSERT INTO analytics_routerollup ({', '.join(ROUTE_KEY)}, calls, latency_sum) "
            f"VALUES ({', '.join(['%s'] * (len(ROUTE_KEY) + 2))}) "
            f"ON CONFLICT ({', '.join(ROUTE_KEY)}) DO UPDATE SET "
            "calls = analytics_routerollup.calls + EXCLUDED.calls, "
            "latency_sum = analytics_routerollup.latency_sum + EXCLUDED.latency_sum",
            [tuple(_db(v) for v in (*key, *values)) for key, values in routes.items()],
        )


# --- Lambda invocations ----------------------------------------------------------------


def insert_invocations(rows: list[tuple]) -> int:
    """Store invocation rows (INVOCATION_COLUMNS order); returns how many were new."""
    if not rows:
        return 0
    partitions.ensure(_months(rows))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO analytics_functioninvocation ({', '.join(INVOCATION_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(INVOCATION_COLUMNS))}) ON CONFLICT DO NOTHING",
            [tuple(_db(v) for v in row) for row in rows],
        )
        return max(cursor.rowcount, 0)
