from apis.models import Api, Plan, Subscription, SyncRun
from apis.services import keys
from apis.services.applications import application_create
from apis.services.connections import connection_create
from apis.services.subscriptions import subscription_act, subscription_request
from apis.services.sync import sync_connection
from tenants.actors import Actor

from ..gateways.moto_apis import aws_client, create_rest_api


def test_approval_provisions_key_on_aws_and_suspend_revoke_follow(
    aws, cast, django_capture_on_commit_callbacks
):
    client = aws_client(aws)
    api_id = create_rest_api(client, "orders")
    usage_plan = client.create_usage_plan(
        name="gold",
        apiStages=[{"apiId": api_id, "stage": "prod"}],
        throttle={"rateLimit": 10, "burstLimit": 20},
        quota={"limit": 1000, "period": "DAY"},
    )
    connection = connection_create(
        organisation=cast.org,
        team=cast.team,
        name="aws",
        kind="aws_rest",
        config={"region": "eu-west-1", "endpoint_url": aws.url},
        publish_on_sync=True,
        actor=Actor.for_user(cast.owner),
    )
    run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
    assert run.status == "succeeded", run.errors
    api = Api.objects.get(external_id=api_id)
    plan = Plan.objects.get(api=api)
    developer = Actor.for_user(cast.developer)
    application = application_create(team=cast.team, name="Checkout", actor=developer)

    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_request(
            application=application,
            api=api,
            plan=plan,
            reason="checkout needs orders",
            actor=developer,
        )
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_act(
            subscription=subscription, action="approve", actor=Actor.for_user(cast.maintainer)
        )
    subscription.refresh_from_db()
    assert subscription.gateway_state == Subscription.GatewayState.ACTIVE
    credential = subscription.credentials.get()
    plaintext = keys.credential_reveal(credential=credential, actor=developer)
    aws_keys = client.get_api_keys(includeValues=True)["items"]
    assert [k["value"] for k in aws_keys] == [plaintext]
    members = client.get_usage_plan_keys(usagePlanId=usage_plan["id"])["items"]
    assert [m["id"] for m in members] == [aws_keys[0]["id"]]
    assert keys.credential_authenticate(plaintext) == credential

    with django_capture_on_commit_callbacks(execute=True):
        subscription_act(
            subscription=subscription,
            action="suspend",
            reason="abuse",
            actor=Actor.for_user(cast.maintainer),
        )
    assert client.get_api_keys()["items"][0]["enabled"] is False
    with django_capture_on_commit_callbacks(execute=True):
        subscription_act(
            subscription=subscription, action="resume", actor=Actor.for_user(cast.maintainer)
        )
    assert client.get_api_keys()["items"][0]["enabled"] is True
    with django_capture_on_commit_callbacks(execute=True):
        subscription_act(
            subscription=subscription,
            action="revoke",
            reason="ended",
            actor=Actor.for_user(cast.maintainer),
        )
    assert client.get_api_keys()["items"] == []
    subscription.refresh_from_db()
    assert subscription.gateway_state == Subscription.GatewayState.REMOVED
    assert keys.credential_authenticate(plaintext) is None
