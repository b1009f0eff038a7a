"""Gateway pages: connections, their runs and "Sync now", and the drift report.

Members of the organisation read connections and runs; owners and admins add,
change, delete and sync them, and read the drift report, which covers every
API of the organisation.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants import selectors as tenant_selectors
from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.forms import add_application_error, form_status
from tenants.roles import OrgRole
from tenants.scoping import organisation_view

from . import selectors_gateways as selectors
from .forms_gateways import ConnectionForm, connection_initial
from .models import GatewayConnection, SyncRun
from .services import connections

RUNS_SHOWN = 20


def _teams(request):
    return tenant_selectors.team_list(organisation=request.organisation).order_by("name")


@organisation_view()
@require_GET
def connection_list(request: HttpRequest) -> HttpResponse:
    context = {
        "connections": selectors.connection_list(organisation=request.organisation),
        "kinds": GatewayConnection.Kind.choices,
    }
    return render(request, "apis/connections/list.html", context)


@organisation_view(min_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def connection_new(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind") or request.GET.get("kind", "")
    if kind not in GatewayConnection.Kind.values:
        # First step: choose the kind, whose settings the form then asks for.
        return render(
            request,
            "apis/connections/new.html",
            {"kinds": GatewayConnection.Kind.choices, "form": None},
            status=400 if request.method == "POST" else 200,
        )
    form = ConnectionForm(request.POST or None, kind=kind, teams=_teams(request))
    if request.method == "POST" and form.is_valid():
        try:
            connection = connections.connection_create(
                organisation=request.organisation,
                kind=kind,
                actor=Actor.from_request(request),
                **form.values(),
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"Connection {connection.name} added.")
            return redirect(connection)
    context = {
        "kinds": GatewayConnection.Kind.choices,
        "kind": kind,
        "kind_label": GatewayConnection.Kind(kind).label,
        "form": form,
    }
    return render(request, "apis/connections/new.html", context, status=form_status(form))


def _pending_run(connection: GatewayConnection) -> SyncRun | None:
    return (
        selectors.run_list(connection=connection)
        .filter(status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING])
        .first()
    )


@organisation_view()
@require_GET
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get(organisation=request.organisation, pk=pk)
    runs = list(selectors.run_list(connection=connection)[:RUNS_SHOWN])
    context = {
        "connection": connection,
        "runs": runs,
        "run": _pending_run(connection) or (runs[0] if runs else None),
        "apis": selectors.connection_api_list(connection=connection, user=request.user),
    }
    return render(request, "apis/connections/detail.html", context)


@organisation_view(min_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def connection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get(organisation=request.organisation, pk=pk)
    form = ConnectionForm(
        request.POST or None,
        kind=connection.kind,
        teams=_teams(request),
        connection=connection,
        initial=connection_initial(connection),
    )
    if request.method == "POST" and form.is_valid():
        try:
            connections.connection_update(
                connection=connection, actor=Actor.from_request(request), **form.values()
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, "Connection updated.")
            return redirect(connection)
    context = {"connection": connection, "form": form}
    return render(request, "apis/connections/edit.html", context, status=form_status(form))


@organisation_view(min_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def connection_delete(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get(organisation=request.organisation, pk=pk)
    if request.method == "POST":
        try:
            connections.connection_delete(connection=connection, actor=Actor.from_request(request))
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect(connection)
        messages.success(request, f"Connection {connection.name} deleted.")
        return redirect(reverse("apis:connection_list", kwargs={"org": request.organisation.slug}))
    context = {
        "connection": connection,
        "api_count": selectors.connection_api_list(
            connection=connection, user=request.user
        ).count(),
    }
    return render(request, "apis/connections/delete.html", context)


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def connection_sync(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get(organisation=request.organisation, pk=pk)
    try:
        run = connections.connection_sync_request(
            connection=connection, actor=Actor.from_request(request)
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(connection)
    if not request.htmx:
        messages.success(request, "Sync queued; this page shows its progress.")
        return redirect(connection)
    return render(
        request, "apis/connections/detail.html#run-status", {"connection": connection, "run": run}
    )


@organisation_view()
@require_GET
def run_detail(request: HttpRequest, pk: int, run: int) -> HttpResponse:
    """A run's page; for htmx, only its status box, which polls while the run goes on."""
    connection = selectors.connection_get(organisation=request.organisation, pk=pk)
    run = selectors.run_get(connection=connection, pk=run)
    context = {"connection": connection, "run": run}
    if request.htmx:
        return render(request, "apis/connections/detail.html#run-status", context)
    return render(request, "apis/connections/run.html", context)


@organisation_view(min_role=OrgRole.ADMIN)
@require_GET
def drift(request: HttpRequest) -> HttpResponse:
    items = selectors.drift_list(organisation=request.organisation)
    context = {"groups": selectors.drift_groups(items), "count": len(items)}
    return render(request, "apis/connections/drift.html", context)
