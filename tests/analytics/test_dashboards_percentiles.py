"""Percentiles from summed histograms: rows of one bucket add up before the percentile is
taken, and the result stays within the histogram's error of the exact value."""

import datetime
import random

import pytest

from analytics.dashboards import breakdown, traffic, window_for
from analytics.histogram import PER_DECADE, bucket, lower_bound
from analytics.models import UsageRollup

from .usage_data import rollup

NOW = datetime.datetime(2026, 6, 10, 14, 37, tzinfo=datetime.UTC)
HOUR = datetime.datetime(2026, 6, 10, 9, tzinfo=datetime.UTC)


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def within_bucket(value: float, latency: float) -> bool:
    index = bucket(latency)
    return lower_bound(index) <= value <= lower_bound(index + 1)


@pytest.mark.django_db
def test_rows_of_one_bucket_are_summed_before_the_percentile(cast):
    # Two applications in the same hour: 90 fast calls and 10 slow ones.
    rollup(cast.org, HOUR, api=1, app=1, latencies=[10.0] * 90)
    rollup(cast.org, HOUR, api=1, app=2, latencies=[1000.0] * 10)
    window = window_for("24h", now=NOW, tz=datetime.UTC)
    data = traffic(UsageRollup.objects.filter(organisation=cast.org), window)
    (point,) = [p for p in data.points if p.calls]
    assert point.calls == 100
    assert within_bucket(point.p50, 10.0)
    assert within_bucket(point.percentile(0.89), 10.0)
    assert within_bucket(point.p95, 1000.0)
    assert within_bucket(point.p99, 1000.0)
    # Neither row alone gives that p95.
    assert data.total.p95 == point.p95


@pytest.mark.django_db
def test_percentiles_are_close_to_the_exact_ones(cast):
    generator = random.Random(11)
    everything: list[float] = []
    for hours_ago in range(12):
        values = [generator.lognormvariate(4.0, 0.9) for _ in range(400)]
        everything += values
        rollup(cast.org, HOUR - datetime.timedelta(hours=hours_ago), api=1, latencies=values)
    window = window_for("24h", now=NOW, tz=datetime.UTC)
    data = traffic(UsageRollup.objects.filter(organisation=cast.org), window)
    # One bucket is a factor of 10^(1/12) wide: about 21 %; interpolation does better.
    tolerance = 10 ** (1 / PER_DECADE) - 1
    for q in (0.5, 0.95, 0.99):
        estimate, truth = data.total.percentile(q), exact(everything, q)
        assert abs(estimate - truth) / truth < tolerance / 2, (q, estimate, truth)


@pytest.mark.django_db
def test_breakdown_percentiles_per_api(cast):
    rollup(cast.org, HOUR, api=1, latencies=[5.0] * 50)
    rollup(cast.org, HOUR, api=2, latencies=[500.0] * 5)
    window = window_for("24h", now=NOW, tz=datetime.UTC)
    rows = dict(
        breakdown(
            UsageRollup.objects.filter(organisation=cast.org), window, "api_id", histogram=True
        )
    )
    assert within_bucket(rows[1].p95, 5.0)
    assert within_bucket(rows[2].p95, 500.0)


def test_an_empty_histogram_has_no_percentile():
    from analytics.dashboards import Point

    assert Point().p95 is None
    assert Point().rate_5xx is None
