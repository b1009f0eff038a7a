"""Series for the usage dashboards, read from the hourly rollups only.

A ``Window`` is a time range in the viewer's time zone with its step: hours up to
seven days, local days beyond (a day across a daylight-saving change has 23 or 25
hours). Every query groups by the bucket in SQL and sums the histogram columns;
percentiles are computed here from the summed histograms, and every bucket of the
window is present in a series, with zeros where nothing happened.
"""

import csv
import datetime
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import TruncDay

from .histogram import COLUMNS, percentile

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
HOURLY, DAILY = "hour", "day"
RANGES = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}
DEFAULT_RANGE = "7d"
# Up to this many local days the series are hourly; beyond, daily.
HOURLY_UP_TO_DAYS = 7
SUMS = ("calls", "c4xx", "c5xx", "latency_sum", "bytes", "tokens_in", "tokens_out", "cost")
TOP = 10


def local_midnight(day: datetime.date, tz: ZoneInfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=tz)


def floor_hour(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime.datetime) -> datetime.datetime:
    floored = floor_hour(moment)
    return floored if floored == moment else floored + HOUR


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC, cut into ``step`` buckets of the time zone ``tz``."""

    start: datetime.datetime
    end: datetime.datetime
    step: str
    tz: ZoneInfo
    key: str = DEFAULT_RANGE
    # The local days asked for, for a custom range.
    first: datetime.date | None = None
    last: datetime.date | None = None

    @property
    def label(self) -> str:
        if self.key in RANGES or self.first is None:
            return RANGES.get(self.key, "")
        return f"{self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}"

    @property
    def first_day(self) -> datetime.date:
        return self.first or self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> datetime.date:
        return (
            self.last or (self.end - datetime.timedelta(microseconds=1)).astimezone(self.tz).date()
        )

    def buckets(self) -> list[datetime.datetime]:
        """The start of every bucket, in the window's time zone."""
        if self.step == HOURLY:
            count = int((self.end - self.start) / HOUR)
            return [(self.start + index * HOUR).astimezone(self.tz) for index in range(count)]
        days = []
        day = self.start.astimezone(self.tz).date()
        while (moment := local_midnight(day, self.tz)) < self.end:
            days.append(moment)
            day += DAY
        return days

    def bucket_expression(self):
        """The SQL bucket of a rollup row: its UTC hour, or its local day."""
        if self.step == HOURLY:
            return F("hour")
        return TruncDay("hour", tzinfo=self.tz)

    def label_of(self, moment: datetime.datetime) -> str:
        local = moment.astimezone(self.tz)
        if self.step == HOURLY:
            return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
        return f"{local:%Y-%m-%d %a}"


def window_for(
    key: str,
    *,
    now: datetime.datetime,
    tz: ZoneInfo,
    first: datetime.date | None = None,
    last: datetime.date | None = None,
) -> Window:
    """The window of a range key ("24h", "7d", "30d", or "custom" with first and last
    local days, both included)."""
    if key in ("24h", "7d"):
        end = floor_hour(now) + HOUR
        hours = 24 if key == "24h" else 24 * 7
        return Window(start=end - hours * HOUR, end=end, step=HOURLY, tz=tz, key=key)
    if key == "30d":
        today = now.astimezone(tz).date()
        start = local_midnight(today - 29 * DAY, tz)
        end = local_midnight(today + DAY, tz)
        return Window(start=_utc(start), end=_utc(end), step=DAILY, tz=tz, key=key)
    if first is None or last is None:
        raise ValueError("A custom range needs its first and last day.")
    start = _utc(local_midnight(first, tz))
    end = _utc(local_midnight(last + DAY, tz))
    days = {"tz": tz, "key": "custom", "first": first, "last": last}
    if (last - first).days < HOURLY_UP_TO_DAYS:
        # Zones a half hour off UTC: hour buckets stay whole UTC hours.
        return Window(start=floor_hour(start), end=ceil_hour(end), step=HOURLY, **days)
    return Window(start=start, end=end, step=DAILY, **days)


def _utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC)


def _key(moment: datetime.datetime) -> int:
    return int(moment.timestamp())


# --- Traffic: calls, errors, latency, tokens and cost per bucket -------------------------


@dataclass
class Point:
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
    def error_rate(self) -> float | None:
        return 100.0 * self.errors / self.calls if self.calls else None

    @property
    def mean_latency(self) -> float | None:
        return self.latency_sum / self.calls if self.calls else None

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
    found = {_key(row["bucket"]): row for row in rows}
    points, total = [], Point()
    for start in window.buckets():
        row = found.get(_key(start))
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
    found = {(_key(row["bucket"]), row[by]): row["total"] or 0 for row in rows}
    buckets = [_key(start) for start in window.buckets()]
    return {ident: [found.get((bucket, ident), 0) for bucket in buckets] for ident in ids}


@dataclass
class RouteRow:
    method: str
    route: str
    calls: int
    errors: int
    latency_sum: float

    @property
    def error_rate(self) -> float | None:
        return 100.0 * self.errors / self.calls if self.calls else None

    @property
    def mean_latency(self) -> float | None:
        return self.latency_sum / self.calls if self.calls else None


def top_routes(route_rollups: QuerySet, window: Window, *, top: int = TOP) -> list[RouteRow]:
    rows = (
        in_window(route_rollups, window)
        .values("method", "route")
        .annotate(
            total=Sum("calls"),
            errors=Sum("calls", filter=Q(status__gte=400)),
            latency=Sum("latency_sum"),
        )
        .order_by("-total", "route", "method")[:top]
    )
    return [
        RouteRow(
            method=row["method"],
            route=row["route"],
            calls=row["total"] or 0,
            errors=row["errors"] or 0,
            latency_sum=row["latency"] or 0.0,
        )
        for row in rows
    ]


def status_counts(route_rollups: QuerySet, window: Window, *, top: int = 20) -> list[tuple]:
    """(status, calls, share in %) of the most frequent status codes."""
    rows = list(
        in_window(route_rollups, window)
        .values("status")
        .annotate(total=Sum("calls"))
        .order_by("-total", "status")[:top]
    )
    overall = sum(row["total"] or 0 for row in rows)
    return [
        (row["status"], row["total"], 100.0 * row["total"] / overall if overall else 0.0)
        for row in rows
    ]


# --- Charts and their CSV --------------------------------------------------------------


@dataclass
class Series:
    name: str
    values: list[float | int | None]


@dataclass
class Chart:
    """What the page draws and tabulates, and the CSV exports."""

    id: str
    title: str
    unit: str
    window: Window
    series: list[Series]

    @property
    def buckets(self) -> list[datetime.datetime]:
        return self.window.buckets()

    def rows(self) -> list[tuple[str, list]]:
        columns = [series.values for series in self.series]
        return [
            (self.window.label_of(start), [values[index] for values in columns])
            for index, start in enumerate(self.buckets)
        ]

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "unit": self.unit,
            "step": self.window.step,
            "x": [_key(start) for start in self.buckets],
            "series": [
                {"name": series.name, "values": [_rounded(v) for v in series.values]}
                for series in self.series
            ],
        }


def _rounded(value):
    return round(value, 3) if isinstance(value, float) else value


def traffic_charts(data: Traffic, *, prefix: str = "") -> list[Chart]:
    """Calls with their 4xx and 5xx, and latency percentiles, per bucket."""
    points, window = data.points, data.window
    return [
        Chart(
            id=f"{prefix}calls",
            title="Calls",
            unit="calls",
            window=window,
            series=[
                Series("Calls", [p.calls for p in points]),
                Series("4xx", [p.c4xx for p in points]),
                Series("5xx", [p.c5xx for p in points]),
            ],
        ),
        Chart(
            id=f"{prefix}latency",
            title="Latency",
            unit="ms",
            window=window,
            series=[
                Series("p50", [p.p50 for p in points]),
                Series("p95", [p.p95 for p in points]),
                Series("p99", [p.p99 for p in points]),
            ],
        ),
    ]


def ai_charts(data: Traffic, *, prefix: str = "", title: str = "") -> list[Chart]:
    points, window = data.points, data.window
    suffix = f" {title}" if title else ""
    return [
        Chart(
            id=f"{prefix}tokens",
            title=f"Tokens{suffix}",
            unit="tokens",
            window=window,
            series=[
                Series("Tokens in", [p.tokens_in for p in points]),
                Series("Tokens out", [p.tokens_out for p in points]),
            ],
        ),
        Chart(
            id=f"{prefix}cost",
            title=f"Cost{suffix}",
            unit="USD",
            window=window,
            series=[Series("Cost", [p.cost for p in points])],
        ),
    ]


def charts_json(charts: Sequence[Chart], window: Window) -> dict:
    return {"tz": window.tz.key, "charts": [chart.as_json() for chart in charts]}


# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def charts_csv(charts: Sequence[Chart]) -> str:
    """Every series of every chart, one value a row: chart, bucket start (ISO 8601 in
    the viewer's zone), series, value."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["chart", "unit", "time", "series", "value"])
    for chart in charts:
        times = [start.isoformat() for start in chart.buckets]
        for series in chart.series:
            for moment, value in zip(times, series.values, strict=True):
                row = [chart.title, chart.unit, moment, series.name, _csv_value(value)]
                writer.writerow([csv_safe(cell) for cell in row])
    return out.getvalue()


def _csv_value(value):
    if value is None:
        return ""
    return round(value, 6) if isinstance(value, float) else value


# --- Quotas of a consumer's subscriptions ---------------------------------------------

PERIODS = ("day", "week", "month")
QUOTA_WARN_AT = 80


def period_start(period: str, now: datetime.datetime) -> datetime.datetime:
    """Where the current quota period began: gateways count quotas in UTC, weeks from
    Monday."""
    today = now.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return today
    if period == "week":
        return today - today.weekday() * DAY
    return today.replace(day=1)


def level_of(percent: float | None, warn_at: float) -> str:
    if percent is None:
        return "ok"
    if percent >= 100:
        return "danger"
    return "warning" if percent >= warn_at else "ok"


@dataclass
class QuotaUse:
    subscription: object
    limit: int | None
    period: str
    used: int
    since: datetime.datetime | None

    @property
    def percent(self) -> float | None:
        return 100.0 * self.used / self.limit if self.limit else None

    @property
    def level(self) -> str:
        return level_of(self.percent, QUOTA_WARN_AT)

    # The <meter>'s bands: green up to the warning, amber, red from the limit on.
    @property
    def meter_low(self) -> float:
        return (self.limit or 0) * QUOTA_WARN_AT / 100

    @property
    def meter_high(self) -> float:
        return max((self.limit or 0) - 0.5, 0)


def quota_use(
    rollups: QuerySet, subscriptions: Sequence, *, now: datetime.datetime
) -> list[QuotaUse]:
    """Calls of each subscription's API in its plan's current quota period: one query
    for all of them."""
    starts = {period: period_start(period, now) for period in PERIODS}
    api_ids = {subscription.api_id for subscription in subscriptions}
    used: dict[int, dict] = {}
    if api_ids:
        rows = (
            rollups.filter(api_id__in=api_ids, hour__gte=min(starts.values()))
            .values("api_id")
            .annotate(
                **{
                    period: Sum("calls", filter=Q(hour__gte=start))
                    for period, start in starts.items()
                }
            )
            .order_by()
        )
        used = {row["api_id"]: row for row in rows}
    uses = []
    for subscription in subscriptions:
        plan = subscription.plan
        period = plan.quota_period if plan.quota_period in PERIODS else ""
        counted = used.get(subscription.api_id, {})
        uses.append(
            QuotaUse(
                subscription=subscription,
                limit=plan.quota_limit if period else None,
                period=period or "month",
                used=counted.get(period or "month") or 0,
                since=starts[period or "month"],
            )
        )
    return uses


# --- AI budgets -------------------------------------------------------------------------


@dataclass
class BudgetUse:
    budget: object
    spent: float

    @property
    def limit(self) -> float:
        return float(self.budget.monthly_limit)

    @property
    def percent(self) -> float | None:
        return 100.0 * self.spent / self.limit if self.limit > 0 else None

    @property
    def meter_low(self) -> float:
        return self.limit * self.budget.warn_at_percent / 100

    @property
    def meter_high(self) -> float:
        return self.limit * 0.9999

    @property
    def level(self) -> str:
        if self.limit <= 0:
            return "danger" if self.spent > 0 else "ok"
        return level_of(self.percent, self.budget.warn_at_percent)


def month_start(now: datetime.datetime, tz: ZoneInfo) -> datetime.datetime:
    local = now.astimezone(tz)
    return _utc(local_midnight(local.date().replace(day=1), tz))


def budget_use(budgets: Iterable, spent_by_team: dict[int, float]) -> list[BudgetUse]:
    return [BudgetUse(budget=b, spent=spent_by_team.get(b.team_id, 0.0)) for b in budgets]
