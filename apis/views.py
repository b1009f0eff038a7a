"""Catalogue pages: browse and search, API and version pages, docs, compare; and the
owners' pages to add APIs, upload versions and move them through the lifecycle."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.forms import add_application_error
from tenants.models import Team
from tenants.scoping import organisation_view

from . import selectors
from .forms import ApiForm, SpecSourceForm, TransitionForm
from .models import Api, ApiVersion
from .policies import can_manage_api, can_manage_team_apis, organisations_publishing
from .services import catalogue, lifecycle
from .services.sources import read_source
from .specs.diff import compare
from .specs.errors import megabytes

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def _too_large(request: HttpRequest) -> HttpResponse | None:
    """Refuse an upload by its declared length, before reading a byte of it."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    limit = settings.SPEC_MAX_BYTES + 512 * 1024  # room for the other form fields
    if declared.isdigit() and int(declared) > limit:
        return render(
            request,
            "413.html",
            {
                "message": f"This upload is {megabytes(int(declared))}; the limit for a spec is "
                f"{megabytes(settings.SPEC_MAX_BYTES)}."
            },
            status=413,
        )
    return None


# --- Browsing -----------------------------------------------------------------


@login_required
@require_GET
def catalogue_list(request: HttpRequest) -> HttpResponse:
    params = {
        key: request.GET.get(key, "").strip()
        for key in ("q", "team", "tag", "kind", "state", "visibility", "organisation")
    }
    apis = selectors.api_search(
        user=request.user,
        text=params["q"],
        team=params["team"],
        tag=params["tag"],
        kind=params["kind"],
        state=params["state"],
        visibility=params["visibility"],
        organisation=params["organisation"],
    )
    page_size = request.GET.get("page_size", "")
    page_size = min(int(page_size), MAX_PAGE_SIZE) if page_size.isdigit() else PAGE_SIZE
    page = Paginator(apis, max(page_size, 1)).get_page(request.GET.get("page"))
    query = {k: v for k, v in params.items() if v}
    if page_size != PAGE_SIZE:
        query["page_size"] = str(page_size)
    context = {
        "page": page,
        "params": params,
        "query": query,
        "kinds": Api.Kind.choices,
        "states": ApiVersion.State.choices,
        "visibilities": Api.Visibility.choices,
    }
    if request.htmx and request.htmx.target == "catalogue-results":
        return render(request, "apis/catalogue.html#results", context)
    # The catalogue belongs to no organisation, so it offers each one the user adds APIs to.
    context["publishing"] = list(organisations_publishing(user=request.user))
    context["tags"] = selectors.tag_list_visible(user=request.user)
    context["teams"] = (
        Team.objects.filter(organisation__memberships__user=request.user)
        .select_related("organisation")
        .order_by("organisation__name", "name")
    )
    return render(request, "apis/catalogue.html", context)


def _version_context(request, api: Api, version: ApiVersion) -> dict:
    owner = selectors.is_api_owner(user=request.user, api=api)
    manager = owner and can_manage_api(user=request.user, api=api)
    return {
        "api": api,
        "version": version,
        "versions": selectors.version_list_visible(user=request.user, api=api),
        "operations": selectors.operation_list(version=version),
        "transitions": selectors.transition_list(version=version),
        "is_owner": owner,
        "can_manage": manager,
        "allowed": lifecycle.allowed_transitions(version.state) if manager else [],
        "transition_form": TransitionForm(),
    }


@login_required
@require_GET
def api_detail(request: HttpRequest, owner: str, api: str) -> HttpResponse:
    api = selectors.api_get_visible(user=request.user, owner=owner, slug=api)
    versions = selectors.version_list_visible(user=request.user, api=api)
    version = None
    if api.current_version_id:
        version = versions.filter(pk=api.current_version_id).first()
    version = version or versions.first()
    if version is None:
        context = {
            "api": api,
            "version": None,
            "versions": [],
            "is_owner": selectors.is_api_owner(user=request.user, api=api),
            "can_manage": can_manage_api(user=request.user, api=api),
        }
        return render(request, "apis/api_detail.html", context)
    return render(request, "apis/api_detail.html", _version_context(request, api, version))


@login_required
@require_GET
def version_detail(request: HttpRequest, owner: str, api: str, version: str) -> HttpResponse:
    api = selectors.api_get_visible(user=request.user, owner=owner, slug=api)
    version = selectors.version_get_visible(user=request.user, api=api, version=version)
    return render(request, "apis/api_detail.html", _version_context(request, api, version))


@login_required
@require_GET
def version_docs(request: HttpRequest, owner: str, api: str, version: str) -> HttpResponse:
    api = selectors.api_get_visible(user=request.user, owner=owner, slug=api)
    version = selectors.version_get_visible(user=request.user, api=api, version=version)
    return render(request, "apis/docs.html", {"api": api, "version": version})


@login_required
@require_GET
def version_spec(request: HttpRequest, owner: str, api: str, version: str) -> JsonResponse:
    """The normalised document, its servers pointed at the version's base URL for try-it."""
    api = selectors.api_get_visible(user=request.user, owner=owner, slug=api)
    version = selectors.version_get_visible(user=request.user, api=api, version=version)
    document = dict(version.spec.document)
    if version.base_url:
        if version.openapi_version == "2.0":
            from urllib.parse import urlsplit

            parts = urlsplit(version.base_url)
            document.update(host=parts.netloc, basePath=parts.path or "/", schemes=[parts.scheme])
        else:
            document["servers"] = [{"url": version.base_url}]
    return JsonResponse(document, json_dumps_params={"ensure_ascii": False})


@login_required
@require_GET
def version_compare(request: HttpRequest, owner: str, api: str) -> HttpResponse:
    api = selectors.api_get_visible(user=request.user, owner=owner, slug=api)
    versions = list(selectors.version_list_visible(user=request.user, api=api))
    labels = [v.version for v in versions]
    to_label = request.GET.get("to") or (labels[0] if labels else "")
    to_version = next((v for v in versions if v.version == to_label), None)
    from_label = request.GET.get("from") or (
        to_version.previous.version if to_version and to_version.previous else ""
    )
    from_version = next((v for v in versions if v.version == from_label), None)
    report = None
    if from_version and to_version and from_version != to_version:
        report = compare(from_version.spec.document, to_version.spec.document).as_dict()
    context = {
        "api": api,
        "versions": versions,
        "from_version": from_version,
        "to_version": to_version,
        "report": report,
    }
    return render(request, "apis/compare.html", context)


# --- Owning -------------------------------------------------------------------


def _managed_teams(request):
    teams = Team.objects.filter(organisation=request.organisation).order_by("name")
    return Team.objects.filter(
        pk__in=[t.pk for t in teams if can_manage_team_apis(user=request.user, team=t)]
    ).order_by("name")


@organisation_view()
@require_http_methods(["GET", "POST"])
def api_new(request: HttpRequest) -> HttpResponse:
    teams = _managed_teams(request)
    if not teams.exists():
        raise PermissionDenied("Only team maintainers and organisation admins publish APIs.")
    if request.method == "POST" and (refusal := _too_large(request)):
        return refusal
    api_form = ApiForm(request.POST or None, teams=teams)
    spec_form = SpecSourceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and api_form.is_valid() and spec_form.is_valid():
        actor = Actor.from_request(request)
        try:
            raw = read_source(*spec_form.source())
            data = api_form.cleaned_data
            version = catalogue.api_import_new(
                organisation=request.organisation,
                team=data["team"],
                name=data["name"],
                slug=data["slug"],
                summary=data["summary"],
                tags=data["tags"],
                visibility=data["visibility"],
                kind=data["kind"],
                raw=raw,
                version=spec_form.cleaned_data["version"],
                base_url=spec_form.cleaned_data["base_url"],
                actor=actor,
            )
        except ApplicationError as error:
            target = spec_form if "spec" in error.fields or not error.fields else api_form
            add_application_error(target, error)
        else:
            messages.success(request, f"{version.api.name} {version.version} added as a draft.")
            return redirect(version)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "apis/api_new.html", {"api_form": api_form, "spec_form": spec_form}, status=status
    )


@organisation_view()
@require_http_methods(["GET", "POST"])
def api_edit(request: HttpRequest, api: str) -> HttpResponse:
    api = selectors.api_get_owned(user=request.user, organisation=request.organisation, slug=api)
    if not can_manage_api(user=request.user, api=api):
        raise PermissionDenied("Only maintainers of the owning team and admins edit this API.")
    initial = {
        "team": api.team,
        "name": api.name,
        "summary": api.summary,
        "tags": ", ".join(t.name for t in api.tags.all()),
        "visibility": api.visibility,
    }
    form = ApiForm(
        request.POST or None, teams=_managed_teams(request), editing=True, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.api_update(api=api, actor=Actor.from_request(request), **form.cleaned_data)
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, "API updated.")
            return redirect(api)
    status = 400 if request.method == "POST" else 200
    return render(request, "apis/api_edit.html", {"api": api, "form": form}, status=status)


@organisation_view()
@require_http_methods(["GET", "POST"])
def version_new(request: HttpRequest, api: str) -> HttpResponse:
    api = selectors.api_get_owned(user=request.user, organisation=request.organisation, slug=api)
    if not can_manage_api(user=request.user, api=api):
        raise PermissionDenied("Only maintainers of the owning team and admins add versions.")
    if request.method == "POST" and (refusal := _too_large(request)):
        return refusal
    form = SpecSourceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = catalogue.version_create(
                api=api,
                raw=read_source(*form.source()),
                version=form.cleaned_data["version"],
                base_url=form.cleaned_data["base_url"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"Version {version.version} added as a draft.")
            return redirect(version)
    status = 400 if request.method == "POST" else 200
    return render(request, "apis/version_new.html", {"api": api, "form": form}, status=status)


@organisation_view()
@require_POST
def version_transition(request: HttpRequest, api: str, version: str) -> HttpResponse:
    api = selectors.api_get_owned(user=request.user, organisation=request.organisation, slug=api)
    found = (
        selectors.version_list_visible(user=request.user, api=api).filter(version=version).first()
    )
    if found is None:
        raise Http404("Not found.")
    if not can_manage_api(user=request.user, api=api):
        raise PermissionDenied("Only maintainers of the owning team and admins move versions.")
    form = TransitionForm(request.POST)
    if form.is_valid():
        try:
            transition = lifecycle.version_transition(
                version=found,
                to_state=form.cleaned_data["to_state"],
                reason=form.cleaned_data["reason"],
                sunset_at=form.cleaned_data["sunset_at"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(
                request, f"Version {found.version} is now {transition.get_to_state_display()}."
            )
    else:
        messages.error(request, "The change was not made: " + form.errors.as_text())
    return redirect(found)


def _error_text(error: ApplicationError) -> str:
    details = [m for messages_ in error.fields.values() for m in messages_]
    return " ".join([error.message, *[d for d in details if d != error.message]])
