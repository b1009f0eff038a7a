"""Alert rules: who may write them, what is refused, and the audit trail."""

import pytest

from analytics.models import AlertRule
from analytics.services.alerts import alert_rule_create, alert_rule_delete, alert_rule_update
from tenants.actors import Actor
from tenants.errors import NotAllowed, ValidationFailed
from tenants.models import AuditEvent


def create(world, actor_user, **fields) -> AlertRule:
    values = {
        "organisation": world.acme,
        "name": "Ledger errors",
        "metric": "error_rate",
        "threshold": 5.0,
        **fields,
    }
    if "application" not in values and "api" not in values:
        values["api"] = world.api
    return alert_rule_create(actor=Actor.for_user(actor_user), **values)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("owner", True),
        ("admin", True),
        ("maintainer", True),  # of the API's team
        ("developer", False),
        ("viewer", False),
        ("member", False),
    ],
)
def test_api_rules_are_written_by_admins_and_the_apis_maintainers(usage_world, cast, who, allowed):
    user = getattr(cast, who)
    if allowed:
        rule = create(usage_world, user)
        assert rule.state == AlertRule.State.OK
    else:
        with pytest.raises(NotAllowed):
            create(usage_world, user)
        assert not AlertRule.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("owner", True),
        ("admin", True),
        ("maintainer", True),  # the Checkout team's maintainer
        ("developer", True),
        ("viewer", False),
        ("member", False),
    ],
)
def test_application_rules_are_written_by_the_applications_team(usage_world, cast, who, allowed):
    user = getattr(cast, who)
    fields = {"application": usage_world.checkout, "metric": "p95_latency", "threshold": 800}
    if allowed:
        assert create(usage_world, user, **fields).application == usage_world.checkout
    else:
        with pytest.raises(NotAllowed):
            create(usage_world, user, **fields)


@pytest.mark.django_db
def test_another_organisations_api_or_application_is_refused(usage_world, cast):
    world = usage_world
    with pytest.raises(ValidationFailed) as refused:
        alert_rule_create(
            organisation=world.globex,
            api=world.api,
            name="Spying on Acme",
            metric="error_rate",
            threshold=1,
            actor=Actor.for_user(cast.outsider),
        )
    assert refused.value.fields["api"] == ["Choose an API of this organisation."]
    with pytest.raises(ValidationFailed) as refused:
        create(world, cast.owner, api=None, application=world.storefront)
    assert "application" in refused.value.fields


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"api": None}, "non_field_errors"),
        ({"application": "checkout"}, "non_field_errors"),  # and an API
        ({"threshold": 101}, "threshold"),
        ({"threshold": -1}, "threshold"),
        ({"threshold": 0}, "threshold"),  # could never resolve
        ({"metric": "p95_latency", "threshold": 0.5}, "threshold"),
        ({"metric": "quota_use", "threshold": 5000}, "threshold"),
        ({"metric": "uptime"}, "metric"),
        ({"window_minutes": 1}, "window_minutes"),
        ({"window_minutes": 20_000}, "window_minutes"),
        ({"clear_ratio": 0}, "clear_ratio"),
        ({"clear_ratio": 1.5}, "clear_ratio"),
        ({"name": "  "}, "name"),
    ],
)
def test_invalid_rules_are_refused_with_the_field(usage_world, cast, fields, field):
    if fields.get("application") == "checkout":
        fields = {**fields, "application": usage_world.checkout, "api": usage_world.api}
    with pytest.raises(ValidationFailed) as refused:
        create(usage_world, cast.owner, **fields)
    assert field in refused.value.fields
    assert not AlertRule.objects.exists()


@pytest.mark.django_db
def test_threshold_message_names_the_range(usage_world, cast):
    with pytest.raises(ValidationFailed) as refused:
        create(usage_world, cast.owner, threshold=250)
    assert refused.value.fields["threshold"] == ["For error rate (%) give 0.1 to 100 %."]


@pytest.mark.django_db
def test_update_and_delete_need_the_same_rights_and_are_audited(usage_world, cast):
    rule = create(usage_world, cast.maintainer)
    with pytest.raises(NotAllowed):
        alert_rule_update(rule=rule, actor=Actor.for_user(cast.developer), threshold=9)
    updated = alert_rule_update(rule=rule, actor=Actor.for_user(cast.maintainer), threshold=9)
    assert updated.threshold == 9
    with pytest.raises(NotAllowed):
        alert_rule_delete(rule=rule, actor=Actor.for_user(cast.viewer))
    alert_rule_delete(rule=rule, actor=Actor.for_user(cast.admin))
    assert not AlertRule.objects.exists()
    events = AuditEvent.objects.filter(target_type="analytics.alertrule").order_by("pk")
    assert [(e.action, e.actor_user.email) for e in events] == [
        ("alert_rule.created", "maintainer@acme.test"),
        ("alert_rule.updated", "maintainer@acme.test"),
        ("alert_rule.deleted", "admin@acme.test"),
    ]
    assert events[1].before["threshold"] == 5.0
    assert events[1].after["threshold"] == 9
    assert events[0].after["api"] == "ledger"


@pytest.mark.django_db
def test_moving_a_rule_needs_rights_on_the_new_target(usage_world, cast):
    world = usage_world
    rule = create(world, cast.developer, application=world.checkout)
    # The developer may not move the rule onto the API, which only maintainers manage.
    with pytest.raises(NotAllowed):
        alert_rule_update(
            rule=rule, actor=Actor.for_user(cast.developer), application=None, api=world.api
        )
    rule.refresh_from_db()
    assert rule.application == world.checkout
    assert rule.api is None


@pytest.mark.django_db
def test_a_firing_rule_keeps_its_state_through_an_update(usage_world, cast):
    rule = create(usage_world, cast.owner)
    AlertRule.objects.filter(pk=rule.pk).update(state=AlertRule.State.FIRING)
    rule.refresh_from_db()
    rule = alert_rule_update(rule=rule, actor=Actor.for_user(cast.owner), enabled=False)
    assert (rule.enabled, rule.state) == (False, AlertRule.State.FIRING)
