"""Applications of consumer teams."""

from django.db import transaction
from django.db.models import ProtectedError

from tenants.actors import Actor
from tenants.errors import Conflict, NotAllowed, ValidationFailed
from tenants.models import Membership, Team, User
from tenants.services.audit import audit_record
from tenants.services.unique import save_unique

from ..models import Application, Subscription
from .subscriptions import is_consumer


def _state(application: Application) -> dict:
    return {
        "name": application.name,
        "description": application.description,
        "team": application.team.slug,
        "owners": sorted(u.email for u in application.owners.all()),
    }


def _check_owners(application_org_id: int, owners: list[User]) -> None:
    members = set(
        Membership.objects.filter(organisation_id=application_org_id, user__in=owners).values_list(
            "user_id", flat=True
        )
    )
    if any(owner.pk not in members for owner in owners):
        raise ValidationFailed(
            "Owners must be members.",
            fields={"owners": ["Owners must belong to the organisation."]},
        )


@transaction.atomic
def application_create(
    *, team: Team, name: str, description: str = "", owners: list[User] | None = None, actor: Actor
) -> Application:
    application = Application(
        organisation=team.organisation,
        team=team,
        name=name,
        description=description,
        created_by=actor.user,
    )
    if not is_consumer(actor=actor, application=application):
        raise NotAllowed("Only developers and maintainers of the team create its applications.")
    owners = owners if owners is not None else ([actor.user] if actor.user else [])
    _check_owners(team.organisation_id, owners)
    save_unique(application, field="name", message="The team has an application of this name.")
    application.owners.set(owners)
    audit_record(
        actor=actor,
        organisation=team.organisation,
        action="application.created",
        target=application,
        after=_state(application),
    )
    return application


@transaction.atomic
def application_update(
    *,
    application: Application,
    actor: Actor,
    name: str | None = None,
    description: str | None = None,
    owners: list[User] | None = None,
) -> Application:
    if not is_consumer(actor=actor, application=application):
        raise NotAllowed("Only the application's team changes it.")
    before = _state(application)
    if name is not None:
        application.name = name
    if description is not None:
        application.description = description
    save_unique(application, field="name", message="The team has an application of this name.")
    if owners is not None:
        _check_owners(application.organisation_id, owners)
        application.owners.set(owners)
    audit_record(
        actor=actor,
        organisation=application.organisation,
        action="application.updated",
        target=application,
        before=before,
        after=_state(application),
    )
    return application


@transaction.atomic
def application_delete(*, application: Application, actor: Actor) -> None:
    if not is_consumer(actor=actor, application=application):
        raise NotAllowed("Only the application's team deletes it.")
    if application.subscriptions.filter(state__in=Subscription.LIVE_STATES).exists():
        raise Conflict("End the application's subscriptions before deleting it.")
    audit_record(
        actor=actor,
        organisation=application.organisation,
        action="application.deleted",
        target=application,
        before=_state(application),
    )
    try:
        application.delete()
    except ProtectedError as exc:
        raise Conflict("The application still has subscriptions.") from exc
