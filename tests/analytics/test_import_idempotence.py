"""An import counts every event once, however its pages arrive: twice, shuffled,
overlapping; and a page that fails half-way leaves nothing behind."""

import itertools

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import ImportRun, LogUpload
from analytics.parsers import LineContext
from analytics.services import imports
from analytics.services.imports import Page, import_lines, import_source

from .logs import corpus, events, make_source, rollups, snapshot

CONTEXT = LineContext()


def _lines(raw: list[bytes]) -> list[tuple[bytes, LineContext]]:
    return [(line, CONTEXT) for line in raw]


@pytest.fixture
def emptied_event_tables():
    """The event tables are not Django's to flush after a transactional test."""
    yield
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE analytics_requestevent, analytics_functioninvocation")


@pytest.mark.django_db
def test_pages_twice_shuffled_and_overlapping_store_what_one_clean_import_stores(cast):
    lines = corpus(150, seed=3)
    # A few lines that are not records, and one twice in the corpus itself.
    lines[10:10] = [b"not json at all", b'{"status": "teapot"}', lines[20]]
    source = make_source(cast.org)
    with transaction.atomic():
        clean_run = import_lines(source=source, lines=_lines(lines))
        clean = snapshot(source)
        transaction.set_rollback(True)
    assert (clean_run.imported, clean_run.duplicates, clean_run.rejected) == (150, 1, 2)
    assert len(clean[0]) == 150
    assert clean[2][0]

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def imports_agree(data):
        size = len(lines)
        cuts = data.draw(st.lists(st.integers(0, size), max_size=8), label="cuts")
        bounds = sorted({0, size, *cuts})
        pages = [lines[a:b] for a, b in itertools.pairwise(bounds)]
        spans = data.draw(
            st.lists(st.tuples(st.integers(0, size), st.integers(0, size)), max_size=6),
            label="overlapping slices",
        )
        pages += [lines[min(a, b) : max(a, b)] for a, b in spans]
        pages += data.draw(st.lists(st.sampled_from(pages), max_size=4), label="again")
        order = data.draw(st.permutations(pages), label="order")
        with transaction.atomic():
            for page in order:
                import_lines(source=source, lines=_lines(page))
            assert snapshot(source) == clean
            transaction.set_rollback(True)

    imports_agree()


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_insert_leaves_nothing(cast, monkeypatch, emptied_event_tables):
    source = make_source(cast.org)
    inserted = []
    real_insert = imports.insert_requests

    def insert_then_remember(rows, **options):
        inserted.append(real_insert(rows, **options))
        return inserted[-1]

    def explode(rows):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(imports, "insert_requests", insert_then_remember)
    monkeypatch.setattr(imports, "insert_invocations", explode)
    with pytest.raises(RuntimeError):
        import_lines(source=source, lines=_lines(corpus(40)))

    assert inserted == [40]  # the rows were in, then rolled back
    assert events(source.pk) == []
    assert rollups(cast.org.pk) == ([], [])
    run = ImportRun.objects.get(source=source)
    assert (run.status, run.pages, run.read, run.imported) == ("failed", 0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_an_upload_page_that_fails_keeps_its_cursor_and_the_next_run_finishes(
    cast, monkeypatch, emptied_event_tables, settings, tmp_path
):
    from django.core.files.base import ContentFile

    from analytics.readers.files import upload_pages

    settings.MEDIA_ROOT = str(tmp_path)
    settings.ANALYTICS_PAGE_LINES = 10
    source = make_source(cast.org)
    lines = corpus(35, seed=5)
    upload = LogUpload(source=source, organisation=cast.org, name="a.log", size_bytes=1)
    upload.file.save("a.log", ContentFile(b"\n".join(lines) + b"\n"), save=True)

    calls = {"n": 0}
    real_insert = imports.insert_invocations

    def third_page_fails(rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("lost the connection")
        return real_insert(rows)

    monkeypatch.setattr(imports, "insert_invocations", third_page_fails)
    with pytest.raises(RuntimeError):
        import_source(source=source, pages=lambda s: upload_pages(upload), upload=upload)
    upload.refresh_from_db()
    assert upload.lines_done == 20
    assert len(events(source.pk)) == 20

    monkeypatch.setattr(imports, "insert_invocations", real_insert)
    upload.refresh_from_db()
    run = import_source(source=source, pages=lambda s: upload_pages(upload), upload=upload)
    assert (run.status, run.imported, run.duplicates) == ("succeeded", 15, 0)
    assert len(events(source.pk)) == 35
    usage, _ = rollups(cast.org.pk)
    assert sum(row[4] for row in usage if len(row) > 2) == 35


@pytest.mark.django_db
def test_a_page_whose_cursor_moved_stores_nothing(cast):
    source = make_source(cast.org)
    run = import_source(
        source=source, pages=lambda s: iter([Page(lines=_lines(corpus(5)), commit=lambda: False)])
    )
    assert run.status == "failed"
    assert "cursor" in run.error
    assert events(source.pk) == []
    assert rollups(cast.org.pk) == ([], [])
