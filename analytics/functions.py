"""Lambda figures from raw invocations: per function and memory size, the invocation
count, cold starts, p95 init duration and how much of its memory a function uses,
with a right-sizing hint.

Invocations are far fewer than requests, but still too many to fetch: both queries
are bounded by the window, use the (organisation, function, ts) index, and return
counts per distinct value (memory used in whole MB, init time in whole ms), from
which the percentiles are exact.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Round, TruncDay, TruncHour

from .dashboards import Window

# Sizes the hint suggests: common Lambda settings, smallest first.
MEMORY_SIZES = (128, 256, 512, 768, 1024, 1536, 2048, 3008, 4096, 6144, 8192, 10240)
# A function whose p99 use stays under this share of its memory is oversized.
OVERSIZED_BELOW = 0.5
HEADROOM = 1.2


def percentile_of_counts(counts: dict[float, int], q: float) -> float | None:
    """Nearest-rank q-quantile of values given as {value: how many}."""
    total = sum(counts.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return max(counts)


@dataclass
class FunctionStats:
    function: str
    memory_mb: int
    invocations: int = 0
    cold_starts: int = 0
    duration_sum: float = 0.0
    billed_sum: float = 0.0
    max_memory_used: int = 0
    p99_memory_ratio: float | None = None
    p95_init: float | None = None

    @property
    def cold_rate(self) -> float | None:
        return 100.0 * self.cold_starts / self.invocations if self.invocations else None

    @property
    def mean_duration(self) -> float | None:
        return self.duration_sum / self.invocations if self.invocations else None

    @property
    def max_memory_percent(self) -> float | None:
        return 100.0 * self.max_memory_used / self.memory_mb if self.memory_mb else None

    @property
    def suggested_memory(self) -> int | None:
        if self.p99_memory_ratio is None or self.p99_memory_ratio >= OVERSIZED_BELOW:
            return None
        needed = self.max_memory_used * HEADROOM
        for size in MEMORY_SIZES:
            if size >= needed:
                return size if size < self.memory_mb else None
        return None

    @property
    def hint(self) -> str:
        size = self.suggested_memory
        if size is None:
            return ""
        return (
            f"Uses at most {self.max_memory_percent:.0f} % of {self.memory_mb} MB: try {size} MB."
        )


def function_stats(invocations: QuerySet, window: Window) -> list[FunctionStats]:
    """Per (function, memory size) in ``window``, most invoked first: two queries."""
    scoped = invocations.filter(ts__gte=window.start, ts__lt=window.end)
    stats: dict[tuple[str, int], FunctionStats] = {}
    ratios: dict[tuple[str, int], dict[float, int]] = {}
    rows = (
        scoped.values("function", "memory_mb", "max_memory_mb")
        .annotate(
            n=Count("*"),
            cold=Count("init_ms"),
            duration=Sum("duration_ms"),
            billed=Sum("billed_ms"),
        )
        .order_by()
    )
    for row in rows:
        key = (row["function"], row["memory_mb"])
        entry = stats.setdefault(key, FunctionStats(function=key[0], memory_mb=key[1]))
        entry.invocations += row["n"]
        entry.cold_starts += row["cold"]
        entry.duration_sum += row["duration"] or 0.0
        entry.billed_sum += row["billed"] or 0.0
        entry.max_memory_used = max(entry.max_memory_used, row["max_memory_mb"])
        if row["memory_mb"]:
            ratio = row["max_memory_mb"] / row["memory_mb"]
            ratios.setdefault(key, {})[ratio] = ratios.get(key, {}).get(ratio, 0) + row["n"]
    inits: dict[tuple[str, int], dict[float, int]] = {}
    rows = (
        scoped.filter(init_ms__isnull=False)
        .values("function", "memory_mb", init=Round("init_ms"))
        .annotate(n=Count("*"))
        .order_by()
    )
    for row in rows:
        inits.setdefault((row["function"], row["memory_mb"]), {})[row["init"]] = row["n"]
    for key, entry in stats.items():
        entry.p99_memory_ratio = percentile_of_counts(ratios.get(key, {}), 0.99)
        entry.p95_init = percentile_of_counts(inits.get(key, {}), 0.95)
    return sorted(stats.values(), key=lambda s: (-s.invocations, s.function, s.memory_mb))


def invocation_series(invocations: QuerySet, window: Window) -> tuple[list[int], list[int]]:
    """Invocations and cold starts per bucket of ``window``, zero-filled: one query."""
    if window.step == "hour":
        bucket = TruncHour("ts", tzinfo=datetime.UTC)
    else:
        bucket = TruncDay("ts", tzinfo=window.tz)
    rows = (
        invocations.filter(ts__gte=window.start, ts__lt=window.end)
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(n=Count("*"), cold=Count("init_ms"))
        .order_by()
    )
    found = {int(row["bucket"].timestamp()): (row["n"], row["cold"]) for row in rows}
    counts = [found.get(int(start.timestamp()), (0, 0)) for start in window.buckets()]
    return [n for n, _ in counts], [cold for _, cold in counts]
