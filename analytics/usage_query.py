"""Usage as time series for the REST API: calls, errors and latency percentiles per
hour or day, grouped by API, application, route or status class, from the hourly
rollups (never raw events).

Tenancy: an organisation reads two kinds of rows and nothing else.

* As a provider, the rows it imported for its own APIs, only those its user sees
  (team-only APIs stay with their team); traffic no API could be matched to
  (``api`` 0) only for its owners and admins.
* As a consumer, the rows of its own applications' calls to other organisations'
  APIs, whichever organisation imported them; never another application's.

The two sets do not overlap (a consumer row is imported by another organisation),
so nothing is counted twice when an organisation is both.

Resolution: rollups are hourly. Buckets start on local whole hours and midnights
(daylight saving included: a 23- or 25-hour day is one bucket, and the repeated
hour of autumn is two). A bucket holds the UTC hours that begin in it, so in a zone
whose offset is not a whole hour (India, Nepal) each hour bucket holds the UTC
hour starting half-way through it. Route and status-class series carry no
histogram: they give the mean latency and no percentiles.
"""

import datetime
import zoneinfo
from dataclasses import dataclass, field

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from apis.models import Api, Application
from apis.selectors import api_list_visible
from tenants.errors import ValidationFailed
from tenants.models import Organisation, User

from .histogram import COLUMNS, percentile
from .models import RouteRollup, UsageRollup

GROUPS = ("api", "application", "route", "status_class")
INTERVALS = {"hour": datetime.timedelta(hours=1), "day": datetime.timedelta(days=1)}
MAX_BUCKETS = 2000
DEFAULT_SPAN = datetime.timedelta(hours=24)
MAX_SERIES = 100
STATUS_CLASSES = (("ok", "Below 400"), ("4xx", "Client errors (4xx)"), ("5xx", "Server errors"))
UNRESOLVED = 0


def _invalid(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field_name}: {message}", fields={field_name: [message]})


@dataclass(frozen=True)
class UsageQuery:
    start: datetime.datetime  # inclusive, aligned to the interval in ``tz``
    end: datetime.datetime  # exclusive
    interval: str
    tz: zoneinfo.ZoneInfo
    group_by: str | None = None
    api: Api | None = None
    application_id: int | None = None
    limit: int = 20


@dataclass
class Point:
    t: datetime.datetime
    calls: int = 0
    c4xx: int = 0
    c5xx: int = 0
    latency_sum: float = 0.0
    histogram: list[int] | None = None

    @property
    def errors(self) -> int:
        return self.c4xx + self.c5xx

    @property
    def latency_mean(self) -> float | None:
        return self.latency_sum / self.calls if self.calls else None

    def p(self, q: float) -> float | None:
        return percentile(self.histogram, q) if self.histogram else None

    @property
    def p50(self) -> float | None:
        return self.p(0.50)

    @property
    def p95(self) -> float | None:
        return self.p(0.95)

    @property
    def p99(self) -> float | None:
        return self.p(0.99)


@dataclass
class Series:
    key: str
    label: str
    points: list[Point]
    total: Point
    detail: dict = field(default_factory=dict)


@dataclass
class UsageResult:
    query: UsageQuery
    series: list[Series]
    truncated: bool = False


# --- Parsing the query ----------------------------------------------------------------


def _parse_moment(text: str, name: str, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    try:
        if len(text) == 10:
            moment = datetime.datetime.combine(datetime.date.fromisoformat(text), datetime.time())
        else:
            moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(name, "Give an ISO 8601 date or date and time.") from None
    if not 1970 <= moment.year <= 2200:  # far dates would overflow in time zone arithmetic
        raise _invalid(name, "Give a date between 1970 and 2200.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def _floor(moment: datetime.datetime, interval: str, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    """The start of the bucket holding ``moment``, as a UTC instant (the key of buckets)."""
    local = moment.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    if interval == "day":
        local = local.replace(hour=0, fold=0)
    return local.astimezone(datetime.UTC)


def _next(moment: datetime.datetime, interval: str, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    if interval == "hour":
        return moment + INTERVALS["hour"]
    day = moment.astimezone(tz).date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(), tzinfo=tz).astimezone(datetime.UTC)


def buckets(query: UsageQuery) -> list[datetime.datetime]:
    """The bucket starts of the query, as UTC instants."""
    found, moment = [], query.start
    while moment < query.end:
        found.append(moment)
        moment = _next(moment, query.interval, query.tz)
    return found


def parse_usage_query(
    *, organisation: Organisation, user: User, params, now: datetime.datetime | None = None
) -> UsageQuery:
    """Read and check the query string: ``group_by``, ``interval``, ``from``, ``to``,
    ``tz``, ``api`` (``slug`` of one's own or ``owner/slug``), ``application`` (id)
    and ``limit`` (series)."""
    now = now or timezone.now()
    tz_name = params.get("tz") or "UTC"
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _invalid("tz", f"Unknown time zone {tz_name[:60]!r}; give an IANA name.") from None
    interval = params.get("interval") or "hour"
    if interval not in INTERVALS:
        raise _invalid("interval", "Give hour or day.")
    group_by = params.get("group_by") or None
    if group_by is not None and group_by not in GROUPS:
        raise _invalid("group_by", f"Give one of {', '.join(GROUPS)}.")
    end = _parse_moment(params["to"], "to", tz) if params.get("to") else now
    start = _parse_moment(params["from"], "from", tz) if params.get("from") else end - DEFAULT_SPAN
    if start >= end:
        raise _invalid("from", "Give a start before the end.")
    start = _floor(start, interval, tz)
    # The end is exclusive: a bucket is included when it starts before ``to``.
    aligned_end = _floor(end, interval, tz)
    end = aligned_end if aligned_end == end else _next(aligned_end, interval, tz)
    span_buckets = (end - start) / INTERVALS[interval]
    if span_buckets > MAX_BUCKETS:
        raise _invalid(
            "from",
            f"That is {int(span_buckets)} {interval}s; ask for at most {MAX_BUCKETS} "
            f"(use interval=day for long ranges).",
        )
    try:
        limit = int(params.get("limit") or 20)
    except ValueError:
        raise _invalid("limit", "Give a whole number.") from None
    if not 1 <= limit <= MAX_SERIES:
        raise _invalid("limit", f"Give 1 to {MAX_SERIES}.")
    api = None
    if params.get("api"):
        api = _api(organisation=organisation, user=user, text=params["api"])
    application_id = None
    if params.get("application"):
        try:
            application_id = int(params["application"])
        except ValueError:
            raise _invalid("application", "Give an application's id.") from None
    if group_by == "route" and application_id is not None:
        raise _invalid("application", "Routes are counted per API, not per application.")
    return UsageQuery(
        start=start,
        end=end,
        interval=interval,
        tz=tz,
        group_by=group_by,
        api=api,
        application_id=application_id,
        limit=limit,
    )


def _api(*, organisation: Organisation, user: User, text: str) -> Api:
    owner, _, slug = text.rpartition("/")
    api = (
        api_list_visible(user=user)
        .filter(organisation__slug=owner or organisation.slug, slug=slug)
        .select_related("organisation")
        .first()
    )
    if api is None:
        # The same answer for missing and for not visible.
        raise _invalid("api", "No API by that name is visible to you.")
    return api


# --- Scope ----------------------------------------------------------------------------


def provider_api_ids(*, organisation: Organisation, user: User) -> QuerySet:
    return api_list_visible(user=user).filter(organisation=organisation).values("pk")


def usage_scope(*, organisation: Organisation, user: User, is_admin: bool) -> Q:
    """The UsageRollup rows ``organisation`` may read through ``user``."""
    own_apis = Q(api_id__in=provider_api_ids(organisation=organisation, user=user))
    if is_admin:
        own_apis |= Q(api_id=UNRESOLVED)
    provider = Q(organisation_id=organisation.pk) & own_apis
    consumer = Q(
        application_id__in=Application.objects.filter(organisation=organisation).values("pk")
    ) & ~Q(organisation_id=organisation.pk)
    return provider | consumer


def route_scope(*, organisation: Organisation, user: User, is_admin: bool) -> Q:
    """RouteRollup rows: the provider's side only (routes carry no application)."""
    own_apis = Q(api_id__in=provider_api_ids(organisation=organisation, user=user))
    if is_admin:
        own_apis |= Q(api_id=UNRESOLVED)
    return Q(organisation_id=organisation.pk) & own_apis


# --- Running it -----------------------------------------------------------------------


def _bucket_expression(query: UsageQuery):
    # Hour buckets group the rollup hours themselves (exact, also across a DST change);
    # day buckets truncate in the database so a long range returns one row a day.
    return F("hour") if query.interval == "hour" else TruncDay("hour", tzinfo=query.tz)


def _empty(moment: datetime.datetime, with_histogram: bool) -> Point:
    return Point(t=moment, histogram=[0] * len(COLUMNS) if with_histogram else None)


def _fill(rows: list[dict], query: UsageQuery, *, key_of, with_histogram: bool) -> dict:
    """Rows of (bucket, group, sums) → {group: {bucket start: Point}}."""
    grouped: dict[object, dict[datetime.datetime, Point]] = {}
    for row in rows:
        moment = _floor(row["bucket"], query.interval, query.tz)
        points = grouped.setdefault(key_of(row), {})
        point = points.get(moment)
        if point is None:
            point = points[moment] = _empty(moment, with_histogram)
        point.calls += row["calls"] or 0
        point.c4xx += row.get("c4xx") or 0
        point.c5xx += row.get("c5xx") or 0
        point.latency_sum += row["latency_sum"] or 0.0
        if with_histogram:
            for index, column in enumerate(COLUMNS):
                point.histogram[index] += row[column] or 0
    return grouped


def _series(
    label: tuple[str, str, dict], points: dict, query: UsageQuery, with_histogram: bool
) -> Series:
    key, name, detail = label
    filled = [points.get(moment) or _empty(moment, with_histogram) for moment in buckets(query)]
    total = _empty(query.start, with_histogram)
    for point in filled:
        total.calls += point.calls
        total.c4xx += point.c4xx
        total.c5xx += point.c5xx
        total.latency_sum += point.latency_sum
        if with_histogram:
            total.histogram = [a + b for a, b in zip(total.histogram, point.histogram, strict=True)]
    return Series(key=key, label=name, points=filled, total=total, detail=detail)


def _top(rows: QuerySet, group_fields: list[str], limit: int) -> tuple[list[tuple], bool]:
    """The ``limit`` groups with the most calls, and whether there were more."""
    ranked = list(
        rows.values(*group_fields)
        .annotate(total=Sum("calls"))
        .order_by("-total", *group_fields)
        .values_list(*group_fields)[: limit + 1]
    )
    return ranked[:limit], len(ranked) > limit


_USAGE_SUMS = {
    "calls": Sum("calls"),
    "c4xx": Sum("c4xx"),
    "c5xx": Sum("c5xx"),
    "latency_sum": Sum("latency_sum"),
    **{column: Sum(column) for column in COLUMNS},
}


def usage_series(
    *, organisation: Organisation, user: User, is_admin: bool, query: UsageQuery
) -> UsageResult:
    """The series the query asks for, every bucket present (zero when nothing was
    called), the groups with the most calls first."""
    if query.group_by == "route":
        return _route_series(organisation=organisation, user=user, is_admin=is_admin, query=query)
    rows = UsageRollup.objects.filter(
        usage_scope(organisation=organisation, user=user, is_admin=is_admin),
        hour__gte=query.start,
        hour__lt=query.end,
    )
    if query.api is not None:
        rows = rows.filter(api_id=query.api.pk)
    if query.application_id is not None:
        rows = rows.filter(application_id=query.application_id)
    bucket = _bucket_expression(query)
    if query.group_by in ("api", "application"):
        group_field = "api_id" if query.group_by == "api" else "application_id"
        top, truncated = _top(rows, [group_field], query.limit)
        ids = [ident for (ident,) in top]
        data = list(
            rows.filter(**{f"{group_field}__in": ids})
            .annotate(bucket=bucket)
            .values("bucket", group_field)
            .annotate(**_USAGE_SUMS)
            .order_by()
        )
        grouped = _fill(data, query, key_of=lambda row: row[group_field], with_histogram=True)
        labels = _api_labels(ids) if query.group_by == "api" else _application_labels(ids)
        series = [_series(labels[i], grouped.get(i, {}), query, True) for i in ids]
        return UsageResult(query=query, series=series, truncated=truncated)
    data = list(rows.annotate(bucket=bucket).values("bucket").annotate(**_USAGE_SUMS).order_by())
    points = _fill(data, query, key_of=lambda row: None, with_histogram=True).get(None, {})
    if query.group_by == "status_class":
        return UsageResult(query=query, series=_status_classes(points, query))
    return UsageResult(query=query, series=[_series(("all", "All calls", {}), points, query, True)])


def _status_classes(points: dict, query: UsageQuery) -> list[Series]:
    """Calls below 400, 4xx and 5xx in each bucket. The histogram is not split by
    status, so these series carry counts and no latency."""
    split: dict[str, dict] = {key: {} for key, _ in STATUS_CLASSES}
    for moment, point in points.items():
        split["ok"][moment] = Point(t=moment, calls=point.calls - point.c4xx - point.c5xx)
        split["4xx"][moment] = Point(t=moment, calls=point.c4xx, c4xx=point.c4xx)
        split["5xx"][moment] = Point(t=moment, calls=point.c5xx, c5xx=point.c5xx)
    return [_series((key, label, {}), split[key], query, False) for key, label in STATUS_CLASSES]


def _route_series(
    *, organisation: Organisation, user: User, is_admin: bool, query: UsageQuery
) -> UsageResult:
    rows = RouteRollup.objects.filter(
        route_scope(organisation=organisation, user=user, is_admin=is_admin),
        hour__gte=query.start,
        hour__lt=query.end,
    )
    if query.api is not None:
        rows = rows.filter(api_id=query.api.pk)
    top, truncated = _top(rows, ["api_id", "method", "route"], query.limit)
    if not top:
        return UsageResult(query=query, series=[])
    wanted = Q()
    for api_id, method, route in top:
        wanted |= Q(api_id=api_id, method=method, route=route)
    data = list(
        rows.filter(wanted)
        .annotate(bucket=_bucket_expression(query))
        .values("bucket", "api_id", "method", "route", "status")
        .annotate(calls=Sum("calls"), latency_sum=Sum("latency_sum"))
        .order_by()
    )
    for row in data:
        status = row["status"] or 0
        row["c4xx"] = row["calls"] if 400 <= status <= 499 else 0
        row["c5xx"] = row["calls"] if status >= 500 else 0
    grouped = _fill(
        data,
        query,
        key_of=lambda row: (row["api_id"], row["method"], row["route"]),
        with_histogram=False,
    )
    apis = _api_labels([api_id for api_id, _, _ in top])
    series = []
    for api_id, method, route in top:
        api_key, api_name, _ = apis[api_id]
        label = (
            f"{api_key} {method} {route}".strip(),
            f"{method} {route}".strip(),
            {"api": api_key, "api_name": api_name, "method": method, "route": route},
        )
        series.append(_series(label, grouped.get((api_id, method, route), {}), query, False))
    return UsageResult(query=query, series=series, truncated=truncated)


def _api_labels(ids) -> dict[int, tuple[str, str, dict]]:
    """id → ("owner/slug", name, detail) of APIs named by rows the caller may read."""
    found = {
        pk: (f"{owner}/{slug}", name, {"id": pk})
        for pk, owner, slug, name in Api.objects.filter(pk__in=list(ids)).values_list(
            "pk", "organisation__slug", "slug", "name"
        )
    }
    found[UNRESOLVED] = ("-", "No API matched", {"id": None})
    return {ident: found.get(ident, (str(ident), "Deleted API", {"id": ident})) for ident in ids}


def _application_labels(ids) -> dict[int, tuple[str, str, dict]]:
    """id → (id, name, team and organisation): what a provider may know of a consumer."""
    found = {
        pk: (str(pk), name, {"id": pk, "team": team, "organisation": org})
        for pk, name, team, org in Application.objects.filter(pk__in=list(ids)).values_list(
            "pk", "name", "team__name", "organisation__name"
        )
    }
    found[UNRESOLVED] = ("-", "No application matched", {"id": None})
    return {
        ident: found.get(ident, (str(ident), "Deleted application", {"id": ident})) for ident in ids
    }
