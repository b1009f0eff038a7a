"""Analytics in the admin site: every page loads, imports and rollups are read-only,
changes are audited as platform staff and alert rules go through their service."""

import pytest
from django.urls import reverse

from analytics.models import (
    AlertRule,
    AnalyticsSettings,
    ImportRun,
    LogSource,
    LogUpload,
    RouteRollup,
    TeamBudget,
    UsageRollup,
)
from analytics.services.alerts import alert_rule_create
from analytics.services.sources import source_create
from tenants.actors import Actor
from tenants.models import AuditEvent
from tests.factories import UserFactory

from .usage_world import HOUR, add_route, add_usage


@pytest.fixture
def admin_client(db, client_for):
    return client_for(UserFactory(email="staff@portico.test", is_staff=True, is_superuser=True))


@pytest.fixture
def objects(usage_world, cast) -> dict:
    source, _ = source_create(
        organisation=cast.org,
        name="Edge push",
        kind="push",
        format="apigw_rest_json",
        actor=Actor.for_user(cast.owner),
    )
    upload = LogUpload.objects.create(
        source=source, organisation=cast.org, file="x.log", name="x.log", size_bytes=10
    )
    return {
        "logsource": source,
        "logupload": upload,
        "importrun": ImportRun.objects.create(
            source=source, organisation=cast.org, samples=[{"line": "junk", "error": "bad"}]
        ),
        "alertrule": alert_rule_create(
            organisation=cast.org,
            api=usage_world.api,
            name="Ledger errors",
            metric="error_rate",
            threshold=5,
            actor=Actor.for_user(cast.owner),
        ),
        "analyticssettings": AnalyticsSettings.objects.create(organisation=cast.org),
        "teambudget": TeamBudget.objects.create(
            team=cast.team, organisation=cast.org, monthly_limit=100
        ),
        "usagerollup": add_usage(organisation=cast.org, hour=HOUR, api=usage_world.api, calls=5),
        "routerollup": add_route(
            organisation=cast.org,
            hour=HOUR,
            api=usage_world.api,
            route="/entries",
            status=200,
            calls=5,
        ),
    }


MODELS = [
    "logsource",
    "logupload",
    "importrun",
    "alertrule",
    "analyticssettings",
    "teambudget",
    "usagerollup",
    "routerollup",
]
READ_ONLY = {"logupload", "importrun", "usagerollup", "routerollup"}


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS)
def test_pages_load(objects, admin_client, model):
    obj = objects[model]
    changelist = admin_client.get(reverse(f"admin:analytics_{model}_changelist"))
    assert changelist.status_code == 200
    change = admin_client.get(reverse(f"admin:analytics_{model}_change", args=[obj.pk]))
    assert change.status_code == 200
    add = admin_client.get(reverse(f"admin:analytics_{model}_add"))
    expected = 200 if model in ("analyticssettings", "teambudget") else 403
    assert add.status_code == expected
    if model in READ_ONLY:
        response = admin_client.post(reverse(f"admin:analytics_{model}_change", args=[obj.pk]), {})
        assert response.status_code == 403


@pytest.mark.django_db
def test_rollup_lists_filter_by_day_and_organisation(objects, admin_client, cast):
    url = reverse("admin:analytics_usagerollup_changelist")
    response = admin_client.get(url, {"organisation__id__exact": cast.other_org.pk})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
    response = admin_client.get(url, {"organisation__id__exact": cast.org.pk})
    assert response.context["cl"].result_count == 1
    assert UsageRollup.objects.count() == 1
    assert RouteRollup.objects.count() == 1


@pytest.mark.django_db
def test_a_source_change_is_audited_and_keeps_token_and_cursor(objects, admin_client):
    source = objects["logsource"]
    LogSource.objects.filter(pk=source.pk).update(cursor={"line": 42})
    digest = source.push_digest
    response = admin_client.post(
        reverse("admin:analytics_logsource_change", args=[source.pk]),
        {
            "name": "Edge push (paused)",
            "interval_minutes": "5",
            "push_digest": "forged",
            "cursor": '{"line": 0}',
        },
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.name, source.enabled) == ("Edge push (paused)", False)
    assert (source.push_digest, source.cursor) == (digest, {"line": 42})
    event = AuditEvent.objects.get(action="log_source.updated")
    assert event.actor_label == "staff@portico.test (platform staff)"
    assert event.before["enabled"] is True
    assert event.after["enabled"] is False


@pytest.mark.django_db
def test_an_alert_rule_change_goes_through_its_service(objects, admin_client):
    rule = objects["alertrule"]
    url = reverse("admin:analytics_alertrule_change", args=[rule.pk])
    form = {
        "name": rule.name,
        "metric": "error_rate",
        "threshold": "250",
        "window_minutes": "15",
        "clear_ratio": "0.8",
        "notify_email": "on",
        "notify_webhook": "on",
        "enabled": "on",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200  # the form again, with the error
    assert "For error rate (%) give 0.1 to 100 %." in response.content.decode()
    rule.refresh_from_db()
    assert rule.threshold == 5
    response = admin_client.post(url, {**form, "threshold": "12.5"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.threshold == 12.5
    event = AuditEvent.objects.get(action="alert_rule.updated")
    assert event.actor_label == "staff@portico.test (platform staff)"
    response = admin_client.post(
        reverse("admin:analytics_alertrule_delete", args=[rule.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not AlertRule.objects.exists()
    assert AuditEvent.objects.filter(action="alert_rule.deleted").count() == 1


@pytest.mark.django_db
def test_a_budget_belongs_to_its_teams_organisation(cast, admin_client):
    response = admin_client.post(
        reverse("admin:analytics_teambudget_add"),
        {"team": cast.other_team.pk, "monthly_limit": "500", "warn_at_percent": "90"},
    )
    assert response.status_code == 302
    budget = TeamBudget.objects.get()
    assert budget.organisation == cast.other_org
    assert AuditEvent.objects.get(action="team_budget.updated").organisation == cast.other_org
    response = admin_client.post(
        reverse("admin:analytics_teambudget_change", args=[budget.pk]),
        {"monthly_limit": "-5", "warn_at_percent": "90"},
    )
    assert response.status_code == 200
    assert "Give a positive amount." in response.content.decode()


@pytest.mark.django_db
def test_retention_settings_are_bounded_and_audited(cast, admin_client):
    url = reverse("admin:analytics_analyticssettings_add")
    response = admin_client.post(
        url,
        {"organisation": cast.org.pk, "raw_retention_days": "0", "rollup_retention_months": "13"},
    )
    assert response.status_code == 200
    assert not AnalyticsSettings.objects.exists()
    response = admin_client.post(
        url,
        {"organisation": cast.org.pk, "raw_retention_days": "7", "rollup_retention_months": "13"},
    )
    assert response.status_code == 302
    assert AnalyticsSettings.objects.get().raw_retention_days == 7
    event = AuditEvent.objects.get(action="analytics_settings.updated")
    assert event.after == {"raw_retention_days": 7, "rollup_retention_months": 13}
