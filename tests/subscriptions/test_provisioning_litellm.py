"""Provisioning onto LiteLLM, against answers recorded from a real proxy: an approved
subscription to a model becomes a virtual key with the portal's ``sk-pak...`` value,
the model and the key's alias; suspension blocks it, resumption unblocks it, and
revocation deletes it by its hash."""

from decimal import Decimal
from pathlib import Path

import pytest

from apis.models import Api, GatewayOperation, Subscription, SyncRun
from apis.services import keys
from apis.services.connections import connection_create
from apis.services.plans import plan_create, plan_update
from apis.services.provisioning import key_name
from apis.services.subscriptions import subscription_act, subscription_request
from apis.services.sync import sync_connection
from tenants.keys import digest
from tests.gateways.replay import ReplayServer, Reply

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "litellm"
TOKEN = "208b6f6e3f0f17bdd14f85df3fd40032c336f940a2f25108ab998667611e3fee"


def recorded(name: str, status: int = 200) -> Reply:
    return Reply.json_file(FIXTURES / name, status=status)


@pytest.fixture
def litellm(settings):
    settings.GATEWAY_RETRY_BASE_DELAY = 0
    settings.GATEWAY_MAX_ATTEMPTS = 1
    with ReplayServer() as server:
        server.add("GET", "/model/info", recorded("model_info.json"))
        server.add("GET", "/v1/models", recorded("v1_models.json"))
        server.add("GET", "/health/readiness", recorded("readiness.json"))
        server.add("POST", "/key/generate", recorded("key_generate.json"))
        server.add("POST", "/key/block", recorded("key_block.json"))
        server.add("POST", "/key/unblock", recorded("key_block.json"))
        server.add("POST", "/key/delete", recorded("key_delete.json"))
        yield server


@pytest.fixture
def model_api(world, litellm):
    connection = connection_create(
        organisation=world.provider,
        team=world.api_team,
        name="llm proxy",
        kind="litellm",
        config={"base_url": litellm.url},
        secret="sk-portico-test-master-0123456789",
        visibility=Api.Visibility.PUBLIC,
        publish_on_sync=True,
        actor=world.actor("provider_owner"),
    )
    run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    api = Api.objects.get(connection=connection, external_id="gpt-4o-mini")
    plan = plan_create(api=api, actor=world.actor("api_maintainer"), name="Team", approval="manual")
    return api, plan


def test_a_model_subscription_is_a_virtual_key_with_the_portals_value(
    world, litellm, model_api, django_capture_on_commit_callbacks
):
    api, plan = model_api
    subscription = subscription_request(
        application=world.application, api=api, plan=plan, actor=world.actor("app_developer")
    )
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_act(
            subscription=subscription, action="approve", actor=world.actor("api_maintainer")
        )

    credential = subscription.credentials.get()
    value = keys.credential_reveal(credential=credential, actor=world.actor("app_developer"))
    assert value.startswith("sk-pak")
    assert credential.prefix == f"sk-pak{credential.lookup_id}"
    assert keys.credential_authenticate(value) == credential
    (sent,) = litellm.received("POST", "/key/generate")
    body = sent.json()
    assert body["key"] == value
    assert body["models"] == ["gpt-4o-mini"]
    assert body["key_alias"] == key_name(credential)
    assert sent.header("Authorization") == "Bearer sk-portico-test-master-0123456789"
    credential.refresh_from_db()
    assert credential.gateway_key_id == TOKEN
    subscription.refresh_from_db()
    assert subscription.gateway_state == Subscription.GatewayState.ACTIVE

    for action, reason, path, state in (
        ("suspend", "Spending too fast.", "/key/block", "disabled"),
        ("resume", "", "/key/unblock", "active"),
        ("revoke", "Contract ended.", "/key/delete", "removed"),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            subscription_act(
                subscription=subscription,
                action=action,
                reason=reason,
                actor=world.actor("api_maintainer"),
            )
        subscription.refresh_from_db()
        assert subscription.gateway_state == state, action
        (call,) = litellm.received("POST", path)
        assert call.json() == ({"keys": [TOKEN]} if path == "/key/delete" else {"key": TOKEN})
    assert set(
        GatewayOperation.objects.filter(subscription=subscription).values_list("state", flat=True)
    ) == {"succeeded"}
    assert keys.credential_authenticate(value) is None


def test_a_repeated_provision_finds_the_key_the_proxy_already_holds(
    world, litellm, model_api, django_capture_on_commit_callbacks
):
    api, plan = model_api
    # The first generate reached the proxy, but its answer did not come back.
    litellm.add("POST", "/key/generate", Reply.json({"error": "exists"}, status=400))
    litellm.add("GET", "/key/info", lambda r: Reply.json({"key": r.query["key"][0], "info": {}}))
    subscription = subscription_request(
        application=world.application, api=api, plan=plan, actor=world.actor("app_developer")
    )
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_act(
            subscription=subscription, action="approve", actor=world.actor("api_maintainer")
        )

    credential = subscription.credentials.get()
    value = credential.open_reveal()
    (lookup,) = litellm.received("GET", "/key/info")
    assert lookup.query["key"] == [digest(value)]
    credential.refresh_from_db()
    assert credential.gateway_key_id == digest(value)
    subscription.refresh_from_db()
    assert subscription.gateway_state == Subscription.GatewayState.ACTIVE


@pytest.mark.parametrize(
    ("budget", "period", "sent"),
    [
        (Decimal("25.50"), "month", (25.5, "30d")),
        (Decimal("3.00"), "day", (3.0, "1d")),
        (Decimal("100"), "", (100.0, None)),  # no period: the key's lifetime
        (None, "month", (None, None)),
    ],
)
def test_the_plan_s_budget_goes_with_the_key(
    world, litellm, model_api, django_capture_on_commit_callbacks, budget, period, sent
):
    api, plan = model_api
    plan_update(plan=plan, actor=world.actor("api_maintainer"), budget=budget, quota_period=period)
    subscription = subscription_request(
        application=world.application, api=api, plan=plan, actor=world.actor("app_developer")
    )
    with django_capture_on_commit_callbacks(execute=True):
        subscription_act(
            subscription=subscription, action="approve", actor=world.actor("api_maintainer")
        )

    (generate,) = litellm.received("POST", "/key/generate")
    body = generate.json()
    assert (body["max_budget"], body["budget_duration"]) == sent
    subscription.refresh_from_db()
    assert subscription.gateway_state == Subscription.GatewayState.ACTIVE
