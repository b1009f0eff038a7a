"""Retention: raw events and invocations are kept each organisation's
``raw_retention_days`` (30 unless set), rollups its ``rollup_retention_months`` (13).

Whole monthly partitions older than every organisation's retention are dropped,
which costs nothing per row. What is left is deleted in batches of BATCH rows, one
short transaction each, so the nightly purge never holds locks for long or bloats
one huge transaction. Organisations are grouped by retention, so the work is one
pass per distinct retention, not one per organisation.
"""

import datetime
import logging
from collections import defaultdict

from django.db import connection
from django.utils import timezone

from .. import partitions
from ..models import AnalyticsSettings

logger = logging.getLogger(__name__)

BATCH = 10_000
DEFAULT_RAW_DAYS = AnalyticsSettings._meta.get_field("raw_retention_days").default
DEFAULT_ROLLUP_MONTHS = AnalyticsSettings._meta.get_field("rollup_retention_months").default
RAW_TABLES = (
    ("analytics_requestevent", "events"),
    ("analytics_functioninvocation", "invocations"),
)
ROLLUP_TABLES = (
    ("analytics_usagerollup", "usage_rollups"),
    ("analytics_routerollup", "route_rollups"),
)


def _groups(field: str, default: int) -> list[tuple[int, list[int], bool]]:
    """(retention, organisation ids, negate) per distinct retention: organisations
    whose setting differs from the default are listed, the rest are 'all but those'."""
    by_value: dict[int, list[int]] = defaultdict(list)
    for organisation_id, value in AnalyticsSettings.objects.values_list("organisation_id", field):
        if value != default:
            by_value[value].append(organisation_id)
    special = [pk for ids in by_value.values() for pk in ids]
    return [(value, ids, False) for value, ids in by_value.items()] + [(default, special, True)]


def _organisations(ids: list[int], negate: bool) -> tuple[str, list]:
    if not ids:
        return ("1=1", []) if negate else ("1=0", [])
    marks = ", ".join(["%s"] * len(ids))
    return f"organisation_id {'NOT IN' if negate else 'IN'} ({marks})", list(ids)


def _db(moment: datetime.datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def _delete_in_batches(table: str, row_id: str, where: str, params: list, batch: int) -> int:
    """DELETE ... WHERE row id IN (the next ``batch`` matching rows), until none match."""
    total = 0
    # Table and column names come from this module and pg_inherits; values are parameters.
    if connection.vendor == "postgresql" and row_id == "ctid":
        sql = f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE "  # noqa: S608
        sql += f"{where} LIMIT %s))"
    else:
        sql = f"DELETE FROM {table} WHERE {row_id} IN (SELECT {row_id} FROM {table} WHERE "  # noqa: S608
        sql += f"{where} LIMIT %s)"
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [*params, batch])
            deleted = max(cursor.rowcount, 0)
            total += deleted
            if deleted < batch:
                return total


def _raw_tables(table: str, cutoff: datetime.datetime) -> list[str]:
    """The tables that may hold rows older than ``cutoff``: on PostgreSQL the monthly
    partitions that start before it (a ctid means something only inside one), else
    the table itself."""
    if connection.vendor != "postgresql":
        return [table]
    month = partitions.month_start(cutoff)
    return [name for name, start in partitions.existing(table) if start <= month]


def _months_before(moment: datetime.datetime, months: int) -> datetime.datetime:
    index = moment.year * 12 + moment.month - 1 - months
    return datetime.datetime(index // 12, index % 12 + 1, 1, tzinfo=datetime.UTC)


def purge(*, now: datetime.datetime | None = None, batch: int = BATCH) -> dict:
    """Apply every organisation's retention; returns what was removed."""
    now = now or timezone.now()
    removed: dict = {name: 0 for _, name in (*RAW_TABLES, *ROLLUP_TABLES)}
    raw_groups = _groups("raw_retention_days", DEFAULT_RAW_DAYS)
    longest = max(days for days, _, _ in raw_groups)
    removed["partitions"] = partitions.drop_before((now - datetime.timedelta(days=longest)).date())
    row_id = "ctid" if connection.vendor == "postgresql" else "rowid"
    for days, ids, negate in raw_groups:
        cutoff = now - datetime.timedelta(days=days)
        who, params = _organisations(ids, negate)
        for table, name in RAW_TABLES:
            for part in _raw_tables(table, cutoff):
                removed[name] += _delete_in_batches(
                    part, row_id, f"ts < %s AND {who}", [_db(cutoff), *params], batch
                )
    for months, ids, negate in _groups("rollup_retention_months", DEFAULT_ROLLUP_MONTHS):
        cutoff = _months_before(now, months)
        who, params = _organisations(ids, negate)
        for table, name in ROLLUP_TABLES:
            removed[name] += _delete_in_batches(
                table, "id", f"hour < %s AND {who}", [_db(cutoff), *params], batch
            )
    logger.info(
        "analytics retention: %s events, %s invocations, %s + %s rollup rows, partitions %s",
        removed["events"],
        removed["invocations"],
        removed["usage_rollups"],
        removed["route_rollups"],
        removed["partitions"],
    )
    return removed
