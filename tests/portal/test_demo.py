import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command

from portal.demo import DEMO_PASSWORD, demo_processes, seed
from tenants.models import AuditEvent, Membership, Organisation, TeamMembership, User


def _snapshot():
    return {
        "users": sorted(User.objects.values_list("email", flat=True)),
        "memberships": sorted(
            Membership.objects.values_list("organisation__slug", "user__email", "role")
        ),
        "team_memberships": sorted(
            TeamMembership.objects.values_list("team__slug", "user__email", "role")
        ),
        "audit_events": AuditEvent.objects.count(),
        "emails": sorted(EmailAddress.objects.values_list("email", "verified", "primary")),
    }


def test_seed_twice_changes_nothing(db):
    seed()
    first = _snapshot()

    seed()

    assert _snapshot() == first


def test_seed_creates_one_person_per_role(db):
    seed()

    acme = Organisation.objects.get(slug="acme")
    assert acme.name == "Acme Corp"
    assert sorted(acme.teams.values_list("slug", "name")) == [
        ("identity", "Identity"),
        ("payments", "Payments"),
    ]
    assert dict(
        Membership.objects.filter(organisation=acme).values_list("user__email", "role")
    ) == {
        "owner@acme.example": "owner",
        "admin@acme.example": "admin",
        "member@acme.example": "member",
        "maintainer@acme.example": "member",
        "developer@acme.example": "member",
        "viewer@acme.example": "member",
    }
    assert sorted(
        TeamMembership.objects.filter(organisation=acme).values_list(
            "team__slug", "user__email", "role"
        )
    ) == [
        ("identity", "developer@acme.example", "developer"),
        ("payments", "developer@acme.example", "developer"),
        ("payments", "maintainer@acme.example", "maintainer"),
        ("payments", "viewer@acme.example", "viewer"),
    ]
    globex = Organisation.objects.get(slug="globex")
    assert list(globex.memberships.values_list("user__email", "role")) == [
        ("owner@globex.example", "owner")
    ]


def test_seeded_accounts_are_verified_and_share_the_password(db):
    seed()

    for user in User.objects.all():
        assert user.check_password(DEMO_PASSWORD), user.email
        assert EmailAddress.objects.filter(
            user=user, email=user.email, verified=True, primary=True
        ).exists()
    staff = User.objects.get(email="admin@portico.example")
    assert staff.is_staff
    assert staff.is_superuser
    assert not staff.memberships.exists()
    assert not User.objects.filter(is_staff=True).exclude(pk=staff.pk).exists()


def test_seeding_leaves_an_audit_trail(db):
    seed()

    acme = Organisation.objects.get(slug="acme")
    actions = list(AuditEvent.objects.filter(organisation=acme).values_list("action", flat=True))
    assert actions.count("organisation.created") == 1
    assert actions.count("team.created") == 2
    assert actions.count("invitation.accepted") == 5


def test_a_seeded_account_can_sign_in(db, client):
    seed()

    response = client.post(
        "/accounts/login/", {"login": "developer@acme.example", "password": DEMO_PASSWORD}
    )

    assert response.status_code == 302
    assert client.get("/o/acme/").status_code == 200


def test_password_option_changes_every_password(db):
    seed()
    seed(password="another-demo-password")

    assert all(u.check_password("another-demo-password") for u in User.objects.all())


def test_seed_demo_command_prints_the_accounts(db, capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    out = capsys.readouterr().out
    assert out.count("viewer@acme.example") == 2
    assert "viewer in payments" in out
    assert DEMO_PASSWORD in out


def test_demo_commands_refuse_production(db, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="not in production"):
        call_command("seed_demo")
    with pytest.raises(CommandError, match="not in production"):
        call_command("demo", "--no-worker")
    assert not User.objects.exists()


def test_demo_runs_a_worker_with_beat_and_the_web_server_last():
    worker, web = demo_processes(port=8123)

    assert worker.name == "worker"
    assert worker.argv[1:6] == ["-m", "celery", "-A", "portal", "worker"]
    assert {"-B", "--pool=solo"} <= set(worker.argv)
    assert web.name == "web"
    assert web.argv[-3:] == ["runserver", "127.0.0.1:8123", "--noreload"]


def test_demo_without_worker_serves_only():
    assert [p.name for p in demo_processes(port=8000, worker=False)] == ["web"]
