"""Charts of the dashboards: what the page draws and tabulates, as JSON for the chart
code and as CSV for spreadsheets."""

import csv
import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass

from .queries import Traffic
from .windows import Window, bucket_key


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
            "x": [bucket_key(start) for start in self.buckets],
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
