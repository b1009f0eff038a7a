"""Where a spec comes from: an upload, pasted text or a URL. All end as bytes."""

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from ..specs.errors import SpecTooLarge, megabytes
from ..specs.fetch import fetch


def read_upload(upload: UploadedFile) -> bytes:
    """The file's bytes, refusing it before reading when it is over the cap."""
    limit = settings.SPEC_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise SpecTooLarge(
            f"This spec is {megabytes(upload.size)}; the limit is {megabytes(limit)}."
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise SpecTooLarge(f"This spec is over the limit of {megabytes(limit)}.")
    return data


def read_text(text: str) -> bytes:
    return text.encode("utf-8")


def read_url(url: str) -> bytes:
    result = fetch(
        url,
        max_bytes=settings.SPEC_MAX_BYTES,
        timeout=settings.SPEC_FETCH_TIMEOUT,
        allow_private=settings.SPEC_FETCH_ALLOW_PRIVATE,
    )
    return result.body or b""


def read_source(kind: str, value) -> bytes:
    if kind == "spec_file":
        return read_upload(value)
    if kind == "spec_url":
        return read_url(value)
    return read_text(value)
