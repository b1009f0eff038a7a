"""REST API of the gateway outbox: members of the provider read it; the API's
maintainers and the organisation's admins retry what failed."""

from apis.models import GatewayOperation, Subscription
from tenants.models import AuditEvent

from .api_fixtures import *  # noqa: F403 - the fixtures
from .api_fixtures import BASE, GLOBEX

OPS = f"{BASE}/operations/"


def test_members_list_and_filter(cast, api_for, failed_operation):
    client = api_for(cast.member)
    response = client.get(OPS, {"state": "failed", "action": "provision"})
    assert response.status_code == 200, response.content
    (row,) = response.json()["results"]
    assert row["id"] == failed_operation.pk
    assert row["application"] == "Checkout"
    assert row["key"] == failed_operation.credential.prefix
    assert row["last_error"] == "The gateway answered HTTP 400."
    assert "sealed_value" not in row
    assert "sealed-value-never-shown" not in response.content.decode()
    assert client.get(OPS, {"state": "succeeded"}).json()["results"] == []
    assert client.get(OPS, {"action": "revoke"}).json()["results"] == []
    assert client.get(f"{OPS}{failed_operation.pk}/").json()["state"] == "failed"


def test_maintainer_retries_a_failed_operation(
    cast, api_for, failed_operation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_for(cast.maintainer).post(f"{OPS}{failed_operation.pk}/retry/")
    assert response.status_code == 202, response.content
    assert (response.json()["state"], response.json()["attempts"]) == ("pending", 0)
    assert len(callbacks) == 1
    failed_operation.refresh_from_db()
    assert failed_operation.state == GatewayOperation.State.PENDING
    subscription = Subscription.objects.get(pk=failed_operation.subscription_id)
    assert subscription.gateway_state == Subscription.GatewayState.PROVISIONING
    assert AuditEvent.objects.filter(action="gateway.operation_retried").count() == 1


def test_only_failed_operations_are_retried(cast, api_for, api_error, failed_operation):
    GatewayOperation.objects.filter(pk=failed_operation.pk).update(
        state=GatewayOperation.State.SUCCEEDED
    )
    api_error(api_for(cast.admin).post(f"{OPS}{failed_operation.pk}/retry/"), 409, "conflict")


def test_developers_and_members_do_not_retry(cast, api_for, api_error, failed_operation):
    for user in (cast.developer, cast.member):
        api_error(api_for(user).post(f"{OPS}{failed_operation.pk}/retry/"), 403)
    failed_operation.refresh_from_db()
    assert failed_operation.state == GatewayOperation.State.FAILED


def test_another_organisation_sees_no_operations(cast, api_for, api_error, failed_operation):
    api_error(api_for(cast.outsider).get(f"{OPS}{failed_operation.pk}/"), 404)
    api_error(api_for(cast.outsider).post(f"{OPS}{failed_operation.pk}/retry/"), 404)
    assert api_for(cast.outsider).get(f"{GLOBEX}/operations/").json()["results"] == []
