"""The time windows of the dashboards. A ``Window`` is a time range in the viewer's time
zone with its step: hours up to seven days, local days beyond (a day across a
daylight-saving change has 23 or 25 hours)."""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import F
from django.db.models.functions import TruncDay

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
HOURLY, DAILY = "hour", "day"
RANGES = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}
DEFAULT_RANGE = "7d"
# Up to this many local days the series are hourly; beyond, daily.
HOURLY_UP_TO_DAYS = 7


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
        return Window(start=as_utc(start), end=as_utc(end), step=DAILY, tz=tz, key=key)
    if first is None or last is None:
        raise ValueError("A custom range needs its first and last day.")
    start = as_utc(local_midnight(first, tz))
    end = as_utc(local_midnight(last + DAY, tz))
    days = {"tz": tz, "key": "custom", "first": first, "last": last}
    if (last - first).days < HOURLY_UP_TO_DAYS:
        # Zones a half hour off UTC: hour buckets stay whole UTC hours.
        return Window(start=floor_hour(start), end=ceil_hour(end), step=HOURLY, **days)
    return Window(start=start, end=end, step=DAILY, **days)


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC)


def bucket_key(moment: datetime.datetime) -> int:
    """One integer for one moment, whatever its zone: how rows meet their buckets, and the
    charts' x axis."""
    return int(moment.timestamp())
