"""Gateway models in the admin site: the schedule follows a changed interval, secrets and
key digests are never shown, what syncs saw is read-only."""

import pytest
from django_celery_beat.models import PeriodicTask

from apis.models import GatewayDeployment, GatewayKey, Plan, SyncRun
from apis.services.connections import schedule_name
from apis.services.sync import sync_connection
from tenants.models import AuditEvent
from tests.factories import UserFactory

from .moto_apis import create_rest_api

SECRET = "sk-litellm-admin-9e8d7c6b5a4f3e21"


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@portico.test", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(staff, client_for):
    return client_for(staff)


@pytest.fixture
def synced(aws, apigw, cast, aws_connection):
    """A synced AWS connection with an API, a stage, a plan and a key."""
    api_id = create_rest_api(apigw, "orders")
    plan = apigw.create_usage_plan(
        name="gold",
        apiStages=[{"apiId": api_id, "stage": "prod"}],
        throttle={"rateLimit": 10, "burstLimit": 20},
    )
    key = apigw.create_api_key(name="k1", enabled=True, value="v" * 30)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    run = sync_connection(connection=aws_connection, trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    return aws_connection


def change_form(connection, **overrides) -> dict:
    data = {
        "name": connection.name,
        "config": '{"region": "eu-west-1"}',
        "visibility": connection.visibility,
        "interval_minutes": str(connection.interval_minutes),
        "enabled": "on",
        "new_secret": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("model", ["gatewayconnection", "syncrun", "gatewaydeployment", "plan"])
def test_pages_load_for_staff_and_nothing_is_added_by_hand(synced, admin_client, model):
    objects = {
        "gatewayconnection": synced,
        "syncrun": SyncRun.objects.get(connection=synced),
        "gatewaydeployment": GatewayDeployment.objects.get(connection=synced),
        "plan": Plan.objects.get(connection=synced),
    }
    assert admin_client.get(f"/admin/apis/{model}/").status_code == 200
    assert admin_client.get(f"/admin/apis/{model}/{objects[model].pk}/change/").status_code == 200
    assert admin_client.get(f"/admin/apis/{model}/add/").status_code == 403


def test_changing_the_interval_moves_the_schedule_and_is_audited(
    cast, admin_client, staff, aws_connection
):
    response = admin_client.post(
        f"/admin/apis/gatewayconnection/{aws_connection.pk}/change/",
        change_form(aws_connection, interval_minutes="90", enabled=""),
    )
    assert response.status_code == 302
    task = PeriodicTask.objects.get(name=schedule_name(aws_connection))
    assert (task.interval.every, task.enabled) == (90, False)
    event = AuditEvent.objects.filter(action="gateway_connection.updated").get()
    assert event.actor_user == staff
    assert event.actor_label == "staff@portico.test (platform staff)"
    assert (event.before["interval_minutes"], event.after["interval_minutes"]) == (60, 90)


def test_config_is_checked_by_kind_in_the_admin(admin_client, aws_connection):
    response = admin_client.post(
        f"/admin/apis/gatewayconnection/{aws_connection.pk}/change/",
        change_form(aws_connection, config='{"base_url": "https://x.test"}'),
    )
    assert response.status_code == 200
    assert "Unknown settings." in response.content.decode()
    aws_connection.refresh_from_db()
    assert "base_url" not in aws_connection.config


def test_the_secret_is_write_only_in_the_admin(admin_client, make_connection):
    connection = make_connection(
        name="llm", kind="litellm", config={"base_url": "https://llm.test"}, secret=SECRET
    )
    page = admin_client.get(f"/admin/apis/gatewayconnection/{connection.pk}/change/")
    html = page.content.decode()
    assert "A secret is set; type a new one to replace it." in html
    assert SECRET not in html
    assert connection.sealed_secret not in html

    new = "sk-litellm-admin-replaced-0a1b2c3d"
    form = change_form(connection, config='{"base_url": "https://llm.test"}', new_secret=new)
    response = admin_client.post(f"/admin/apis/gatewayconnection/{connection.pk}/change/", form)
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.secret() == new
    events = str(list(AuditEvent.objects.values("before", "after")))
    assert new not in events
    assert SECRET not in events


def test_keys_are_read_only_and_their_digest_is_never_shown(synced, admin_client):
    key = GatewayKey.objects.get(connection=synced)
    assert key.value_digest
    page = admin_client.get(f"/admin/apis/gatewaykey/{key.pk}/change/")
    assert page.status_code == 200
    assert key.value_digest not in page.content.decode()
    assert admin_client.post(f"/admin/apis/gatewaykey/{key.pk}/delete/").status_code == 403


def test_runs_are_read_only(synced, admin_client):
    run = SyncRun.objects.get(connection=synced)
    response = admin_client.post(f"/admin/apis/syncrun/{run.pk}/change/", {"status": "failed"})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED


def test_a_plans_terms_change_with_an_audit_event(synced, admin_client, staff):
    plan = Plan.objects.get(connection=synced)
    form = {
        "name": plan.name,
        "description": "",
        "rate_limit": "25",
        "burst_limit": "20",
        "quota_limit": "",
        "quota_period": "",
        "approval": "manual",
        "key_grace_hours": "24",
        "budget": "7.25",
        "is_active": "on",
    }
    response = admin_client.post(f"/admin/apis/plan/{plan.pk}/change/", form)
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.rate_limit == 25
    event = AuditEvent.objects.get(action="plan.updated")
    assert (event.before["rate_limit"], event.after["rate_limit"]) == (10, 25)
    assert (event.before["budget"], event.after["budget"]) == (None, "7.25")
    assert event.actor_user == staff


def test_a_plans_terms_are_checked_by_the_plan_service(synced, admin_client):
    plan = Plan.objects.get(connection=synced)
    form = {
        "name": plan.name,
        "description": "",
        "rate_limit": "25",
        "burst_limit": "20",
        "quota_limit": "1000",
        "quota_period": "",
        "approval": "manual",
        "key_grace_hours": "24",
        "budget": "-1",
        "is_active": "on",
    }
    response = admin_client.post(f"/admin/apis/plan/{plan.pk}/change/", form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "quota_period" in errors or "budget" in errors
    plan.refresh_from_db()
    assert plan.rate_limit == 10
    assert not AuditEvent.objects.filter(action="plan.updated").exists()
