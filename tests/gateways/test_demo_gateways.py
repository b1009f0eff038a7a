"""The demo's AWS emulator: the filler, the connections and the first sync."""

import pytest

from apis.demo_gateways import (
    DEMO_HTTP_APIS,
    DEMO_KEYS,
    DEMO_REST_APIS,
    HTTP_CONNECTION,
    REST_CONNECTION,
    clients,
    emulator_fill,
    seed_gateways,
)
from apis.models import Api, ApiVersion, GatewayConnection, GatewayKey, Plan, SyncRun
from portal.demo import demo_processes, seed
from tenants.models import User


@pytest.fixture
def demo_people(db):
    seed(password="demo-password-for-tests")


def test_fill_creates_the_demo_estate_once(aws):
    ids = emulator_fill(endpoint_url=aws.url)
    again = emulator_fill(endpoint_url=aws.url)

    assert again == ids
    apigw, apigw2 = clients(aws.url)
    assert sorted(a["name"] for a in apigw.get_rest_apis()["items"]) == sorted(
        s.name for s in DEMO_REST_APIS
    )
    assert sorted(a["Name"] for a in apigw2.get_apis()["Items"]) == sorted(
        s.name for s in DEMO_HTTP_APIS
    )
    plans = {p["name"]: p for p in apigw.get_usage_plans()["items"]}
    assert set(plans) == {"Free", "Pro"}
    assert plans["Free"]["quota"] == {"limit": 1000, "period": "DAY"}
    assert sorted(k["name"] for k in apigw.get_api_keys()["items"]) == sorted(
        name for name, _ in DEMO_KEYS
    )


def test_fill_gives_the_same_ids_after_an_emulator_restart(aws):
    first = emulator_fill(endpoint_url=aws.url)
    aws.reset()  # what a new emulator process looks like: empty

    assert emulator_fill(endpoint_url=aws.url) == first


def test_seed_gateways_connects_acme_and_syncs_everything(aws, demo_people, client_for):
    runs = seed_gateways(endpoint_url=aws.url)

    assert [(r.connection.name, r.status) for r in runs] == [
        (REST_CONNECTION, SyncRun.Status.SUCCEEDED),
        (HTTP_CONNECTION, SyncRun.Status.SUCCEEDED),
    ]
    assert [r.new for r in runs] == [len(DEMO_REST_APIS), len(DEMO_HTTP_APIS)]
    for shape in (*DEMO_REST_APIS, *DEMO_HTTP_APIS):
        api = Api.objects.get(organisation__slug="acme", name=shape.name)
        assert api.team.slug == "payments"
        # The demo's connections publish what they find, so the catalogue shows it.
        assert api.current_version.state == ApiVersion.State.PUBLISHED
        assert {
            (o.method, o.path) for o in api.current_version.operations.all()
        } == shape.operations()
    orders = Api.objects.get(name="Orders API")
    assert {p.name: (p.rate_limit, p.quota_limit, p.quota_period) for p in orders.plans.all()} == {
        "Free": (5.0, 1000, "day"),
        "Pro": (100.0, 1_000_000, "month"),
    }
    assert not Plan.objects.filter(api__name="Shipping Rates API", name="Pro").exists()
    assert GatewayKey.objects.filter(connection__name=REST_CONNECTION).count() == len(DEMO_KEYS)
    page = client_for(User.objects.get(email="developer@acme.example")).get("/catalogue/")
    for shape in (*DEMO_REST_APIS, *DEMO_HTTP_APIS):
        assert shape.name in page.content.decode()
    deployment = orders.deployments.get(stage="prod")
    assert deployment.variables == {"lambdaAlias": "live"}
    assert deployment.integrations[0]["lambda"] == {
        "region": "eu-west-1",
        "account": "123456789012",
        "function": "orders",
        "alias": "live",
    }


def test_seed_gateways_again_after_a_restart_changes_nothing(aws, demo_people):
    seed_gateways(endpoint_url=aws.url)
    apis, versions = Api.objects.count(), ApiVersion.objects.count()
    aws.reset()  # the demo started again: a new, empty emulator

    runs = seed_gateways(endpoint_url=aws.url)

    assert [(r.status, r.new, r.changed, r.missing) for r in runs] == [
        (SyncRun.Status.SUCCEEDED, 0, 0, 0),
        (SyncRun.Status.SUCCEEDED, 0, 0, 0),
    ]
    assert (Api.objects.count(), ApiVersion.objects.count()) == (apis, versions)
    assert GatewayConnection.objects.filter(organisation__slug="acme").count() == 2


def test_seed_gateways_follows_a_new_emulator_address(aws, demo_people):
    seed_gateways(endpoint_url=aws.url)
    GatewayConnection.objects.update(config={"region": "eu-west-1", "endpoint_url": "http://x"})

    runs = seed_gateways(endpoint_url=aws.url)

    assert {r.status for r in runs} == {SyncRun.Status.SUCCEEDED}
    assert {c.config["endpoint_url"] for c in GatewayConnection.objects.all()} == {aws.url}


def test_seed_gateways_without_the_demo_organisation_does_nothing(aws, db):
    assert seed_gateways(endpoint_url=aws.url) == []
    assert not GatewayConnection.objects.exists()


def test_demo_runs_the_emulator_first_when_asked():
    emulator, worker, web = demo_processes(port=8123, emulator_port=5099)

    assert emulator.name == "aws-emulator"
    assert emulator.argv[0].endswith("moto_server")
    assert emulator.argv[1:] == ["-H", "127.0.0.1", "-p", "5099"]
    assert emulator.quiet  # it logs every request it serves
    assert [worker.name, web.name] == ["worker", "web"]
