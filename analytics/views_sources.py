"""Log source pages under the usage dashboards: the list with each source's last import;
add, edit, switch off and delete; one source with its recent import runs, "Import now"
for a CloudWatch source (the run's status polled in place through htmx until it ends),
a file upload for an upload source, and a push source's ingest URL and a new token.

For organisation owners and admins, as the REST API's log source endpoints (runs sample
raw log lines): other roles get 403. Every write is the service the API calls
(analytics.services.sources), which does the checking. A push token is shown in the
answer that made it and never again; such answers are rendered, not redirected to, and
never cached.
"""

import datetime
import json

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apis import selectors_gateways
from apis.views_subscriptions import refuse
from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.forms import add_application_error, form_status
from tenants.roles import OrgRole
from tenants.scoping import organisation_view

from . import selectors as usage
from .forms_sources import LogSourceForm, LogUploadForm, source_initial
from .models import ImportRun, LogSource, LogUpload
from .services import sources

DETAIL_TEMPLATE = "analytics/sources/detail.html"
ACTIVITY_TARGET = "source-activity"
RUNS_SHOWN = 20
UPLOADS_SHOWN = 10
# How long after "Import now" the page waits for a worker to start the run.
WAIT_SECONDS = 600
UNFINISHED_UPLOADS = (LogUpload.State.PENDING, LogUpload.State.IMPORTING)


def _list_url(request: HttpRequest) -> str:
    return reverse("analytics:source_list", kwargs={"org": request.organisation.slug})


def _detail_url(source: LogSource) -> str:
    return reverse("analytics:source", kwargs={"org": source.organisation.slug, "pk": source.pk})


def _source(request: HttpRequest, pk: int) -> LogSource:
    return usage.log_source_get(organisation=request.organisation, pk=pk)


def _form(request: HttpRequest, kind: str, data=None, **kwargs) -> LogSourceForm:
    apis = usage.provider_api_list(organisation=request.organisation, user=request.user)
    connections = selectors_gateways.connection_list(organisation=request.organisation).filter(
        kind__in=sources.AWS_KINDS
    )
    return LogSourceForm(data, kind=kind, apis=apis, connections=connections, **kwargs)


def _since(request: HttpRequest) -> datetime.datetime | None:
    """When "Import now" was pressed (``?since=`` in epoch seconds), while it is recent."""
    try:
        since = datetime.datetime.fromtimestamp(float(request.GET["since"]), tz=datetime.UTC)
    except (KeyError, ValueError, OverflowError, OSError):
        return None
    age = (timezone.now() - since).total_seconds()
    return since if 0 <= age <= WAIT_SECONDS else None


def _activity(source: LogSource, *, since: datetime.datetime | None = None) -> dict:
    """The status box, recent runs and files, and whether the page should ask again: while
    a run goes on, a file waits, or a run asked for has not started yet."""
    runs = list(usage.import_run_list(source=source)[:RUNS_SHOWN])
    uploads = []
    if source.kind == LogSource.Kind.UPLOAD:
        uploads = list(usage.log_upload_list(source=source)[:UPLOADS_SHOWN])
    waiting = since is not None and not any(run.started_at >= since for run in runs)
    busy = any(run.status == ImportRun.Status.RUNNING for run in runs) or any(
        upload.state in UNFINISHED_UPLOADS for upload in uploads
    )
    poll_url = _detail_url(source)
    if waiting:
        poll_url += f"?since={since.timestamp():.6f}"
    return {
        "source": source,
        "runs": runs,
        "run": runs[0] if runs else None,
        "uploads": uploads,
        "waiting": waiting,
        "polling": waiting or busy,
        "poll_url": poll_url,
    }


def _detail(
    request: HttpRequest,
    source: LogSource,
    *,
    upload_form: LogUploadForm | None = None,
    upload_refusal: str = "",
    token: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        **_activity(source),
        "upload_form": upload_form or LogUploadForm(),
        "upload_refusal": upload_refusal,
        "upload_limit": sources.size_text(settings.ANALYTICS_UPLOAD_MAX_BYTES),
        "token": token,
        "mapping": json.dumps(source.config["mapping"]) if "mapping" in source.config else "",
    }
    if source.kind == LogSource.Kind.PUSH:
        context["ingest_url"] = settings.PORTICO_BASE_URL + reverse(
            "analytics_ingest", kwargs={"lookup": source.push_lookup_id}
        )
    response = render(request, DETAIL_TEMPLATE, context, status=status)
    if token:
        add_never_cache_headers(response)
    return response


@organisation_view(min_role=OrgRole.ADMIN)
@require_GET
def source_list(request: HttpRequest) -> HttpResponse:
    context = {"sources": usage.log_source_list_with_last_run(organisation=request.organisation)}
    return render(request, "analytics/sources/list.html", context)


@organisation_view(min_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def source_new(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind") or request.GET.get("kind", "")
    if kind not in LogSource.Kind.values:
        # First step: choose the kind, whose settings the form then asks for.
        return render(
            request,
            "analytics/sources/new.html",
            {"kinds": LogSource.Kind.choices, "form": None},
            status=400 if request.method == "POST" else 200,
        )
    form = _form(request, kind, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source, token = sources.source_create(
                organisation=request.organisation,
                kind=kind,
                actor=Actor.from_request(request),
                **form.values(),
            )
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            messages.success(request, f"Log source {source.name} added.")
            if token:
                return _detail(request, source, token=token)
            return redirect(_detail_url(source))
    context = {"kind": kind, "kind_label": LogSource.Kind(kind).label, "form": form}
    return render(request, "analytics/sources/new.html", context, status=form_status(form))


@organisation_view(min_role=OrgRole.ADMIN)
@require_GET
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The source's page; for htmx, only its activity, which polls while imports go on."""
    source = _source(request, pk)
    if request.htmx and request.htmx.target == ACTIVITY_TARGET:
        activity = _activity(source, since=_since(request))
        return render(request, f"{DETAIL_TEMPLATE}#activity", activity)
    return _detail(request, source)


@organisation_view(min_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    form = _form(
        request, source.kind, request.POST or None, source=source, initial=source_initial(source)
    )
    if request.method == "POST" and form.is_valid():
        values = form.values()
        try:
            sources.source_update(
                source=source,
                actor=Actor.from_request(request),
                clear_api=values["api"] is None,
                **values,
            )
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
        else:
            messages.success(request, f"Log source {source.name} saved.")
            return redirect(_detail_url(source))
        source.refresh_from_db()  # the service changed it before refusing
    context = {"source": source, "form": form}
    return render(request, "analytics/sources/edit.html", context, status=form_status(form))


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def source_enabled(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch the source on (``enabled=on``) or off (anything else)."""
    source = _source(request, pk)
    enabled = request.POST.get("enabled") == "on"
    try:
        sources.source_update(source=source, actor=Actor.from_request(request), enabled=enabled)
    except ApplicationError as error:
        refuse(error)
        messages.error(request, error.message)
    else:
        state = "on" if enabled else "off"
        messages.success(request, f"Log source {source.name} switched {state}.")
    return redirect(_detail_url(source))


@organisation_view(min_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def source_delete(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    if request.method == "POST":
        try:
            sources.source_delete(source=source, actor=Actor.from_request(request))
        except ApplicationError as error:
            refuse(error)
            messages.error(request, error.message)
            return redirect(_detail_url(source))
        messages.success(request, f"Log source {source.name} deleted.")
        return redirect(_list_url(request))
    context = {"source": source, "run_count": usage.import_run_list(source=source).count()}
    return render(request, "analytics/sources/delete.html", context)


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def source_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Import now: the same task the REST API's import starts. For htmx, the activity,
    polling until the run it asked for has ended."""
    source = _source(request, pk)
    asked_at = timezone.now()
    try:
        sources.import_trigger(source=source, actor=Actor.from_request(request))
    except ApplicationError as error:
        refuse(error)
        messages.error(request, error.message)
        asked_at = None
    else:
        if not request.htmx:
            messages.success(request, "Import queued; this page shows its runs.")
    if not request.htmx:
        return redirect(_detail_url(source))
    context = {**_activity(source, since=asked_at), "oob_messages": True}
    return render(request, f"{DETAIL_TEMPLATE}#activity", context)


@csrf_exempt  # checked below, once the declared length has been
@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def source_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """A file for an upload source. Its size is first judged by the request's declared
    length, before the CSRF check reads the form (and so the file) to disk."""
    source = _source(request, pk)
    try:
        sources.upload_length_check(request.META.get("CONTENT_LENGTH"))
    except ApplicationError as error:
        return _detail(request, source, upload_refusal=error.message, status=error.status)
    return _upload(request, source)


@csrf_protect
def _upload(request: HttpRequest, source: LogSource) -> HttpResponse:
    form = LogUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            upload = sources.upload_create(
                source=source, file=form.cleaned_data["file"], actor=Actor.from_request(request)
            )
        except ApplicationError as error:
            refuse(error)
            add_application_error(form, error)
            return _detail(request, source, upload_form=form, status=error.status)
        messages.success(request, f"{upload.name} uploaded; its import is queued.")
        return redirect(_detail_url(source))
    return _detail(request, source, upload_form=form, status=form_status(form))


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def source_rotate_token(request: HttpRequest, pk: int) -> HttpResponse:
    """A new push token, shown in this answer only; the old one stops working now."""
    source = _source(request, pk)
    try:
        token = sources.push_token_rotate(source=source, actor=Actor.from_request(request))
    except ApplicationError as error:
        refuse(error)
        messages.error(request, error.message)
        return redirect(_detail_url(source))
    messages.success(request, "New push token made; the old one no longer works.")
    return _detail(request, source, token=token)
