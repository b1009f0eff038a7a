"""Retention: raw events and invocations past each organisation's days are deleted in
batches, whole partitions past everybody's are dropped, rollups past their months go."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from analytics import partitions
from analytics.models import AnalyticsSettings, RouteRollup, UsageRollup
from analytics.services.retention import purge
from analytics.storage import insert_invocations, insert_requests
from tests.factories import OrganisationFactory

AGES = (3, 10, 45, 150)  # days


def _event(org_id: int, ts: datetime.datetime, n: int) -> tuple:
    return (ts, 900 + org_id, f"e-{org_id}-{n}", org_id, 1, 1, 0, 0, "GET", "/a", 200, 12.0,
            None, 10, "", None, None, None, "", "prod")  # fmt: skip


def _invocation(org_id: int, ts: datetime.datetime, n: int) -> tuple:
    return (ts, 900 + org_id, f"i-{org_id}-{n}", org_id, "fn", "", 2.0, 3.0, 128, 64, None)


def _ages_left(table: str, org_id: int, now: datetime.datetime) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ts FROM {table} WHERE organisation_id = %s", [org_id])
        return sorted({round((now - ts).total_seconds() / 86400) for (ts,) in cursor.fetchall()})


@pytest.mark.django_db
def test_each_organisation_keeps_its_own_days_and_old_partitions_go_whole():
    now = timezone.now()
    default, short, long = (OrganisationFactory() for _ in range(3))
    AnalyticsSettings.objects.create(organisation=short, raw_retention_days=7)
    AnalyticsSettings.objects.create(organisation=long, raw_retention_days=90)
    for org in (default, short, long):
        rows, calls = [], []
        for age in AGES:
            for n in range(3):  # more rows than a batch, so batches repeat
                ts = now - datetime.timedelta(days=age, minutes=n)
                rows.append(_event(org.pk, ts, age * 10 + n))
                calls.append(_invocation(org.pk, ts, age * 10 + n))
        insert_requests(rows)
        insert_invocations(calls)
    oldest_month = partitions.month_start(now - datetime.timedelta(days=150))
    assert oldest_month in {month for _, month in partitions.existing("analytics_requestevent")}

    removed = purge(now=now, batch=2)

    for table in ("analytics_requestevent", "analytics_functioninvocation"):
        assert _ages_left(table, default.pk, now) == [3, 10]
        assert _ages_left(table, short.pk, now) == [3]
        assert _ages_left(table, long.pk, now) == [3, 10, 45]
    # The 150-day-old month is past even the longest retention (90 days): dropped whole.
    assert (
        partitions.partition_name("analytics_requestevent", oldest_month) in removed["partitions"]
    )
    assert oldest_month not in {m for _, m in partitions.existing("analytics_requestevent")}
    # 45 days: deleted row by row for the 30- and 7-day organisations; 10 days for the 7.
    assert removed["events"] == 3 * 2 + 3 * 1
    assert removed["invocations"] == removed["events"]


@pytest.mark.django_db
def test_rollups_are_kept_their_months():
    now = timezone.now()
    default, brief = OrganisationFactory(), OrganisationFactory()
    AnalyticsSettings.objects.create(organisation=brief, rollup_retention_months=3)
    for org in (default, brief):
        for months in (2, 5, 14):
            hour = (now - datetime.timedelta(days=31 * months)).replace(
                minute=0, second=0, microsecond=0
            )
            UsageRollup.objects.create(organisation=org, hour=hour, calls=months)
            RouteRollup.objects.create(
                organisation=org, hour=hour, method="GET", route="/", status=200, calls=months
            )

    removed = purge(now=now, batch=1)

    for model in (UsageRollup, RouteRollup):
        kept = model.objects.filter(organisation=default).values_list("calls", flat=True)
        assert sorted(kept) == [2, 5]
        assert list(model.objects.filter(organisation=brief).values_list("calls", flat=True)) == [2]
    assert removed["usage_rollups"] == removed["route_rollups"] == 3


@pytest.mark.django_db
def test_the_retention_task_runs_the_purge(monkeypatch):
    from analytics import tasks
    from analytics.services import retention

    seen = []
    monkeypatch.setattr(retention, "purge", lambda: seen.append(True) or {})
    tasks.purge_old_analytics.delay()
    assert seen == [True]


@pytest.mark.django_db
def test_partitions_are_made_ahead_by_the_daily_task():
    from analytics import tasks

    tasks.ensure_partitions.delay()
    today = timezone.now().date()
    months = {month for _, month in partitions.existing("analytics_functioninvocation")}
    ahead = partitions.next_month(partitions.next_month(datetime.date(today.year, today.month, 1)))
    assert ahead in months
