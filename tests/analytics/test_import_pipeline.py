"""How an import moves pages along: a file's page as (line, context) pairs made as they
are read; the commit that need not wait for the disk, for pages read again after a
loss and for no others; the thread switch interval, shortened while pages are parsed
ahead and given back after."""

import gc
import io
import sys

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from analytics.parsers import LineContext
from analytics.readers.files import FileLines, pages_of
from analytics.services import imports
from analytics.services.imports import SWITCH_INTERVAL, Page, import_lines, import_source
from analytics.services.sources import upload_create
from tenants.actors import Actor

from .logs import corpus, events, make_source

CONTEXT = LineContext(log_group="g")


def test_a_file_page_reads_as_pairs_with_the_file_context(settings):
    settings.ANALYTICS_PAGE_LINES = 3
    stream = io.BytesIO(b"a\r\nb\n\nc\nd\ne\n")
    pages = [page for _, page in pages_of(stream, context=CONTEXT)]
    assert [list(page) for page in pages] == [
        [(b"a", CONTEXT), (b"b", CONTEXT)],  # the empty line counts, and is left out
        [(b"c", CONTEXT), (b"d", CONTEXT), (b"e", CONTEXT)],
        [],  # the end, read
    ]
    page = pages[1]
    assert (len(page), page[0], page[-1], page[1:]) == (
        3,
        (b"c", CONTEXT),
        (b"e", CONTEXT),
        [(b"d", CONTEXT), (b"e", CONTEXT)],
    )


def test_a_file_page_is_not_one_tracked_object_a_line():
    # The pairs are made as they are read: the collector sees the page and its list
    # of bytes, and nothing a line.
    page = FileLines([b"x"] * 1000, CONTEXT)
    tracked = [o for o in gc.get_referents(page) if gc.is_tracked(o) and not isinstance(o, type)]
    assert tracked in ([page._lines, CONTEXT], [CONTEXT, page._lines])
    assert not any(gc.is_tracked(line) for line in page._lines)


def commit_waits(monkeypatch) -> list[str]:
    """synchronous_commit as each page's rows are stored."""
    seen = []
    real = imports.insert_requests

    def insert(rows, **options):
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        return real(rows, **options)

    monkeypatch.setattr(imports, "insert_requests", insert)
    return seen


@pytest.fixture
def emptied_event_tables():
    """The event tables are not Django's to flush after a transactional test."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE analytics_requestevent, analytics_functioninvocation")


@pytest.mark.django_db(transaction=True)
def test_a_file_page_commits_without_waiting_for_the_disk(
    cast, monkeypatch, settings, tmp_path, emptied_event_tables
):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.ANALYTICS_PAGE_LINES = 20
    seen = commit_waits(monkeypatch)
    source = make_source(cast.org, name="uploads")
    data = b"\n".join(corpus(50, seed=4)) + b"\n"
    # Committed, the upload's task (eager here) imports it.
    upload_create(source=source, file=ContentFile(data, name="a.log"), actor=Actor.system())
    assert len(events(source.pk)) == 50
    assert seen == ["off", "off", "off"]
    with connection.cursor() as cursor:  # only inside each page's transaction
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db
def test_pushed_lines_commit_waiting_for_the_disk(cast, monkeypatch):
    # Once a push is answered nobody sends its lines again: its commit must be durable.
    seen = commit_waits(monkeypatch)
    source = make_source(cast.org, kind="push")
    run = import_lines(source=source, lines=[(line, CONTEXT) for line in corpus(5, seed=5)])
    assert run.imported == 5
    assert seen == ["on"]


@pytest.mark.django_db
def test_the_switch_interval_is_short_while_pages_are_parsed_ahead_and_given_back(
    cast, monkeypatch
):
    before = sys.getswitchinterval()
    during = []
    real = imports.build_rows

    def build_rows(*args):
        during.append(sys.getswitchinterval())
        return real(*args)

    monkeypatch.setattr(imports, "build_rows", build_rows)
    source = make_source(cast.org)
    lines = corpus(30, seed=6)
    pages = [Page(lines=[(line, CONTEXT) for line in lines[i : i + 10]], read_ahead=True)
             for i in range(0, 30, 10)]  # fmt: skip
    run = import_source(source=source, pages=lambda s: iter(pages), exclusive=False)
    assert run.imported == 30
    assert len(events(source.pk)) == 30
    assert during == [min(before, SWITCH_INTERVAL)] * 3
    assert sys.getswitchinterval() == before


@pytest.mark.django_db
def test_pages_built_ahead_come_with_their_copy_data(cast, monkeypatch):
    given = []
    real = imports.insert_requests

    def insert(rows, **options):
        given.append((len(rows), options.get("copied", b"")[:11]))
        return real(rows, **options)

    monkeypatch.setattr(imports, "insert_requests", insert)
    source = make_source(cast.org)
    lines = corpus(20, seed=7)
    pages = [Page(lines=[(line, CONTEXT) for line in lines[i : i + 10]], read_ahead=True)
             for i in (0, 10)]  # fmt: skip
    run = import_source(source=source, pages=lambda s: iter(pages), exclusive=False)
    assert run.imported == 20
    assert given == [(10, b"PGCOPY\n\xff\r\n\x00")] * 2
