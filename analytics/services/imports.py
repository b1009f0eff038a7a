"""Importing logs: read a page, parse, resolve, store, roll up, move the cursor.

Each page is one transaction: its new events, their rollup increments, the run's
counters and the cursor move commit together or not at all. A crash anywhere
re-reads the page next time and changes nothing twice (events are keyed, the
rollups only ever see the rows the insert reported as new). One import runs per
source at a time: a run claims the source with a conditional UPDATE.
"""

import datetime
import hashlib
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import ImportRun, LogSource, LogUpload
from ..parsers import PARSERS, InvocationRecord, LineContext, ParseError, parse_many
from ..parsers.base import NotARecord
from ..resolve import Resolver
from ..storage import copy_formatter, insert_invocations, insert_requests, stage_copy

logger = logging.getLogger(__name__)

MAX_SAMPLES = 10
SAMPLE_CHARS = 300
MAX_AHEAD_MS = 86_400_000  # clocks differ, but not by a day
SWITCH_INTERVAL = 0.0005  # seconds; see built_ahead


class ImportFailed(Exception):
    """The source cannot be read now (credentials, unreachable, gone); the message is safe."""


class CursorMoved(Exception):
    """Someone else moved this source's cursor: this run stops, changing nothing."""


@dataclass
class Page:
    lines: Sequence[tuple[bytes, LineContext]]
    # Moves the cursor past this page, inside the page's transaction; False when the
    # cursor is no longer where this page started.
    commit: Callable[[], bool] = lambda: True
    calls: int = 0
    # The reader may go on to the next page before this one is stored (see built_ahead):
    # true of files, whose pages are fixed line ranges; a remote reader whose next call
    # depends on this page being stored leaves it false.
    read_ahead: bool = False
    # The page is read again if its transaction is lost, because the cursor move that
    # passes it commits with it (files, CloudWatch): its commit need not wait for the
    # disk. Lines pushed to us are not: once answered, nobody sends them again.
    read_again: bool = False


@dataclass
class PageResult:
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0
    samples: list = field(default_factory=list)


def parser_for(source: LogSource):
    if source.format == LogSource.Format.CUSTOM_JSON:
        from ..parsers.custom_json import custom_json_parser

        return custom_json_parser(source.config.get("mapping") or {})
    return PARSERS[source.format]


def _event_id(line: bytes) -> str:
    return "h" + hashlib.blake2b(line, digest_size=12).hexdigest()


def build_rows(
    source: LogSource,
    lines: Iterable[tuple[bytes, LineContext]],
    parser,
    resolver: Resolver,
    result: PageResult,
) -> tuple[list[tuple], list[tuple]]:
    """Parse and resolve ``lines`` into event and invocation rows; count what failed."""
    requests, invocations = [], []
    organisation_id, source_id = source.organisation_id, source.pk
    # Lines of a file carry no log group (/aws/lambda/<function>) to name the function.
    function = source.config.get("function", "")
    moment, utc = datetime.datetime.fromtimestamp, datetime.UTC
    target_of, application_of = resolver.target, resolver.application
    # Each month an event falls in costs a partition: times far off are refused, or
    # one batch of made-up dates could create thousands of them.
    now_ms = int(timezone.now().timestamp() * 1000)
    earliest = now_ms - settings.ANALYTICS_MAX_EVENT_AGE_DAYS * 86_400_000
    latest = now_ms + MAX_AHEAD_MS
    out_of_range = (
        f"time out of range: more than {settings.ANALYTICS_MAX_EVENT_AGE_DAYS} "
        "days ago or a day ahead"
    )
    if not isinstance(lines, Sequence):  # read twice below
        lines = list(lines)
    result.read += len(lines)
    add_request = requests.append
    # One loop over the page, in request records' values (a tuple each) where the
    # parser reads a page at once: no record object, no attribute look-up a field.
    for (line, context), parsed in zip(lines, parse_many(parser, lines), strict=True):
        if type(parsed) is tuple:
            (ts_ms, event_id, method, route, path, status, latency, integration, size,
             gateway_api_id, stage, api_key_id, key_hash, source_ip, model, tokens_in,
             tokens_out, cost) = parsed  # fmt: skip
            if earliest <= ts_ms <= latest:
                target = target_of(gateway_api_id, stage, model)
                application_id, credential_id = application_of(api_key_id, key_hash)
                add_request(
                    (
                        moment(ts_ms / 1000, utc),
                        source_id,
                        (event_id or context.event_id or _event_id(line))[:128],
                        organisation_id,
                        target.api_id,
                        target.api_version_id,
                        application_id,
                        credential_id,
                        method[:12],
                        (route or path)[:500],
                        status,
                        latency,
                        integration,
                        size,
                        model[:200],
                        tokens_in,
                        tokens_out,
                        cost,
                        source_ip[:64],
                        stage[:128],
                    )
                )
                continue
            parsed = ParseError(out_of_range)
        elif type(parsed) is InvocationRecord:
            if earliest <= parsed.ts_ms <= latest:
                invocations.append(
                    (
                        moment(parsed.ts_ms / 1000, utc),
                        source_id,
                        (parsed.event_id or context.event_id or _event_id(line))[:64],
                        organisation_id,
                        (parsed.function or function)[:200],
                        parsed.version[:64],
                        parsed.duration_ms,
                        parsed.billed_ms,
                        parsed.memory_mb,
                        parsed.max_memory_mb,
                        parsed.init_ms,
                    )
                )
                continue
            parsed = ParseError(out_of_range)
        if isinstance(parsed, NotARecord):
            result.skipped += 1
            continue
        result.rejected += 1
        if len(result.samples) < MAX_SAMPLES:
            text = line[:SAMPLE_CHARS].decode("utf-8", "replace")
            result.samples.append({"line": text, "error": str(parsed)[:200]})
    return requests, invocations


def import_page(
    *, source: LogSource, run: ImportRun, page: Page, parser, resolver: Resolver
) -> PageResult:
    """One page in one transaction. Raises CursorMoved if another run got there first."""
    result = PageResult()
    requests, invocations = build_rows(source, page.lines, parser, resolver, result)
    return store_page(
        source=source, run=run, page=page, requests=requests, invocations=invocations, result=result
    )


def store_page(
    *,
    source: LogSource,
    run: ImportRun,
    page: Page,
    requests: list[tuple],
    invocations: list[tuple],
    result: PageResult,
    copied: bytes | None = None,
) -> PageResult:
    """Store a page's rows, its counters and its cursor move in one transaction.
    ``copied``: the request rows as storage.stage_copy made them, if it did."""
    with transaction.atomic():
        if page.read_again:
            _commit_without_waiting()
        if not page.commit():
            raise CursorMoved(source.pk)
        result.imported = insert_requests(requests, copied=copied) + insert_invocations(invocations)
        result.duplicates = len(requests) + len(invocations) - result.imported
        samples = run.samples
        if result.samples and len(samples) < MAX_SAMPLES:
            samples = (samples + result.samples)[:MAX_SAMPLES]
            run.samples = samples
        ImportRun.objects.filter(pk=run.pk).update(
            pages=F("pages") + 1,
            read=F("read") + result.read,
            imported=F("imported") + result.imported,
            duplicates=F("duplicates") + result.duplicates,
            rejected=F("rejected") + result.rejected,
            skipped=F("skipped") + result.skipped,
            calls=F("calls") + page.calls,
            samples=samples,
        )
    return result


def _commit_without_waiting() -> None:
    """This transaction's commit returns before its WAL is on disk. A crash in that
    instant (PostgreSQL's, not ours: the server still writes it out within a moment)
    loses the page, its rollups, its counters and its cursor move together, never a
    part of them, and the next run reads the page again. Any later ordinary commit
    waits for this one's WAL too."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def built_ahead(
    pages: Iterator[Page], *, source: LogSource, parser, resolver: Resolver
) -> Iterator[tuple[Page, tuple[list, list, PageResult, bytes | None]]]:
    """Each page with its rows (requests, invocations, result, the requests as COPY data
    on PostgreSQL). For pages that allow it (``Page.read_ahead``), the next page is read
    and its rows built in a second thread while the caller stores this one.

    Reading and parsing are Python, and storing is mostly PostgreSQL's work, which the
    caller waits for without holding the GIL: the two overlap on two cores. Pages are
    still read and stored in order, one transaction each; a page read ahead whose
    predecessor fails is not stored, and is read again by the next run. The first page,
    and every page after one that does not allow reading ahead, is read in the calling
    thread (a reader may query the database on its first step)."""

    formatter = copy_formatter()

    def build(page: Page) -> tuple[Page, tuple[list, list, PageResult, bytes | None]]:
        result = PageResult()
        requests, invocations = build_rows(source, page.lines, parser, resolver, result)
        copied = stage_copy(requests, formatter) if formatter and requests else None
        return page, (requests, invocations, result, copied)

    def read_and_build() -> tuple[Page, tuple[list, list, PageResult, bytes | None]] | None:
        page = next(pages, None)
        return None if page is None else build(page)

    # The storing thread needs the GIL back for a moment after each of a page's dozen
    # statements, and at the default switch interval (5 ms) it waits behind the parsing
    # thread half of that each time: a tenth of an import. Process-wide while it lasts;
    # a worker runs one import at a time.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-parse") as pool:
            page = next(pages, None)
            ahead = pool.submit(build, page) if page is not None else None
            while ahead is not None:
                done = ahead.result()
                if done is None:
                    return
                current, built = done
                if current.read_ahead:
                    ahead = pool.submit(read_and_build)
                    yield current, built
                else:
                    yield current, built
                    page = next(pages, None)
                    ahead = pool.submit(build, page) if page is not None else None
    finally:
        sys.setswitchinterval(interval)


def _claim(source: LogSource) -> bool:
    now = timezone.now()
    stale = now - timedelta(minutes=settings.ANALYTICS_IMPORT_STALE_MINUTES)
    return bool(
        LogSource.objects.filter(pk=source.pk)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=stale))
        .update(running_since=now)
    )


def import_source(
    *,
    source: LogSource,
    pages: Callable[[LogSource], Iterator[Page]],
    trigger: str = "schedule",
    upload: LogUpload | None = None,
    exclusive: bool = True,
) -> ImportRun:
    """Import every page ``pages(source)`` yields, one transaction each; returns the run.
    ``exclusive`` runs claim the source (readers with a cursor); pushes need not."""
    run = ImportRun.objects.create(
        source=source, organisation=source.organisation, trigger=trigger, upload=upload
    )
    if exclusive and not _claim(source):
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.SKIPPED, finished_at=timezone.now()
        )
        run.refresh_from_db()
        return run
    status, error = ImportRun.Status.SUCCEEDED, ""
    try:
        parser = parser_for(source)
        resolver = Resolver(source)
        read = iter(pages(source))
        pipeline = built_ahead(read, source=source, parser=parser, resolver=resolver)
        try:
            for page, (requests, invocations, result, copied) in pipeline:
                store_page(
                    source=source,
                    run=run,
                    page=page,
                    requests=requests,
                    invocations=invocations,
                    result=result,
                    copied=copied,
                )
        finally:
            # Closed now, not when collected: the reader's file, the parsing thread.
            pipeline.close()
            if hasattr(read, "close"):
                read.close()
    except CursorMoved:
        status, error = ImportRun.Status.FAILED, "Another import moved this source's cursor."
    except ImportFailed as exc:
        status, error = ImportRun.Status.FAILED, str(exc)
    except ValueError as exc:  # a source misconfigured, e.g. a bad custom mapping
        status, error = ImportRun.Status.FAILED, str(exc)[:500]
    except BaseException:
        # Anything else (the database, a bug) fails the run too, and is raised for the
        # task's own handling; the page it hit was rolled back.
        status, error = ImportRun.Status.FAILED, "The import stopped on an unexpected error."
        raise
    finally:
        if exclusive:
            LogSource.objects.filter(pk=source.pk).update(running_since=None)
        ImportRun.objects.filter(pk=run.pk).update(
            status=status, error=error, finished_at=timezone.now()
        )
    run.refresh_from_db()
    logger.info(
        "imported source %s: %s (read %s, new %s, duplicates %s, rejected %s)",
        source.pk,
        run.status,
        run.read,
        run.imported,
        run.duplicates,
        run.rejected,
    )
    return run


def import_lines(
    *, source: LogSource, lines: list[tuple[bytes, LineContext]], trigger: str = "push"
) -> ImportRun:
    """Import lines already in hand (a push batch, a test) as a single page."""
    return import_source(
        source=source, pages=lambda _: iter([Page(lines=lines)]), trigger=trigger, exclusive=False
    )


__all__ = [
    "ImportFailed",
    "Page",
    "PageResult",
    "ParseError",
    "import_lines",
    "import_page",
    "import_source",
    "store_page",
]
