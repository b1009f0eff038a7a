"""Portal pages for organisations, teams, members, invitations, audit and tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors
from .actors import Actor
from .errors import ApplicationError
from .forms import (
    AccessTokenForm,
    InvitationForm,
    OrganisationForm,
    OrganisationRenameForm,
    OrgRoleForm,
    TeamEditForm,
    TeamForm,
    TeamMemberForm,
    TeamRoleForm,
    add_application_error,
    form_status,
)
from .roles import OrgRole
from .scoping import organisation_view
from .services import invitations, organisations, tokens


def _org_url(request, name: str, **kwargs) -> str:
    return reverse(f"tenants:{name}", kwargs={"org": request.organisation.slug, **kwargs})


def _fail(request, error: ApplicationError) -> None:
    messages.error(request, error.message)


# --- Organisations ------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def organisation_create(request: HttpRequest) -> HttpResponse:
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = organisations.organisation_create(
                name=form.cleaned_data["name"], slug=form.cleaned_data["slug"], owner=request.user
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"Organisation {organisation.name} created.")
            return redirect(organisation)
    return render(
        request, "tenants/organisation_create.html", {"form": form}, status=form_status(form)
    )


@organisation_view(write_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def organisation_detail(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation
    form = OrganisationRenameForm(request.POST or None, initial={"name": organisation.name})
    if request.method == "POST" and form.is_valid():
        try:
            organisations.organisation_update(
                organisation=organisation,
                name=form.cleaned_data["name"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, "Organisation renamed.")
            return redirect(organisation)
    context = {
        "form": form,
        "teams": selectors.team_list(organisation=organisation),
        "my_teams": selectors.team_list_for_user(organisation=organisation, user=request.user),
        "member_count": selectors.membership_list(organisation=organisation).count(),
    }
    return render(request, "tenants/organisation_detail.html", context, status=form_status(form))


@organisation_view()
@require_http_methods(["GET", "POST"])
def organisation_leave(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            organisations.membership_leave(membership=request.membership)
        except ApplicationError as error:
            _fail(request, error)
            return redirect(request.organisation)
        messages.success(request, f"You left {request.organisation.name}.")
        return redirect("home")
    return render(request, "tenants/organisation_leave.html")


# --- Teams --------------------------------------------------------------------


@organisation_view(write_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def team_list(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = organisations.team_create(
                organisation=request.organisation,
                actor=Actor.from_request(request),
                **form.cleaned_data,
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"Team {team.name} created.")
            return redirect(team)
    teams = selectors.team_list(organisation=request.organisation)
    return render(
        request,
        "tenants/team_list.html",
        {"teams": teams, "form": form},
        status=form_status(form),
    )


@organisation_view()
@require_GET
def team_detail(request: HttpRequest, team: str) -> HttpResponse:
    team = selectors.team_get(organisation=request.organisation, slug=team)
    return render(request, "tenants/team_detail.html", _team_context(team))


def _team_context(team, add_form=None, edit_form=None) -> dict:
    return {
        "team": team,
        "members": selectors.team_membership_list(team=team),
        "add_form": add_form or TeamMemberForm(candidates=selectors.team_candidate_list(team=team)),
        "edit_form": edit_form
        or TeamEditForm(initial={"name": team.name, "description": team.description}),
        "role_form": TeamRoleForm(),
    }


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def team_member_add(request: HttpRequest, team: str) -> HttpResponse:
    team = selectors.team_get(organisation=request.organisation, slug=team)
    form = TeamMemberForm(request.POST, candidates=selectors.team_candidate_list(team=team))
    if form.is_valid():
        try:
            organisations.team_member_set(
                team=team,
                user=form.cleaned_data["user"],
                role=form.cleaned_data["role"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['user']} joined the team.")
            if not request.htmx:
                return redirect(team)
            form = None
    template = "tenants/team_detail.html#members" if request.htmx else "tenants/team_detail.html"
    context = _team_context(team, add_form=form)
    return render(request, template, context, status=form_status(form))


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def team_edit(request: HttpRequest, team: str) -> HttpResponse:
    team = selectors.team_get(organisation=request.organisation, slug=team)
    form = TeamEditForm(request.POST)
    if form.is_valid():
        try:
            organisations.team_update(
                team=team, actor=Actor.from_request(request), **form.cleaned_data
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, "Team updated.")
            return redirect(team)
    context = _team_context(team, edit_form=form)
    return render(request, "tenants/team_detail.html", context, status=form_status(form))


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def team_delete(request: HttpRequest, team: str) -> HttpResponse:
    team = selectors.team_get(organisation=request.organisation, slug=team)
    try:
        organisations.team_delete(team=team, actor=Actor.from_request(request))
    except ApplicationError as error:
        _fail(request, error)
        return redirect(team)
    messages.success(request, f"Team {team.name} deleted.")
    return redirect(_org_url(request, "team_list"))


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def team_member_role(request: HttpRequest, team: str, pk: int) -> HttpResponse:
    team = selectors.team_get(organisation=request.organisation, slug=team)
    team_membership = selectors.team_membership_get(team=team, pk=pk)
    form = TeamRoleForm(request.POST)
    if form.is_valid():
        try:
            organisations.team_member_set(
                team=team,
                user=team_membership.user,
                role=form.cleaned_data["role"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            _fail(request, error)
        else:
            messages.success(request, f"{team_membership.user} is now {form.cleaned_data['role']}.")
    else:
        messages.error(request, "Choose a valid role.")
    return _team_members_response(request, team)


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def team_member_remove(request: HttpRequest, team: str, pk: int) -> HttpResponse:
    team = selectors.team_get(organisation=request.organisation, slug=team)
    team_membership = selectors.team_membership_get(team=team, pk=pk)
    try:
        organisations.team_member_remove(
            team_membership=team_membership, actor=Actor.from_request(request)
        )
    except ApplicationError as error:
        _fail(request, error)
    else:
        messages.success(request, f"{team_membership.user} left the team.")
    return _team_members_response(request, team)


def _team_members_response(request, team) -> HttpResponse:
    if not request.htmx:
        return redirect(team)
    return render(request, "tenants/team_detail.html#members", _team_context(team))


# --- Members ------------------------------------------------------------------


@organisation_view()
@require_GET
def member_list(request: HttpRequest) -> HttpResponse:
    memberships = selectors.membership_list(organisation=request.organisation)
    context = {"memberships": memberships, "role_form": OrgRoleForm()}
    return render(request, "tenants/member_list.html", context)


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    membership = selectors.membership_get(organisation=request.organisation, pk=pk)
    form = OrgRoleForm(request.POST)
    if form.is_valid():
        try:
            organisations.membership_change_role(
                membership=membership,
                role=form.cleaned_data["role"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            _fail(request, error)
        else:
            messages.success(request, f"{membership.user} is now {form.cleaned_data['role']}.")
    else:
        messages.error(request, "Choose a valid role.")
    return _members_response(request)


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = selectors.membership_get(organisation=request.organisation, pk=pk)
    try:
        organisations.membership_remove(membership=membership, actor=Actor.from_request(request))
    except ApplicationError as error:
        _fail(request, error)
    else:
        messages.success(request, f"{membership.user} was removed from the organisation.")
    return _members_response(request)


def _members_response(request) -> HttpResponse:
    if not request.htmx:
        return redirect(_org_url(request, "member_list"))
    context = {
        "memberships": selectors.membership_list(organisation=request.organisation),
        "role_form": OrgRoleForm(),
    }
    return render(request, "tenants/member_list.html#members", context)


# --- Invitations --------------------------------------------------------------


@organisation_view(min_role=OrgRole.ADMIN)
@require_http_methods(["GET", "POST"])
def invitation_list(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(request.POST or None, organisation=request.organisation)
    accept_url = None
    if request.method == "POST" and form.is_valid():
        try:
            invitation, token = invitations.invitation_create(
                organisation=request.organisation,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                team=form.cleaned_data["team"],
                team_role=form.cleaned_data["team_role"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            accept_url = invitations.invitation_accept_url(token)
            form = InvitationForm(organisation=request.organisation)
    context = {
        "form": form,
        "accept_url": accept_url,
        "invitations": selectors.invitation_list(organisation=request.organisation)[:100],
    }
    return render(request, "tenants/invitation_list.html", context, status=form_status(form))


@organisation_view(min_role=OrgRole.ADMIN)
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = selectors.invitation_get(organisation=request.organisation, pk=pk)
    try:
        invitations.invitation_revoke(invitation=invitation, actor=Actor.from_request(request))
    except ApplicationError as error:
        _fail(request, error)
    else:
        messages.success(request, f"Invitation of {invitation.email} withdrawn.")
    return redirect(_org_url(request, "invitation_list"))


@login_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitations.invitation_get_by_token(token=token)
    except ApplicationError as error:
        return render(
            request, "tenants/invitation_accept.html", {"error": error.message}, status=404
        )
    if request.method == "POST":
        try:
            membership = invitations.invitation_accept(token=token, user=request.user)
        except ApplicationError as error:
            return render(
                request,
                "tenants/invitation_accept.html",
                {"invitation": invitation, "error": error.message},
                status=error.status,
            )
        messages.success(request, f"Welcome to {membership.organisation.name}.")
        return redirect(membership.organisation)
    return render(request, "tenants/invitation_accept.html", {"invitation": invitation})


# --- Audit --------------------------------------------------------------------


@organisation_view(min_role=OrgRole.ADMIN)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    events = selectors.audit_event_list(organisation=request.organisation)
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    actions = (
        selectors.audit_event_list(organisation=request.organisation)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
    context = {"page": page, "action": action, "actions": actions}
    template = "tenants/audit_list.html#events" if request.htmx else "tenants/audit_list.html"
    return render(request, template, context)


# --- Access tokens ------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    organisations_ = selectors.organisation_list_for_user(user=request.user)
    form = AccessTokenForm(request.POST or None, organisations=organisations_)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            token, plaintext = tokens.token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=form.expires_at(),
                organisation=form.cleaned_data["organisation"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            created = {"token": token, "plaintext": plaintext}
            form = AccessTokenForm(organisations=organisations_)
    context = {
        "form": form,
        "created": created,
        "tokens": selectors.token_list(user=request.user),
    }
    response = render(request, "tenants/token_list.html", context, status=form_status(form))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = selectors.token_get(user=request.user, pk=pk)
    try:
        tokens.token_revoke(token=token, actor=Actor.from_request(request))
    except ApplicationError as error:
        _fail(request, error)
    else:
        messages.success(request, f"Token {token.display_prefix} revoked.")
    return redirect("tenants:token_list")
