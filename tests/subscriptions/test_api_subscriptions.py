"""REST API of subscriptions: asking, the decisions of each side, plan changes, and
what each side sees of the other."""

import pytest

from apis.models import Subscription
from apis.services.plans import plan_create
from apis.services.subscriptions import (
    subscription_act,
    subscription_change_plan_request,
    subscription_request,
)
from tenants.actors import Actor
from tenants.models import AuditEvent

from .api_fixtures import *  # noqa: F403 - the fixtures
from .api_fixtures import BASE, GLOBEX

SUBS = f"{BASE}/subscriptions/"


def ask(client, application, chosen, /, **extra):
    body = {
        "application": application.pk,
        "api_owner": chosen.api.organisation.slug,
        "api": chosen.api.slug,
        "plan": chosen.pk,
        "reason": "Checkout posts its sales",
        **extra,
    }
    return client.post(SUBS, body, format="json")


# --- Asking -----------------------------------------------------------------------


def test_developer_asks_and_the_decision_fields_are_not_theirs(cast, api_for, checkout, gold):
    response = ask(
        api_for(cast.developer),
        checkout,
        gold,
        state="approved",
        gateway_state="active",
        decided_by=cast.developer.pk,
        decided_at="2020-01-01T00:00:00Z",
        decision_reason="self-service",
        requested_by=cast.owner.pk,
        organisation="globex",
        provider="globex",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["state"], body["gateway_state"], body["side"]) == ("pending", "none", "both")
    assert (body["organisation"], body["provider"]) == ("acme", "acme")
    assert body["requested_by"] == cast.developer.email
    assert (body["decided_by"], body["decided_at"]) == (None, None)
    assert body["decision_reason"] == ""
    assert body["application"] == {
        "id": checkout.pk,
        "name": "Checkout",
        "team": "Payments Squad",
        "organisation": "Acme Secret Works",
    }
    assert body["api"] == {"owner": "acme", "slug": "ledger", "name": "Ledger API"}
    assert body["plan"] == {"id": gold.pk, "name": "Gold"}
    subscription = Subscription.objects.get(pk=body["id"])
    assert subscription.state == "pending"
    assert subscription.decided_by is None
    assert subscription.requested_by == cast.developer


def test_an_automatic_plan_is_approved_at_once_with_a_key_to_reveal(cast, api_for, checkout, free):
    response = ask(api_for(cast.developer), checkout, free)
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "approved"
    keys = api_for(cast.developer).get(f"{SUBS}{response.json()['id']}/credentials/").json()
    assert [k["can_reveal"] for k in keys["results"]] == [True]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"plan": 0}, "plan"),
        ({"api": "nothing-here"}, "api"),
        ({"application": 0}, "application"),
    ],
)
def test_unknown_references_are_field_errors(
    change, field, cast, api_for, api_error, checkout, gold
):
    response = ask(api_for(cast.developer), checkout, gold, **change)
    assert field in api_error(response, 400, "invalid")["fields"]
    assert not Subscription.objects.exists()


def test_a_plan_of_another_api_is_refused(cast, api_for, api_error, checkout, gold, globex_plan):
    response = ask(api_for(cast.developer), checkout, gold, plan=globex_plan.pk)
    assert "plan" in api_error(response, 400)["fields"]


def test_viewers_may_not_ask(cast, api_for, api_error, checkout, gold):
    api_error(ask(api_for(cast.viewer), checkout, gold), 403, "permission_denied")
    assert not Subscription.objects.exists()


def test_asking_twice_is_a_conflict(cast, api_for, api_error, pending, checkout, gold):
    api_error(ask(api_for(cast.developer), checkout, gold), 409, "conflict")


# --- Reading ----------------------------------------------------------------------


def test_lists_by_side_state_and_api(cast, api_for, pending, cross):
    client = api_for(cast.member)
    everything = client.get(SUBS).json()["results"]
    assert sorted(s["id"] for s in everything) == sorted([pending.pk, cross.pk])
    consumer = client.get(SUBS, {"side": "consumer"}).json()["results"]
    assert sorted(s["id"] for s in consumer) == sorted([pending.pk, cross.pk])
    provider = client.get(SUBS, {"side": "provider"}).json()["results"]
    assert [s["id"] for s in provider] == [pending.pk]
    by_api = client.get(SUBS, {"api_owner": "globex", "api": "rates"}).json()["results"]
    assert [s["id"] for s in by_api] == [cross.pk]
    assert client.get(SUBS, {"state": "approved"}).json()["results"] == []
    by_app = client.get(SUBS, {"application": pending.application_id}).json()["results"]
    assert len(by_app) == 2


def test_a_bad_filter_is_a_field_error(cast, api_for, api_error):
    response = api_for(cast.member).get(SUBS, {"side": "sideways"})
    assert "side" in api_error(response, 400)["fields"]


def test_the_provider_sees_the_application_but_none_of_the_consumers_people(cast, api_for, cross):
    response = api_for(cast.outsider).get(f"{GLOBEX}/subscriptions/{cross.pk}/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["side"] == "provider"
    assert body["application"]["name"] == "Checkout"
    assert body["application"]["organisation"] == "Acme Secret Works"
    assert body["requested_by"] is None
    assert cast.developer.email not in response.content.decode()
    assert body["web_url"].endswith(f"/o/globex/subscriptions/{cross.pk}/")
    listed = api_for(cast.outsider).get(f"{GLOBEX}/subscriptions/", {"side": "provider"})
    assert [s["id"] for s in listed.json()["results"]] == [cross.pk]


def test_nobody_else_sees_a_subscription(cast, api_for, api_error, pending):
    api_error(api_for(cast.outsider).get(f"{GLOBEX}/subscriptions/{pending.pk}/"), 404)
    api_error(api_for(cast.outsider).get(f"{SUBS}{pending.pk}/"), 404)


# --- Deciding ---------------------------------------------------------------------


def test_maintainer_approves_and_a_key_waits(cast, api_for, pending):
    response = api_for(cast.maintainer).post(
        f"{SUBS}{pending.pk}/approve/", {"reason": "Welcome"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "approved"
    assert body["decided_by"] == cast.maintainer.email
    assert body["decision_reason"] == "Welcome"
    assert pending.credentials.get().sealed_reveal
    assert AuditEvent.objects.filter(action="subscription.approved").count() == 1


def test_nobody_approves_their_own_request(cast, api_for, api_error, checkout, gold):
    client = api_for(cast.maintainer)
    asked = ask(client, checkout, gold)
    assert asked.status_code == 201, asked.content
    error = api_error(client.post(f"{SUBS}{asked.json()['id']}/approve/"), 403)
    assert error["code"] == "permission_denied"
    assert "yourself" in error["message"]
    assert Subscription.objects.get(pk=asked.json()["id"]).state == "pending"


def test_developers_do_not_decide(cast, api_for, api_error, pending):
    error = api_error(api_for(cast.developer).post(f"{SUBS}{pending.pk}/approve/"), 403)
    assert "maintainers" in error["message"]


def test_a_move_the_table_refuses_is_a_conflict(cast, api_for, api_error, pending):
    error = api_error(api_for(cast.maintainer).post(f"{SUBS}{pending.pk}/resume/"), 409)
    assert error["code"] == "conflict"
    assert "pending" in error["message"].lower()


def test_reject_needs_a_reason(cast, api_for, api_error, pending):
    client = api_for(cast.maintainer)
    error = api_error(client.post(f"{SUBS}{pending.pk}/reject/", {}, format="json"), 400)
    assert "reason" in error["fields"]
    assert Subscription.objects.get(pk=pending.pk).state == "pending"
    response = client.post(f"{SUBS}{pending.pk}/reject/", {"reason": "Not yet"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["decision_reason"]) == (
        "rejected",
        "Not yet",
    )


def test_decision_payloads_cannot_set_other_fields(cast, api_for, pending):
    response = api_for(cast.maintainer).post(
        f"{SUBS}{pending.pk}/approve/",
        {"state": "revoked", "decided_by": cast.owner.pk, "gateway_state": "failed"},
        format="json",
    )
    assert response.status_code == 200, response.content
    pending.refresh_from_db()
    assert (pending.state, pending.decided_by, pending.gateway_state) == (
        "approved",
        cast.maintainer,
        "none",
    )


def test_the_consumer_cancels_its_request(cast, api_for, pending):
    response = api_for(cast.developer).post(f"{SUBS}{pending.pk}/cancel/")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "cancelled"


def test_the_consumer_unsubscribes_and_its_keys_stop(cast, api_for, api_error, approved):
    api_error(api_for(cast.viewer).post(f"{SUBS}{approved.pk}/unsubscribe/"), 403)
    response = api_for(cast.developer).post(f"{SUBS}{approved.pk}/unsubscribe/")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "cancelled"
    assert approved.credentials.filter(revoked_at__isnull=True).count() == 0
    api_error(api_for(cast.developer).post(f"{SUBS}{approved.pk}/unsubscribe/"), 409)


def test_suspend_resume_and_revoke(cast, api_for, api_error, approved):
    client = api_for(cast.admin)
    api_error(client.post(f"{SUBS}{approved.pk}/suspend/"), 400)
    suspended = client.post(f"{SUBS}{approved.pk}/suspend/", {"reason": "Abuse"}, format="json")
    assert suspended.json()["state"] == "suspended", suspended.content
    resumed = client.post(f"{SUBS}{approved.pk}/resume/")
    assert resumed.json()["state"] == "approved", resumed.content
    revoked = client.post(f"{SUBS}{approved.pk}/revoke/", {"reason": "Ended"}, format="json")
    assert revoked.json()["state"] == "revoked", revoked.content
    assert approved.credentials.filter(revoked_at__isnull=True).count() == 0


def test_provider_decisions_are_taken_from_the_providers_url(cast, api_for, api_error, cross):
    # Acme is the consumer of Globex's API: its owner cannot approve through Acme.
    error = api_error(api_for(cast.owner).post(f"{SUBS}{cross.pk}/approve/"), 403)
    assert "Globex" in error["message"]
    response = api_for(cast.outsider).post(f"{GLOBEX}/subscriptions/{cross.pk}/approve/")
    assert response.status_code == 200, response.content
    assert response.json()["side"] == "provider"
    assert response.json()["decided_by"] == cast.outsider.email


def test_the_provider_cannot_cancel_for_the_consumer(cast, api_for, api_error, cross):
    api_error(api_for(cast.outsider).post(f"{GLOBEX}/subscriptions/{cross.pk}/cancel/"), 403)
    assert Subscription.objects.get(pk=cross.pk).state == "pending"


# --- Plan changes -----------------------------------------------------------------


@pytest.fixture
def silver(cast, ledger):
    return plan_create(
        api=ledger, actor=Actor.for_user(cast.maintainer), name="Silver", approval="manual"
    )


def test_change_plan_then_approve_it(cast, api_for, approved, silver):
    asked = api_for(cast.developer).post(
        f"{SUBS}{approved.pk}/change-plan/",
        {"plan": silver.pk, "reason": "We grew"},
        format="json",
    )
    assert asked.status_code == 200, asked.content
    body = asked.json()
    assert body["plan"]["name"] == "Gold"
    assert body["requested_plan"] == {"id": silver.pk, "name": "Silver"}
    assert body["plan_change_reason"] == "We grew"
    decided = api_for(cast.maintainer).post(f"{SUBS}{approved.pk}/approve-plan-change/")
    assert decided.status_code == 200, decided.content
    assert decided.json()["plan"]["name"] == "Silver"
    assert decided.json()["requested_plan"] is None


def test_reject_plan_change_needs_a_reason(cast, api_for, api_error, approved, silver):
    subscription_change_plan_request(
        subscription=approved, plan=silver, actor=Actor.for_user(cast.developer)
    )
    client = api_for(cast.maintainer)
    url = f"{SUBS}{approved.pk}/reject-plan-change/"
    assert "reason" in api_error(client.post(url, {}, format="json"), 400)["fields"]
    response = client.post(url, {"reason": "Gold suits you"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["plan"]["name"], response.json()["requested_plan"]) == ("Gold", None)


def test_change_plan_refusals(cast, api_for, api_error, approved, globex_plan):
    client = api_for(cast.developer)
    same = client.post(f"{SUBS}{approved.pk}/change-plan/", {"plan": approved.plan_id})
    assert "plan" in api_error(same, 400)["fields"]
    other_api = client.post(f"{SUBS}{approved.pk}/change-plan/", {"plan": globex_plan.pk})
    assert "plan" in api_error(other_api, 400)["fields"]
    api_error(api_for(cast.viewer).post(f"{SUBS}{approved.pk}/change-plan/"), 403)
    api_error(api_for(cast.maintainer).post(f"{SUBS}{approved.pk}/approve-plan-change/"), 409)


def test_nobody_decides_their_own_plan_change(cast, api_for, api_error, checkout, gold, silver):
    subscription = subscription_request(
        application=checkout, api=gold.api, plan=gold, actor=Actor.for_user(cast.developer)
    )
    subscription_act(subscription=subscription, action="approve", actor=Actor.for_user(cast.admin))
    # The maintainer develops with the application's team too, so may ask for the change.
    client = api_for(cast.maintainer)
    asked = client.post(f"{SUBS}{subscription.pk}/change-plan/", {"plan": silver.pk})
    assert asked.status_code == 200, asked.content
    error = api_error(client.post(f"{SUBS}{subscription.pk}/approve-plan-change/"), 403)
    assert "yourself" in error["message"]
    assert Subscription.objects.get(pk=subscription.pk).plan == gold
