"""The demo: seeded accounts and data, and the processes ``manage.py demo`` runs.

Seeding goes through the same services as the product, so the demo data has
its audit trail, and it is idempotent: running it again changes nothing.
Later parts of the catalogue add their own ``seed_*`` functions to ``seed``.
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.test.utils import override_settings

from tenants.actors import Actor
from tenants.models import Membership, Organisation, Team, User
from tenants.roles import OrgRole, TeamRole
from tenants.services.invitations import invitation_accept, invitation_create
from tenants.services.organisations import (
    membership_change_role,
    organisation_create,
    team_create,
    team_member_set,
)

DEMO_PASSWORD = "portico-demo"
STAFF_EMAIL = "admin@portico.example"


@dataclass(frozen=True)
class DemoOrganisation:
    slug: str
    name: str
    teams: dict[str, str] = field(default_factory=dict)  # slug -> name


@dataclass(frozen=True)
class DemoAccount:
    email: str
    first_name: str
    last_name: str
    organisation: str | None  # slug; None for platform staff
    org_role: str = ""
    team_roles: dict[str, str] = field(default_factory=dict)  # team slug -> role


DEMO_ORGANISATIONS = [
    DemoOrganisation("acme", "Acme Corp", {"payments": "Payments", "identity": "Identity"}),
    DemoOrganisation("globex", "Globex"),
]

# The first owner of each organisation founds it; the others join through
# the invitation flow, as real people do.
DEMO_ACCOUNTS = [
    DemoAccount("owner@acme.example", "Olivia", "Owner", "acme", OrgRole.OWNER),
    DemoAccount("admin@acme.example", "Adam", "Admin", "acme", OrgRole.ADMIN),
    DemoAccount("member@acme.example", "Mia", "Member", "acme", OrgRole.MEMBER),
    DemoAccount(
        "maintainer@acme.example",
        "Max",
        "Maintainer",
        "acme",
        OrgRole.MEMBER,
        {"payments": TeamRole.MAINTAINER},
    ),
    DemoAccount(
        "developer@acme.example",
        "Dana",
        "Developer",
        "acme",
        OrgRole.MEMBER,
        {"payments": TeamRole.DEVELOPER, "identity": TeamRole.DEVELOPER},
    ),
    DemoAccount(
        "viewer@acme.example",
        "Victor",
        "Viewer",
        "acme",
        OrgRole.MEMBER,
        {"payments": TeamRole.VIEWER},
    ),
    DemoAccount("owner@globex.example", "Grace", "Owner", "globex", OrgRole.OWNER),
    DemoAccount(STAFF_EMAIL, "Sam", "Staff", None),
]


@dataclass(frozen=True)
class SeededAccount:
    email: str
    organisation: str
    org_role: str
    team_roles: str
    password: str


def seed(*, password: str = DEMO_PASSWORD) -> list[SeededAccount]:
    """Everything the demo shows; safe to run any number of times."""
    # The seeded people accept their invitations at once: nobody needs the letters.
    quiet_mail = override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
    with quiet_mail, transaction.atomic():
        accounts = seed_tenants(password=password)
        from apis.demo import seed_catalogue
        from apis.demo_models import seed_models
        from apis.demo_subscriptions import seed_subscriptions

        seed_catalogue()
        seed_models()
        seed_subscriptions()
        return accounts


def seed_tenants(*, password: str) -> list[SeededAccount]:
    """The organisations, teams and one person per role (see ``DEMO_ACCOUNTS``)."""
    users = {account.email: _user(account, password=password) for account in DEMO_ACCOUNTS}
    for demo_org in DEMO_ORGANISATIONS:
        members = [a for a in DEMO_ACCOUNTS if a.organisation == demo_org.slug]
        founder = next(a for a in members if a.org_role == OrgRole.OWNER)
        actor = Actor.for_user(users[founder.email])
        organisation = Organisation.objects.filter(slug=demo_org.slug).first()
        if organisation is None:
            organisation = organisation_create(
                name=demo_org.name, slug=demo_org.slug, owner=users[founder.email]
            )
        teams = {}
        for team_slug, team_name in demo_org.teams.items():
            teams[team_slug] = Team.objects.filter(
                organisation=organisation, slug=team_slug
            ).first() or team_create(
                organisation=organisation, name=team_name, slug=team_slug, actor=actor
            )
        for account in members:
            user = users[account.email]
            _membership(organisation, user=user, role=account.org_role, actor=actor)
            for team_slug, team_role in account.team_roles.items():
                team_member_set(team=teams[team_slug], user=user, role=team_role, actor=actor)
    return [_describe(account, password=password) for account in DEMO_ACCOUNTS]


def _user(account: DemoAccount, *, password: str) -> User:
    staff = account.organisation is None
    user = User.objects.filter(email__iexact=account.email).first()
    if user is None:
        create = User.objects.create_superuser if staff else User.objects.create_user
        user = create(
            email=account.email,
            password=password,
            first_name=account.first_name,
            last_name=account.last_name,
        )
    elif not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def _membership(organisation: Organisation, *, user: User, role: str, actor: Actor) -> None:
    membership = Membership.objects.filter(organisation=organisation, user=user).first()
    if membership is None:
        _, token = invitation_create(
            organisation=organisation, email=user.email, role=role, actor=actor
        )
        membership = invitation_accept(token=token, user=user)
    if membership.role != role:
        membership_change_role(membership=membership, role=role, actor=actor)


def _describe(account: DemoAccount, *, password: str) -> SeededAccount:
    if account.organisation is None:
        organisation, org_role = "(platform staff)", "superuser"
    else:
        organisation = next(o.name for o in DEMO_ORGANISATIONS if o.slug == account.organisation)
        org_role = account.org_role
    team_roles = ", ".join(f"{role} in {team}" for team, role in account.team_roles.items())
    return SeededAccount(account.email, organisation, org_role, team_roles or "-", password)


# --- Processes ----------------------------------------------------------------


@dataclass(frozen=True)
class DemoProcess:
    """One child of ``manage.py demo``: a name for messages, its argv, extra env, and
    whether its output is dropped (the emulator logs every request it serves)."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    quiet: bool = False


EMULATOR = "aws-emulator"


def demo_processes(
    *, port: int, worker: bool = True, emulator_port: int | None = None
) -> list[DemoProcess]:
    """The children ``manage.py demo`` starts, in order; the web server comes last.

    Each entry is started, watched, and stopped on Ctrl-C. With ``emulator_port``, a
    local AWS API Gateway emulator (moto) comes first, for Acme's gateway connections.
    """
    python = sys.executable
    processes = []
    if emulator_port is not None:
        processes.append(
            DemoProcess(
                EMULATOR,
                [
                    str(Path(python).with_name("moto_server")),
                    "-H",
                    "127.0.0.1",
                    "-p",
                    str(emulator_port),
                ],
                quiet=True,
            )
        )
    if worker:
        # One process runs tasks and the beat schedule; the broker is whatever
        # CELERY_BROKER_URL says (SQLite by default, so nothing else to run).
        processes.append(
            DemoProcess(
                "worker",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "portal",
                    "worker",
                    "-B",
                    "--pool=solo",
                    "--loglevel=INFO",
                    "--hostname=demo@%h",
                ],
            )
        )
    processes.append(
        DemoProcess(
            "web",
            [
                python,
                str(settings.BASE_DIR / "manage.py"),
                "runserver",
                f"127.0.0.1:{port}",
                "--noreload",
            ],
        )
    )
    return processes
