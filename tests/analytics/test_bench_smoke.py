"""bench/analytics.py kept from rotting: its catalogue, its generated logs, an import of a
few thousand lines through the upload path and its dashboard check. No timings."""

import importlib.util
import json
import re
import time

import pytest
from django.conf import settings as django_settings

from analytics.models import UsageRollup

from .logs import events

COMBINED = re.compile(
    r'^\S+ - \S+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "[A-Z]+ \S+ HTTP/1\.1" '
    r'\d{3} \d+ "-" "[^"]+" \d+\.\d{3}$'
)


@pytest.fixture
def bench():
    path = django_settings.BASE_DIR / "bench" / "analytics.py"
    spec = importlib.util.spec_from_file_location("bench_analytics", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db
def test_the_benchmark_generates_imports_and_reads_its_logs(bench, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    organisation, endpoints = bench.build_catalogue()
    assert len(endpoints) == bench.APIS
    assert sum(len(keys) for _, _, keys in endpoints) == bench.KEYS
    source = bench.upload_source(organisation)
    end_ms = int(time.time() * 1000) - 3_600_000
    lines = tmp_path / "rest.log"
    bench.write_rest_log(lines, endpoints, 2_000, end_ms=end_ms)

    _, _, _, run = bench.timed_import(source, lines)

    assert (run.read, run.imported, run.rejected) == (2_000, 2_000, 0)
    stored = events(source.pk)
    assert all(row[4] for row in stored)  # every line's API resolved
    keyed = sum(1 for line in lines.read_text().splitlines() if '"apiKeyId":"-"' not in line)
    assert sum(1 for row in stored if row[6]) == keyed  # every key's application too
    statuses = [row[10] for row in stored]
    assert 0.85 < sum(200 <= s < 300 for s in statuses) / len(statuses) < 0.97
    _, _, _, again = bench.timed_import(source, lines)
    assert (again.imported, again.duplicates) == (0, 2_000)
    assert sum(UsageRollup.objects.values_list("calls", flat=True)) == 2_000

    combined = tmp_path / "combined.log"
    bench.write_combined_log(combined, endpoints, 200, end_ms=end_ms)
    assert all(COMBINED.match(line) for line in combined.read_text().splitlines())

    bench.fill_events(organisation, source, 3_000, days=3)
    api = bench.Api.objects.filter(organisation=organisation).order_by("external_id").first()
    figures = bench.dashboard(organisation, api, runs=1)  # checks itself against raw events
    assert 0 < figures["calls"] < 5_000
    assert figures["days"] == 30


@pytest.mark.django_db
def test_the_benchmark_splits_its_requests_into_two_log_groups(bench, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    _, endpoints = bench.build_catalogue()
    group_of = bench.two_log_groups(endpoints)
    assert set(group_of) == {api for api, _, _ in endpoints}
    end_ms = int(time.time() * 1000) - 3_600_000
    paths = [tmp_path / "one.log", tmp_path / "two.log"]
    bench.write_lines(paths, bench.rest_lines(endpoints, 4_000, end_ms=end_ms), group_of)
    whole = tmp_path / "whole.log"
    bench.write_rest_log(whole, endpoints, 4_000, end_ms=end_ms)
    halves = [path.read_text().splitlines() for path in paths]
    # The same requests, each in the file of its API's group, about half in each.
    assert sorted(halves[0] + halves[1]) == sorted(whole.read_text().splitlines())
    for group, lines in enumerate(halves):
        assert {json.loads(line)["apiId"] for line in lines} <= {
            api for api, g in group_of.items() if g == group
        }
        assert 0.4 < len(lines) / 4_000 < 0.6
