"""Files: plain or gzip (CloudWatch exports to S3 are gzip), read a page at a time
so a gigabyte file costs a page of memory. The cursor is the number of lines
already imported; a resumed import skips them."""

import gzip
import io
import itertools
from collections.abc import Iterator, Sequence

from django.conf import settings
from django.core.files import File

from ..models import LogUpload
from ..parsers import LineContext
from ..services.imports import Page

GZIP_MAGIC = b"\x1f\x8b"


def open_lines(stream) -> io.BufferedReader:
    """A binary line reader over ``stream``, unzipping it if it is gzip."""
    head = stream.read(2)
    stream.seek(0)
    if head == GZIP_MAGIC:
        return io.BufferedReader(gzip.GzipFile(fileobj=stream))
    # The file object under Django's File (and FieldFile's File): its lines come from C.
    # File.__iter__ splits chunks again in Python (a fifth of an import's time), and
    # starts again from the top each time it is called.
    while isinstance(stream, File):
        stream = stream.file
    return stream


class FileLines(Sequence):
    """A page of a file: its lines as (line, context) pairs, like any page's, all with
    the file's one context. Each pair is made as it is read, so that a page is two
    objects to the garbage collector, not one a line: a list of pairs would carry every
    line of the pages in flight into the collector's oldest generation and set off a
    full collection every other page (a sixth of an import's time)."""

    __slots__ = ("_context", "_lines")

    def __init__(self, lines: list[bytes], context: LineContext):
        self._lines, self._context = lines, context

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [(line, self._context) for line in self._lines[index]]
        return self._lines[index], self._context

    def __iter__(self) -> Iterator[tuple[bytes, LineContext]]:
        return zip(self._lines, itertools.repeat(self._context))


def pages_of(
    stream,
    *,
    start_line: int = 0,
    page_lines: int | None = None,
    context: LineContext | None = None,
) -> Iterator[tuple[int, FileLines]]:
    """(lines consumed so far, page) pairs: each page a sequence of (line, context).
    Pages end at multiples of ``page_lines``, wherever reading starts."""
    page_lines = page_lines or settings.ANALYTICS_PAGE_LINES
    context = context or LineContext()
    reader = open_lines(stream)
    number = sum(1 for _ in itertools.islice(reader, start_line))
    lines: list[bytes] = []
    while True:
        chunk = list(itertools.islice(reader, page_lines - number % page_lines))
        if not chunk:
            break
        number += len(chunk)
        lines = [line for line in (raw.rstrip(b"\r\n") for raw in chunk) if line]
        if number % page_lines == 0:
            yield number, FileLines(lines, context)
            lines = []
    if lines or number > start_line:
        yield number, FileLines(lines, context)


def upload_pages(upload: LogUpload) -> Iterator[Page]:
    """Pages of an uploaded file, each moving the upload's line cursor (compare-and-set)."""
    with upload.file.open("rb") as stream:
        done = upload.lines_done
        for consumed, lines in pages_of(stream, start_line=done):
            before = done

            def commit(before=before, after=consumed) -> bool:
                return bool(
                    LogUpload.objects.filter(pk=upload.pk, lines_done=before).update(
                        lines_done=after, state=LogUpload.State.IMPORTING
                    )
                )

            yield Page(lines=lines, commit=commit, read_ahead=True, read_again=True)
            done = consumed
