from apis.models import Api, GatewayDeployment, GatewayKey, Plan, SyncRun
from apis.services.connections import connection_create
from apis.services.sync import sync_connection
from tenants.actors import Actor

from .moto_apis import aws_client, create_rest_api


def test_rest_sync_brings_apis_plans_keys(aws, cast):
    client = aws_client(aws)
    api_id = create_rest_api(client, "orders")
    plan = client.create_usage_plan(
        name="gold",
        apiStages=[{"apiId": api_id, "stage": "prod"}],
        throttle={"rateLimit": 10, "burstLimit": 20},
        quota={"limit": 1000, "period": "DAY"},
    )
    key = client.create_api_key(name="k1", enabled=True, value="k" * 30)
    client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    connection = connection_create(
        organisation=cast.org,
        team=cast.team,
        name="aws",
        kind="aws_rest",
        config={"region": "eu-west-1", "endpoint_url": aws.url},
        actor=Actor.for_user(cast.owner),
    )
    run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert run.new == 1
    api = Api.objects.get(connection=connection, external_id=api_id)
    assert api.current_version.operations.count() == 1
    deployment = GatewayDeployment.objects.get(api=api)
    assert deployment.integrations[0]["lambda"]["function"] == "items"
    assert Plan.objects.get(api=api).quota_limit == 1000
    assert GatewayKey.objects.get(connection=connection).plan_ids == [plan["id"]]

    again = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 1)
    assert again.calls < run.calls
    assert api.versions.count() == 1
