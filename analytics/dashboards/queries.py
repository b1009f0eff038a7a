"""The rollup queries of the dashboards: sums per bucket of a window, breakdowns by a
column, split series, top routes and status codes. Every query groups in SQL and sums the
histogram columns; percentiles are computed here from the summed histograms, and every
bucket of the window is present in a series, with zeros where nothing happened."""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import QuerySet, Sum

from ..histogram import COLUMNS, percentile
from .windows import Window, bucket_key

SUMS = ("calls", "c4xx", "c5xx", "latency_sum", "bytes", "tokens_in", "tokens_out", "cost")
TOP = 10


class PerCall:
    """Rates per call of anything with ``calls``, ``errors`` and ``latency_sum``."""

    @property
    def error_rate(self) -> float | None:
        return 100.0 * self.errors / self.calls if self.calls else None

    @property
    def mean_latency(self) -> float | None:
        return self.latency_sum / self.calls if self.calls else None


@dataclass
class Point(PerCall):
    """The sums of one bucket (or of a whole window, or of one row of a breakdown)."""

    start: datetime.datetime | None = None
    calls: int = 0
    c4xx: int = 0
    c5xx: int = 0
    latency_sum: float = 0.0
    bytes: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    hist: list[int] = field(default_factory=lambda: [0] * len(COLUMNS))

    @classmethod
    def from_row(cls, row: dict, start: datetime.datetime | None = None) -> "Point":
        point = cls(start=start, **{name: row.get(name) or 0 for name in SUMS})
        if COLUMNS[0] in row:
            point.hist = [row[column] or 0 for column in COLUMNS]
        return point

    def add(self, other: "Point") -> None:
        for name in SUMS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.hist = [a + b for a, b in zip(self.hist, other.hist, strict=True)]

    def percentile(self, q: float) -> float | None:
        return percentile(self.hist, q)

    @property
    def p50(self) -> float | None:
        return self.percentile(0.50)

    @property
    def p95(self) -> float | None:
        return self.percentile(0.95)

    @property
    def p99(self) -> float | None:
        return self.percentile(0.99)

    @property
    def errors(self) -> int:
        return self.c4xx + self.c5xx

    @property
    def rate_4xx(self) -> float | None:
        return 100.0 * self.c4xx / self.calls if self.calls else None

    @property
    def rate_5xx(self) -> float | None:
        return 100.0 * self.c5xx / self.calls if self.calls else None

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


def _aggregates(*, histogram: bool = True, sums: Sequence[str] = SUMS) -> dict:
    aggregates = {name: Sum(name) for name in sums}
    if histogram:
        aggregates.update({column: Sum(column) for column in COLUMNS})
    return aggregates


def in_window(rollups: QuerySet, window: Window) -> QuerySet:
    return rollups.filter(hour__gte=window.start, hour__lt=window.end)


@dataclass
class Traffic:
    window: Window
    points: list[Point]
    total: Point


def traffic(rollups: QuerySet, window: Window) -> Traffic:
    """Every bucket of ``window`` with the sums of ``rollups`` in it: one query."""
    rows = (
        in_window(rollups, window)
        .annotate(bucket=window.bucket_expression())
        .values("bucket")
        .annotate(**_aggregates())
        .order_by()
    )
    found = {bucket_key(row["bucket"]): row for row in rows}
    points, total = [], Point()
    for start in window.buckets():
        row = found.get(bucket_key(start))
        point = Point.from_row(row, start) if row else Point(start=start)
        points.append(point)
        total.add(point)
    return Traffic(window=window, points=points, total=total)


def breakdown(
    rollups: QuerySet,
    window: Window,
    by: str,
    *,
    top: int | None = TOP,
    order: str = "calls",
    histogram: bool = False,
) -> list[tuple[int, Point]]:
    """(value of ``by``, sums) for the ``top`` values with the most ``order``: one query."""
    rows = (
        in_window(rollups, window)
        .values(by)
        .annotate(**_aggregates(histogram=histogram))
        .order_by(f"-{order}", by)
    )
    if top is not None:
        rows = rows[:top]
    return [(row[by], Point.from_row(row)) for row in rows]


def breakdowns(
    rollups: QuerySet, window: Window, bys: Sequence[str], *, top: int | None = TOP
) -> dict[str, list[tuple[int, Point]]]:
    """``breakdown`` by each column of ``bys`` (most calls first, no histograms) from one
    query grouped by all of them: one scan of the window where a query each would scan
    it once a column."""
    rows = in_window(rollups, window).values(*bys).annotate(**_aggregates(histogram=False))
    sums: dict[str, dict[int, Point]] = {by: {} for by in bys}
    for row in rows.order_by():
        point = Point.from_row(row)
        for by in bys:
            found = sums[by].get(row[by])
            if found is None:
                sums[by][row[by]] = Point.from_row(row)
            else:
                found.add(point)
    result = {}
    for by, points in sums.items():
        ranked = sorted(points.items(), key=lambda item: (-item[1].calls, _none_last(item[0])))
        result[by] = ranked if top is None else ranked[:top]
    return result


def _none_last(ident: int | None) -> tuple[bool, int]:
    return (ident is None, ident or 0)


def split_series(
    rollups: QuerySet, window: Window, by: str, ids: Iterable[int], *, value: str = "calls"
) -> dict[int, list[float]]:
    """One zero-filled series of ``value`` per id of ``by`` (the ids given): one query."""
    ids = list(ids)
    if not ids:
        return {}
    rows = (
        in_window(rollups, window)
        .filter(**{f"{by}__in": ids})
        .annotate(bucket=window.bucket_expression())
        .values("bucket", by)
        .annotate(total=Sum(value))
        .order_by()
    )
    found = {(bucket_key(row["bucket"]), row[by]): row["total"] or 0 for row in rows}
    buckets = [bucket_key(start) for start in window.buckets()]
    return {ident: [found.get((bucket, ident), 0) for bucket in buckets] for ident in ids}


@dataclass
class RouteRow(PerCall):
    method: str
    route: str
    calls: int
    errors: int
    latency_sum: float


def route_summary(
    route_rollups: QuerySet, window: Window, *, top: int = TOP, top_statuses: int = 20
) -> tuple[list[RouteRow], list[tuple]]:
    """The ``top`` routes (calls, errors, latency) and the ``top_statuses`` status codes
    (status, calls, share in %) from one query grouped by route and status."""
    rows = (
        in_window(route_rollups, window)
        .values("method", "route", "status")
        .annotate(total=Sum("calls"), latency=Sum("latency_sum"))
        .order_by()
    )
    routes: dict[tuple[str, str], RouteRow] = {}
    statuses: dict[int, int] = {}
    for row in rows:
        calls = row["total"] or 0
        key = (row["method"], row["route"])
        summary = routes.get(key)
        if summary is None:
            summary = routes[key] = RouteRow(*key, calls=0, errors=0, latency_sum=0.0)
        summary.calls += calls
        summary.latency_sum += row["latency"] or 0.0
        if row["status"] >= 400:
            summary.errors += calls
        statuses[row["status"]] = statuses.get(row["status"], 0) + calls
    ranked_routes = sorted(routes.values(), key=lambda r: (-r.calls, r.route, r.method))[:top]
    ranked_statuses = sorted(statuses.items(), key=lambda item: (-item[1], item[0]))
    ranked_statuses = ranked_statuses[:top_statuses]
    overall = sum(calls for _, calls in ranked_statuses)
    return ranked_routes, [
        (status, calls, 100.0 * calls / overall if overall else 0.0)
        for status, calls in ranked_statuses
    ]
