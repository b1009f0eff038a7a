"""Monthly partitions of the event tables on PostgreSQL: made ahead of need (a beat
task, and the importer for the months a batch touches), dropped whole when every
organisation's raw retention has passed them."""

import datetime

from django.db import connection

TABLES = ("analytics_requestevent", "analytics_functioninvocation")


def month_start(moment: datetime.datetime) -> datetime.date:
    return datetime.date(moment.year, moment.month, 1)


def next_month(day: datetime.date) -> datetime.date:
    return datetime.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def partition_name(table: str, month: datetime.date) -> str:
    return f"{table}_{month:%Y%m}"


def ensure(months: set[datetime.date]) -> None:
    """Create the partitions for ``months`` that do not exist yet (PostgreSQL only).
    Cheap enough to call for every page: no cache that a rolled-back transaction
    could leave lying."""
    if connection.vendor != "postgresql" or not months:
        return
    # DDL takes no bind parameters; the bounds are formatted dates, not input. One
    # round trip for them all: an importer calls this for every page.
    statements = [
        f"CREATE TABLE IF NOT EXISTS {partition_name(table, month)} PARTITION OF {table} "
        f"FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+00') "
        f"TO ('{next_month(month):%Y-%m-%d} 00:00:00+00')"
        for table in TABLES
        for month in sorted(months)
    ]
    with connection.cursor() as cursor:
        cursor.execute("; ".join(statements))


def ensure_ahead(*, today: datetime.date, months_ahead: int = 2, months_back: int = 1) -> None:
    month = month_start(datetime.datetime(today.year, today.month, 1))
    for _ in range(months_back):
        month = datetime.date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    wanted = set()
    for _ in range(months_back + months_ahead + 1):
        wanted.add(month)
        month = next_month(month)
    ensure(wanted)


def existing(table: str) -> list[tuple[str, datetime.date]]:
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [table],
        )
        names = [row[0] for row in cursor.fetchall()]
    out = []
    for name in names:
        suffix = name.rsplit("_", 1)[-1]
        if suffix.isdigit() and len(suffix) == 6:
            out.append((name, datetime.date(int(suffix[:4]), int(suffix[4:]), 1)))
    return sorted(out, key=lambda item: item[1])


def drop_before(cutoff: datetime.date) -> list[str]:
    """Drop whole partitions that end before ``cutoff``; returns their names."""
    dropped = []
    with connection.cursor() as cursor:
        for table in TABLES:
            for name, month in existing(table):
                if next_month(month) <= cutoff:
                    cursor.execute(f"DROP TABLE IF EXISTS {name}")
                    dropped.append(name)
    return dropped
