"""The push endpoint: log senders POST batches to ``/ingest/<lookup id>/``.

The sender proves itself with the source's token, as ``Authorization: Bearer
plt_...`` or, for Firehose, its ``X-Amz-Firehose-Access-Key``. The body is
capped by its Content-Length before a byte is read, decoded with a budget (see
analytics.readers.push) and imported at once, as one page: a batch sent twice
stores its events once. Firehose is answered in its own shape
(``{"requestId", "timestamp"}``, errors with ``errorMessage``), others with the
counts or the project's error body.
"""

import time

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.api.errors import error_body, json_error_response

from .models import ImportRun
from .readers.push import PushRefused, decode_push
from .services.imports import import_lines
from .services.sources import push_source_for_token


def _token(request) -> str:
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Amz-Firehose-Access-Key", "").strip()


class _Answer:
    def __init__(self, request):
        self.firehose_id = request.headers.get("X-Amz-Firehose-Request-Id", "")

    def error(self, status: int, code: str, message: str) -> JsonResponse:
        if self.firehose_id:
            body = {
                "requestId": self.firehose_id,
                "timestamp": int(time.time() * 1000),
                "errorMessage": message,
                **error_body(code, message),
            }
            return JsonResponse(body, status=status)
        return json_error_response(status, code, message)

    def ok(self, counts: dict) -> JsonResponse:
        if self.firehose_id:
            return JsonResponse(
                {"requestId": self.firehose_id, "timestamp": int(time.time() * 1000)}
            )
        return JsonResponse(counts)


@csrf_exempt
@require_POST
def ingest(request, lookup: str):
    answer = _Answer(request)
    source = push_source_for_token(_token(request))
    if source is None or source.push_lookup_id != lookup:
        return answer.error(401, "not_authenticated", "The push token is missing or wrong.")
    if not source.enabled:
        return answer.error(403, "source_disabled", "This log source is disabled.")
    limit = settings.ANALYTICS_PUSH_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return answer.error(411, "length_required", "Send a Content-Length.")
    if length > limit:
        return answer.error(
            413, "too_large", f"This body is {length} bytes; the limit is {limit} bytes."
        )
    # Read from the stream: request.body would refuse above DATA_UPLOAD_MAX_MEMORY_SIZE.
    body = request.read(length)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    try:
        batch = decode_push(
            body, gzipped=encoding == "gzip", limit=settings.ANALYTICS_PUSH_MAX_DECODED_BYTES
        )
    except PushRefused as exc:
        return answer.error(exc.status, exc.code, exc.message)
    counts = {
        "read": 0,
        "imported": 0,
        "duplicates": 0,
        "rejected": 0,
        "skipped": 0,
        "control_messages": batch.control_messages,
    }
    if batch.lines:
        run = import_lines(source=source, lines=batch.lines, trigger="push")
        if run.status != ImportRun.Status.SUCCEEDED:
            return answer.error(422, "import_failed", run.error or "The batch was not imported.")
        counts.update(
            read=run.read,
            imported=run.imported,
            duplicates=run.duplicates,
            rejected=run.rejected,
            skipped=run.skipped,
            run=run.pk,
        )
    return answer.ok(counts)
