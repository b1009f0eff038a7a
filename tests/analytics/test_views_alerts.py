"""Alert rule pages: the list with states, last values and evaluations (filtered in place
through htmx), add, edit and delete, and who may do which."""

import datetime

import pytest
from django.urls import reverse

from analytics.models import AlertRule
from analytics.services.alerts import alert_rule_create
from apis.models import Api
from tenants.actors import Actor
from tenants.models import AuditEvent
from tests.factories import member_of

from .usage_world import publish

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "alert-rules"}
EVALUATED = datetime.datetime(2026, 3, 18, 10, 21, tzinfo=datetime.UTC)


def url(name: str, org: str = "acme", **kwargs) -> str:
    return reverse(f"analytics:{name}", kwargs={"org": org, **kwargs})


LIST = url("alert_list")
NEW = url("alert_new")


def api_rule(world, cast, **fields) -> AlertRule:
    values = {"name": "Ledger errors", "metric": "error_rate", "threshold": 5.0, **fields}
    return alert_rule_create(
        organisation=world.acme, api=world.api, actor=Actor.for_user(cast.owner), **values
    )


def app_rule(world, cast, **fields) -> AlertRule:
    values = {"name": "Checkout latency", "metric": "p95_latency", "threshold": 800, **fields}
    return alert_rule_create(
        organisation=world.acme,
        application=world.checkout,
        actor=Actor.for_user(cast.owner),
        **values,
    )


def fired(rule: AlertRule, value: float) -> AlertRule:
    AlertRule.objects.filter(pk=rule.pk).update(
        state=AlertRule.State.FIRING,
        last_value=value,
        last_evaluated_at=EVALUATED,
        last_changed_at=EVALUATED,
    )
    rule.refresh_from_db()
    return rule


def form_data(target: str, **fields) -> dict:
    return {
        "name": "Ledger p95",
        "target": target,
        "metric": "p95_latency",
        "threshold": "750",
        "window_minutes": "30",
        "clear_ratio": "0.7",
        "notify_email": "on",
        "enabled": "on",
        **fields,
    }


# --- The list --------------------------------------------------------------------------


def test_members_see_each_rules_state_last_value_and_evaluation(usage_world, cast, client_for):
    firing = fired(api_rule(usage_world, cast), 12.5)
    quiet = app_rule(usage_world, cast)
    page = client_for(cast.member).get(LIST).content.decode()
    assert page.count('data-testid="alert-rule"') == 2
    row = page[page.index(f'id="alert-rule-{firing.pk}"') :]
    row = row[: row.index("</tr>")]
    assert '<span class="badge badge--firing">Firing</span>' in row
    assert "12.5%" in row
    assert "5.0%" in row  # the threshold
    assert "2026-03-18 10:21" in row
    assert "Acme Ledger API" in row
    row = page[page.index(f'id="alert-rule-{quiet.pk}"') :]
    row = row[: row.index("</tr>")]
    assert '<span class="badge badge--ok">OK</span>' in row
    assert "800.0 ms" in row
    assert "never" in row
    assert "Acme Checkout" in row
    # A member writes no rule: no way to add, edit or delete.
    assert NEW not in page
    assert url("alert_edit", pk=firing.pk) not in page
    assert url("alert_delete", pk=quiet.pk) not in page


def test_each_writer_gets_the_links_to_the_rules_they_may_change(usage_world, cast, client_for):
    on_api = api_rule(usage_world, cast)
    on_app = app_rule(usage_world, cast)
    maintainer = client_for(cast.maintainer).get(LIST).content.decode()
    assert NEW in maintainer
    assert url("alert_edit", pk=on_api.pk) in maintainer
    assert url("alert_edit", pk=on_app.pk) in maintainer
    developer = client_for(cast.developer).get(LIST).content.decode()
    assert NEW in developer
    assert url("alert_edit", pk=on_api.pk) not in developer
    assert url("alert_edit", pk=on_app.pk) in developer
    assert url("alert_delete", pk=on_app.pk) in developer


def test_a_disabled_rule_shows_off_and_an_evaluation_without_calls_says_so(
    usage_world, cast, client_for
):
    rule = api_rule(usage_world, cast, enabled=False)
    AlertRule.objects.filter(pk=rule.pk).update(last_evaluated_at=EVALUATED)
    page = client_for(cast.member).get(LIST).content.decode()
    assert '<span class="badge badge--suspended"' in page
    assert ">off</span>" in page
    assert "no calls" in page


def test_htmx_filters_by_state_and_gets_the_rules_only(usage_world, cast, client_for):
    firing = fired(api_rule(usage_world, cast), 40.0)
    quiet = app_rule(usage_world, cast)
    client = client_for(cast.member)
    response = client.get(LIST + "?state=firing", **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<section id="alert-rules"')
    assert 'hx-trigger="every 60s"' in body
    assert f'id="alert-rule-{firing.pk}"' in body
    assert f'id="alert-rule-{quiet.pk}"' not in body
    ok = client.get(LIST + "?state=ok", **HTMX).content.decode()
    assert f'id="alert-rule-{quiet.pk}"' in ok
    assert f'id="alert-rule-{firing.pk}"' not in ok
    # Without htmx the same filter is a whole page; an unknown state shows every rule.
    full = client.get(LIST + "?state=firing").content.decode()
    assert "<html" in full
    assert f'id="alert-rule-{quiet.pk}"' not in full
    every = client.get(LIST + "?state=bogus").content.decode()
    assert every.count('data-testid="alert-rule"') == 2


def test_rules_on_an_api_hidden_from_a_member_stay_hidden(usage_world, cast, client_for):
    secret = publish(
        organisation=cast.org,
        team=cast.team,
        actor=Actor.for_user(cast.maintainer),
        name="Payroll internals",
        slug="payroll",
        visibility=Api.Visibility.TEAM,
    )
    rule = alert_rule_create(
        organisation=cast.org,
        api=secret,
        name="Payroll errors",
        metric="error_rate",
        threshold=1,
        actor=Actor.for_user(cast.maintainer),
    )
    assert "Payroll errors" not in client_for(cast.member).get(LIST).content.decode()
    assert "Payroll errors" in client_for(cast.maintainer).get(LIST).content.decode()
    assert client_for(cast.member).get(url("alert_edit", pk=rule.pk)).status_code == 404
    assert client_for(cast.member).post(url("alert_delete", pk=rule.pk)).status_code == 404
    assert AlertRule.objects.filter(pk=rule.pk).exists()


def test_the_usage_overview_links_to_the_alert_rules(usage_world, cast, client_for):
    page = client_for(cast.member).get(url("overview")).content.decode()
    assert f'href="{LIST}"' in page


def test_outsiders_get_404(usage_world, cast, client_for):
    rule = api_rule(usage_world, cast)
    client = client_for(usage_world.outsider)
    for path in (LIST, NEW, url("alert_edit", pk=rule.pk), url("alert_delete", pk=rule.pk)):
        assert client.get(path).status_code == 404, path
    assert client.post(url("alert_delete", pk=rule.pk)).status_code == 404
    # Globex's owner, under Globex's address, does not reach Acme's rule either.
    globex = client_for(cast.outsider)
    assert globex.get(url("alert_edit", "globex", pk=rule.pk)).status_code == 404
    assert AlertRule.objects.filter(pk=rule.pk).exists()


# --- Adding ----------------------------------------------------------------------------


def test_a_maintainer_adds_a_rule_on_the_teams_api(usage_world, cast, client_for):
    client = client_for(cast.maintainer)
    page = client.get(NEW).content.decode()
    assert f'value="api:{usage_world.api.pk}"' in page
    assert f'value="application:{usage_world.checkout.pk}"' in page
    response = client.post(NEW, form_data(f"api:{usage_world.api.pk}"))
    assert response.status_code == 302
    assert response["Location"] == LIST
    rule = AlertRule.objects.get()
    assert (rule.organisation, rule.api, rule.application) == (cast.org, usage_world.api, None)
    assert (rule.name, rule.metric, rule.threshold) == ("Ledger p95", "p95_latency", 750.0)
    assert (rule.window_minutes, rule.clear_ratio) == (30, 0.7)
    assert (rule.notify_email, rule.notify_webhook, rule.enabled) == (True, False, True)
    assert rule.state == AlertRule.State.OK
    event = AuditEvent.objects.get(action="alert_rule.created")
    assert event.actor_user == cast.maintainer
    assert "Alert rule Ledger p95 added." in client.get(LIST).content.decode()


def test_a_developer_adds_a_rule_on_the_teams_application_but_not_on_the_api(
    usage_world, cast, client_for
):
    client = client_for(cast.developer)
    page = client.get(NEW).content.decode()
    assert f'value="application:{usage_world.checkout.pk}"' in page
    assert f'value="api:{usage_world.api.pk}"' not in page
    refused = client.post(NEW, form_data(f"api:{usage_world.api.pk}"))
    assert refused.status_code == 400
    assert "Select a valid choice." in refused.content.decode()
    assert not AlertRule.objects.exists()
    response = client.post(
        NEW,
        form_data(
            f"application:{usage_world.checkout.pk}",
            name="Checkout quota",
            metric="quota_use",
            threshold="90",
        ),
    )
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.application, rule.api, rule.metric) == (usage_world.checkout, None, "quota_use")


def test_the_form_starts_on_the_target_in_the_query(usage_world, cast, client_for):
    page = client_for(cast.admin).get(NEW + f"?api={usage_world.api.pk}").content.decode()
    assert f'<option value="api:{usage_world.api.pk}" selected>' in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"target": ""}, "This field is required."),
        ({"target": "api:999999"}, "Select a valid choice."),
        ({"threshold": "0"}, "For p95 latency (ms) give 1 to 600000 ms"),
        ({"metric": "error_rate", "threshold": "150"}, "For error rate (%) give 0.1 to 100 %"),
        ({"threshold": "nan"}, "Enter a number."),
        ({"window_minutes": "2"}, "greater than or equal to 5"),
        ({"clear_ratio": "1.5"}, "Give a ratio above 0 and at most 1"),
        ({"metric": "uptime"}, "Select a valid choice."),
    ],
)
def test_bad_rules_answer_400_and_write_nothing(usage_world, cast, client_for, fields, message):
    data = {**form_data(f"api:{usage_world.api.pk}"), **fields}
    response = client_for(cast.admin).post(NEW, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AlertRule.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="alert_rule.").exists()


@pytest.mark.parametrize("who", ["viewer", "member"])
def test_viewers_and_members_add_no_rules(usage_world, cast, client_for, who):
    client = client_for(getattr(cast, who))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data(f"api:{usage_world.api.pk}")).status_code == 403
    assert not AlertRule.objects.exists()


def test_a_writer_with_nothing_to_watch_is_told_so(usage_world, cast, client_for):
    lone = member_of(cast.org, team=usage_world.api.team, team_role="developer")
    usage_world.checkout.delete()
    page = client_for(lone).get(NEW)
    assert page.status_code == 200
    assert "There is nothing here you may watch" in page.content.decode()
    assert '<form method="post" class="form"' not in page.content.decode()


# --- Editing ---------------------------------------------------------------------------


def test_a_maintainer_edits_a_rule_and_its_state_stays(usage_world, cast, client_for):
    rule = fired(api_rule(usage_world, cast), 12.5)
    client = client_for(cast.maintainer)
    edit = url("alert_edit", pk=rule.pk)
    page = client.get(edit).content.decode()
    assert 'value="Ledger errors"' in page
    assert f'<option value="api:{rule.api_id}" selected>' in page
    response = client.post(
        edit,
        form_data(
            f"api:{usage_world.api.pk}",
            name="Ledger 5xx",
            metric="error_rate",
            threshold="2.5",
            enabled="",
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == LIST
    rule.refresh_from_db()
    assert (rule.name, rule.threshold, rule.enabled) == ("Ledger 5xx", 2.5, False)
    assert (rule.state, rule.last_value) == (AlertRule.State.FIRING, 12.5)
    assert AuditEvent.objects.filter(action="alert_rule.updated").count() == 1


def test_a_rule_moves_to_another_target(usage_world, cast, client_for):
    rule = api_rule(usage_world, cast)
    response = client_for(cast.admin).post(
        url("alert_edit", pk=rule.pk),
        form_data(f"application:{usage_world.checkout.pk}", metric="error_rate", threshold="3"),
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.api, rule.application) == (None, usage_world.checkout)


def test_a_bad_edit_answers_400_and_changes_nothing(usage_world, cast, client_for):
    rule = api_rule(usage_world, cast)
    response = client_for(cast.maintainer).post(
        url("alert_edit", pk=rule.pk),
        form_data(f"api:{usage_world.api.pk}", metric="error_rate", threshold="500"),
    )
    assert response.status_code == 400
    assert "For error rate (%) give 0.1 to 100 %" in response.content.decode()
    rule.refresh_from_db()
    assert (rule.name, rule.metric, rule.threshold) == ("Ledger errors", "error_rate", 5.0)
    assert not AuditEvent.objects.filter(action="alert_rule.updated").exists()


@pytest.mark.parametrize("who", ["developer", "viewer", "member"])
def test_only_the_apis_maintainers_and_admins_edit_its_rules(usage_world, cast, client_for, who):
    rule = api_rule(usage_world, cast)
    client = client_for(getattr(cast, who))
    edit = url("alert_edit", pk=rule.pk)
    assert client.get(edit).status_code == 403
    data = form_data(f"api:{usage_world.api.pk}", metric="error_rate", threshold="50")
    assert client.post(edit, data).status_code == 403
    rule.refresh_from_db()
    assert rule.threshold == 5.0


# --- Deleting --------------------------------------------------------------------------


def test_a_developer_deletes_the_teams_application_rule_after_confirming(
    usage_world, cast, client_for
):
    rule = app_rule(usage_world, cast)
    client = client_for(cast.developer)
    delete = url("alert_delete", pk=rule.pk)
    page = client.get(delete).content.decode()
    assert "Delete the alert rule Checkout latency?" in page
    assert AlertRule.objects.filter(pk=rule.pk).exists()
    response = client.post(delete)
    assert response.status_code == 302
    assert response["Location"] == LIST
    assert not AlertRule.objects.exists()
    assert AuditEvent.objects.filter(action="alert_rule.deleted").count() == 1


@pytest.mark.parametrize("who", ["developer", "viewer", "member"])
def test_only_the_apis_maintainers_and_admins_delete_its_rules(usage_world, cast, client_for, who):
    rule = api_rule(usage_world, cast)
    client = client_for(getattr(cast, who))
    delete = url("alert_delete", pk=rule.pk)
    assert client.get(delete).status_code == 403
    assert client.post(delete).status_code == 403
    assert AlertRule.objects.filter(pk=rule.pk).exists()
