"""CloudWatch Logs, pulled with FilterLogEvents a page at a time.

The source's cursor says where reading stands:

    {"start": ms, "end": ms, "token": "..." or null, "newest": ms or null}

``start``/``end`` are the window being read, ``token`` the nextToken when a run
stopped inside it, ``newest`` the newest event time seen so far. A run goes on
with the window it finds unfinished; otherwise it opens a new one up to now,
from shortly before the newest event it has seen (CLOUDWATCH_OVERLAP_SECONDS, so
events that arrive late are still read; at most a day before the last window's
end). Events read twice are dropped by their keys. A token CloudWatch no longer
accepts (they expire) restarts the window from its start, with the same effect.

Every page commits its cursor move with a compare-and-set in the page's own
transaction: a run that finds the cursor moved under it stops, changing nothing.
Each call passes the limiter shared by all workers for the account and region;
botocore's standard retries back off with jitter on throttling, and every retry
passes the limiter too.

Pulling suits backfills and modest volumes: CloudWatch allows 5 FilterLogEvents
calls a second per account and region (about 7,000 events a second at best, shared
by every source of the account). For busy log groups, subscribe the log group to
the push endpoint instead (a subscription filter to Kinesis Data Firehose with an
HTTP endpoint destination, or to a small Lambda function that forwards the
payload): events then arrive within a minute and cost no read calls at all.
"""

import datetime
from collections.abc import Iterator

import botocore.exceptions
from django.conf import settings
from django.utils import timezone

from apis.gateways.aws.base import AwsAdapter, error_message

from ..limiter import RateLimiter, cloudwatch_scope
from ..models import LogSource
from ..parsers import LineContext
from ..services.imports import ImportFailed, Page

SOURCE_CONFIG = ("region", "endpoint_url", "role_arn", "external_id")
MAX_TOKEN_RESTARTS = 3
MAX_REREAD_MS = 24 * 3_600_000


class TokenExpired(Exception):
    pass


class LogsClient(AwsAdapter):
    """A CloudWatch Logs client for one source: the AWS connection's region, endpoint
    and role (a source may name its own region), calls counted and rate-limited."""

    kind = "cloudwatch_logs"
    service = "logs"

    def __init__(self, source: LogSource, *, limiter: RateLimiter | None = None):
        super().__init__(source.connection)
        self.source = source
        self.limiter = limiter or RateLimiter(
            cloudwatch_scope(self.config), settings.CLOUDWATCH_CALLS_PER_SECOND
        )

    @property
    def config(self) -> dict:
        merged = dict(self.connection.config or {}) if self.connection else {}
        for name in SOURCE_CONFIG:
            if self.source.config.get(name):
                merged[name] = self.source.config[name]
        return merged

    def _count(self, client) -> None:
        super()._count(client)
        if client.meta.service_model.service_name == "logs":
            client.meta.events.register("before-send", self._wait_turn)

    def _wait_turn(self, **_) -> None:
        self.limiter.acquire()

    def filter_log_events(self, **params) -> dict:
        try:
            return self.client.filter_log_events(**params)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if params.get("nextToken") and code == "InvalidParameterException":
                raise TokenExpired from exc
            raise ImportFailed(error_message(exc)) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise ImportFailed(error_message(exc)) from exc


def _ms(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _window(cursor: dict, now_ms: int) -> dict:
    """Where this run reads: the unfinished window, or a new one up to now."""
    if cursor.get("token"):
        return dict(cursor)
    newest, end = cursor.get("newest"), cursor.get("end")
    overlap = settings.CLOUDWATCH_OVERLAP_SECONDS * 1000
    if end is None:
        start = now_ms - settings.CLOUDWATCH_FIRST_WINDOW_MINUTES * 60_000
    else:
        # From just before the newest event seen, but a quiet group whose newest event
        # is old is not scanned back for weeks on every run.
        start = max((newest if newest is not None else end) - overlap, end - MAX_REREAD_MS)
    return {"start": start, "end": max(start, now_ms), "token": None, "newest": newest}


def cloudwatch_pages(source: LogSource, *, client: LogsClient | None = None) -> Iterator[Page]:
    """The pages of the source's log group from where its cursor stands."""
    config = source.config or {}
    group = config.get("log_group", "")
    if not group:
        raise ImportFailed("This source names no log group.")
    client = client or LogsClient(source)
    # Read afresh: the run claimed the source after ``source`` was loaded.
    stored = LogSource.objects.values_list("cursor", flat=True).get(pk=source.pk) or {}
    window = _window(stored, _ms(timezone.now()))
    restarts = 0
    counted = client.calls
    while True:
        params = {
            "logGroupName": group,
            "startTime": window["start"],
            "endTime": window["end"],
            "limit": settings.CLOUDWATCH_PAGE_LIMIT,
            # Ignored by AWS, which always interleaves streams by time; emulators need it.
            "interleaved": True,
        }
        if config.get("stream_prefix"):
            params["logStreamNamePrefix"] = config["stream_prefix"]
        if config.get("filter_pattern"):
            params["filterPattern"] = config["filter_pattern"]
        if window["token"]:
            params["nextToken"] = window["token"]
        try:
            response = client.filter_log_events(**params)
        except TokenExpired:
            restarts += 1
            if restarts > MAX_TOKEN_RESTARTS:
                raise ImportFailed("CloudWatch keeps refusing its own nextToken.") from None
            window = {**window, "token": None}
            continue
        lines = []
        newest = window["newest"]
        for event in response.get("events", []):
            timestamp = event["timestamp"]
            newest = timestamp if newest is None else max(newest, timestamp)
            message = event.get("message", "").encode("utf-8", "replace").rstrip(b"\r\n")
            lines.append(
                (
                    message,
                    LineContext(
                        timestamp_ms=timestamp,
                        log_group=group,
                        log_stream=event.get("logStreamName", ""),
                        event_id=event.get("eventId", ""),
                    ),
                )
            )
        window = {**window, "token": response.get("nextToken") or None, "newest": newest}
        page = Page(
            lines=lines,
            commit=_compare_and_set(source.pk, stored, window),
            calls=client.calls - counted,  # refused calls too
            read_again=True,
        )
        counted = client.calls
        yield page
        stored = window
        if window["token"] is None:
            return


def _compare_and_set(source_id: int, before: dict, after: dict):
    def commit() -> bool:
        return bool(LogSource.objects.filter(pk=source_id, cursor=before).update(cursor=after))

    return commit
