"""CSV export: every series of every chart, as an attachment, with no cell a
spreadsheet would run as a formula."""

import csv
import datetime
import io

import pytest
from django.utils import timezone

from analytics.dashboards import Chart, Series, charts_csv, csv_safe, window_for

from .usage_data import make_api, make_application, rollup, subscribe

NOW = datetime.datetime(2026, 6, 10, 14, 37, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Ledger", "Ledger"),
        ("", ""),
        (12, 12),
        (0.5, 0.5),
    ],
)
def test_csv_safe(cell, expected):
    assert csv_safe(cell) == expected


def test_every_series_of_every_chart():
    window = window_for("24h", now=NOW, tz=datetime.UTC)
    charts = [
        Chart(
            "calls", "Calls", "calls", window, [Series("Calls", [1] * 24), Series("5xx", [0] * 24)]
        ),
        Chart("latency", "Latency", "ms", window, [Series("p95", [None] * 23 + [12.3456789])]),
    ]
    rows = list(csv.reader(io.StringIO(charts_csv(charts))))
    assert rows[0] == ["chart", "unit", "time", "series", "value"]
    assert len(rows) == 1 + 24 * 3
    assert rows[1] == ["Calls", "calls", "2026-06-09T15:00:00+00:00", "Calls", "1"]
    assert rows[-1] == ["Latency", "ms", "2026-06-10T14:00:00+00:00", "p95", "12.345679"]
    assert rows[-2][-1] == ""


@pytest.mark.django_db
def test_export_is_an_attachment_and_guards_names(cast, client_for):
    hostile = make_api(cast.other_org, cast.other_team, name='=HYPERLINK("http://x")', slug="evil")
    app = make_application(cast.team, "Acme Checkout")
    subscribe(app, hostile)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    rollup(cast.other_org, hour, api=hostile, app=app, calls=4)
    response = client_for(cast.developer).get(
        f"/o/acme/usage/applications/{app.pk}/",
        {"range": "24h", "tz": "Europe/London", "format": "csv"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="usage-application-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    charts = {row[0] for row in rows[1:]}
    assert charts == {"Calls", "Latency", "Calls per API"}
    per_api = [row for row in rows if row[0] == "Calls per API"]
    assert {row[3] for row in per_api} == {'\'=HYPERLINK("http://x")'}
    assert sum(int(row[4]) for row in per_api) == 4
    # Times are in the asked zone.
    assert rows[1][2].endswith(("+00:00", "+01:00"))
    assert not any(cell.startswith("=") for row in rows for cell in row)
