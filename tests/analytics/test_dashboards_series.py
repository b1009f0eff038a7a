"""Windows and series: every bucket present, hours or local days of the viewer's zone,
daylight-saving changes included."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from analytics.dashboards import DAILY, HOURLY, traffic, window_for
from analytics.models import UsageRollup

from .usage_data import rollup

UTC = datetime.UTC
LONDON = ZoneInfo("Europe/London")
NOW = datetime.datetime(2026, 6, 10, 14, 37, tzinfo=UTC)


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def test_presets_choose_hours_up_to_a_week_and_days_beyond():
    day = window_for("24h", now=NOW, tz=UTC)
    assert (day.step, len(day.buckets())) == (HOURLY, 24)
    # The current hour is the last bucket, partly over.
    assert day.buckets()[-1] == at(2026, 6, 10, 14)
    assert day.end == at(2026, 6, 10, 15)
    week = window_for("7d", now=NOW, tz=UTC)
    assert (week.step, len(week.buckets())) == (HOURLY, 168)
    month = window_for("30d", now=NOW, tz=LONDON)
    assert (month.step, len(month.buckets())) == (DAILY, 30)
    # Local days: midnight in London is 23:00 UTC the day before in summer.
    assert month.end == at(2026, 6, 10, 23)
    assert month.buckets()[0] == datetime.datetime(2026, 5, 12, tzinfo=LONDON)


@pytest.mark.django_db
def test_series_are_zero_filled(cast):
    rollup(cast.org, at(2026, 6, 10, 9), api=1, calls=4, c5xx=1)
    rollup(cast.org, at(2026, 6, 10, 9), api=1, app=2, calls=3)
    rollup(cast.org, at(2026, 6, 10, 12), api=1, calls=2)
    rollup(cast.org, at(2026, 6, 8, 12), api=1, calls=50)  # before the window
    window = window_for("24h", now=NOW, tz=UTC)
    data = traffic(UsageRollup.objects.filter(organisation=cast.org), window)
    assert [p.start for p in data.points] == window.buckets()
    calls = {p.start.hour: p.calls for p in data.points if p.calls}
    assert calls == {9: 7, 12: 2}
    assert sum(1 for p in data.points if p.calls == 0) == 22
    assert all(p.p95 is None for p in data.points if p.calls == 0)
    assert (data.total.calls, data.total.c5xx) == (9, 1)


@pytest.mark.django_db
def test_days_are_local_days_across_the_autumn_change(cast):
    """Europe/London leaves summer time on 2026-10-25: that local day has 25 hours."""
    window = window_for(
        "custom",
        now=NOW,
        tz=LONDON,
        first=datetime.date(2026, 10, 20),
        last=datetime.date(2026, 10, 30),
    )
    assert window.step == DAILY
    starts = window.buckets()
    assert len(starts) == 11
    lengths = {
        # Python subtracts datetimes of one zone by their wall clocks: compare in UTC.
        start.date(): (following.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600
        for start, following in zip(starts, [*starts[1:], window.end], strict=True)
    }
    assert lengths[datetime.date(2026, 10, 25)] == 25
    assert lengths[datetime.date(2026, 10, 24)] == 24
    rollup(cast.org, at(2026, 10, 24, 22), calls=1)  # 23:00 BST on the 24th
    rollup(cast.org, at(2026, 10, 24, 23), calls=10)  # 00:00 BST on the 25th
    rollup(cast.org, at(2026, 10, 25, 23), calls=100)  # 23:00 GMT on the 25th
    rollup(cast.org, at(2026, 10, 26, 0), calls=1000)  # 00:00 GMT on the 26th
    data = traffic(UsageRollup.objects.filter(organisation=cast.org), window)
    by_day = {p.start.date(): p.calls for p in data.points}
    assert by_day[datetime.date(2026, 10, 24)] == 1
    assert by_day[datetime.date(2026, 10, 25)] == 110
    assert by_day[datetime.date(2026, 10, 26)] == 1000
    assert data.total.calls == 1111


@pytest.mark.django_db
def test_hours_across_the_spring_and_autumn_changes_keep_every_utc_hour(cast):
    spring = window_for(
        "custom",
        now=NOW,
        tz=LONDON,
        first=datetime.date(2026, 3, 28),
        last=datetime.date(2026, 3, 29),
    )
    assert spring.step == HOURLY
    # 24 hours on the 28th, 23 on the 29th: 01:00 local never happens.
    labels = [spring.label_of(start) for start in spring.buckets()]
    assert len(labels) == 47
    assert "2026-03-29 00:00 GMT" in labels
    assert "2026-03-29 01:00 GMT" not in labels
    assert "2026-03-29 02:00 BST" in labels
    autumn = window_for(
        "custom",
        now=NOW,
        tz=LONDON,
        first=datetime.date(2026, 10, 25),
        last=datetime.date(2026, 10, 25),
    )
    labels = [autumn.label_of(start) for start in autumn.buckets()]
    assert len(labels) == 25
    assert labels.count("2026-10-25 01:00 BST") == labels.count("2026-10-25 01:00 GMT") == 1
    rollup(cast.org, at(2026, 10, 25, 0), calls=3)  # 01:00 BST
    rollup(cast.org, at(2026, 10, 25, 1), calls=5)  # 01:00 GMT
    data = traffic(UsageRollup.objects.filter(organisation=cast.org), autumn)
    shown = {autumn.label_of(p.start): p.calls for p in data.points if p.calls}
    assert shown == {"2026-10-25 01:00 BST": 3, "2026-10-25 01:00 GMT": 5}


@pytest.mark.django_db
def test_the_same_rows_fall_on_other_days_in_another_zone(cast):
    rollup(cast.org, at(2026, 6, 5, 20), calls=7)  # 6 June in Tokyo, 5 June in New York
    rows = UsageRollup.objects.filter(organisation=cast.org)
    for zone, day in (("Asia/Tokyo", 6), ("America/New_York", 5), ("UTC", 5)):
        window = window_for("30d", now=NOW, tz=ZoneInfo(zone))
        data = traffic(rows, window)
        assert [p.start.day for p in data.points if p.calls] == [day], zone


def test_hour_buckets_stay_whole_utc_hours_in_half_hour_zones():
    kolkata = ZoneInfo("Asia/Kolkata")
    window = window_for(
        "custom",
        now=NOW,
        tz=kolkata,
        first=datetime.date(2026, 6, 1),
        last=datetime.date(2026, 6, 1),
    )
    starts = window.buckets()
    assert all(start.astimezone(UTC).minute == 0 for start in starts)
    # Local midnight is 18:30 UTC: the first bucket starts half an hour before it.
    assert starts[0].astimezone(UTC) == at(2026, 5, 31, 18)
    assert len(starts) == 25
    assert window.label == "2026-06-01 to 2026-06-01"
