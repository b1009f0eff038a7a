"""Gateway sync against moto: a whole estate of REST and HTTP APIs, plans and keys, then
the syncs after it (nothing changed, one API changed, one deleted, one refused)."""

import dataclasses

import pytest
from django.db import connection as db

from apis.demo_gateways import (
    RestApiShape,
    RestMethod,
    clients,
    http_api_put,
    rest_api_put,
    usage_plan_put,
)
from apis.models import Api, ApiVersion, GatewayDeployment, GatewayKey, Plan, SyncRun
from apis.services.plans import plan_create, plan_update
from apis.services.sync import sync_connection
from tenants import keys as secret_keys
from tenants.actors import Actor

from .aws_fixtures import DOMAIN, KEYS, MAPPINGS, PLANS, Estate, connect, http_shape


def _sync(connection) -> SyncRun:
    return sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)


def _operations(version: ApiVersion) -> set[tuple[str, str]]:
    return {(o.method, o.path) for o in version.operations.all()}


def rest_calls(estate: Estate, *, first: bool) -> int:
    """What a REST sync of the estate should cost, in requests."""
    listing = 3 + len(estate.rest)  # domain names, the domain's mappings, APIs; stages of each
    plans_and_keys = 1 + len(PLANS) + 1  # usage plans (once), keys of each plan, API keys
    if not first:
        return listing + plans_and_keys  # every stage's fingerprint is unchanged
    fetch = sum(1 + len(shape.stages) for shape, _ in estate.rest)  # resources; an export a stage
    return listing + fetch + plans_and_keys


def http_calls(estate: Estate, *, first: bool = True) -> int:
    """What an HTTP API sync of the estate should cost: APIs and the stages of each; then,
    for a stage whose deployment moved, an export (moto has none, so each is one refused
    request) and the API's routes and integrations, read once."""
    listing = 1 + len(estate.http)
    if not first:
        return listing  # every stage's fingerprint is unchanged
    return listing + sum(2 + len(shape.stages) for shape, _ in estate.http)


def _dump_text() -> str:
    """Every row of every table, as text: what a database dump would hold."""
    out = []
    with db.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT row_to_json(t)::text FROM "{table}" t')
            out.extend(row for (row,) in cursor.fetchall())
    return "\n".join(out)


def test_first_sync_brings_the_whole_estate(estate, cast):
    rest_connection = connect(cast, estate.url)
    http_connection = connect(cast, estate.url, kind="aws_http")

    rest_run = _sync(rest_connection)
    http_run = _sync(http_connection)

    assert (rest_run.status, rest_run.errors, rest_run.new) == (SyncRun.Status.SUCCEEDED, [], 30)
    assert (http_run.status, http_run.errors, http_run.new) == (SyncRun.Status.SUCCEEDED, [], 10)
    assert rest_run.calls == rest_calls(estate, first=True)
    assert http_run.calls == http_calls(estate)

    for shape, api_id in estate.rest:
        api = Api.objects.get(connection=rest_connection, external_id=api_id)
        assert (api.name, api.kind, api.team, api.missing_since) == (
            shape.name,
            Api.Kind.REST,
            cast.team,
            None,
        )
        deployments = {d.stage: d for d in api.deployments.select_related("version")}
        assert set(deployments) == set(shape.stages)
        # Where a stage runs is kept on its deployment, not in the spec: stages serving
        # the same resources share one version.
        assert api.versions.count() == 1
        for stage, deployment in deployments.items():
            assert _operations(deployment.version) == shape.operations(), (shape.name, stage)
            assert deployment.version.operations.count() == len(shape.operations())
            assert deployment.variables == shape.stages[stage]
            assert deployment.invoke_url == (
                f"https://{api_id}.execute-api.eu-west-1.amazonaws.com/{stage}"
            )
            assert deployment.deployment_id
            base = MAPPINGS.get((estate.rest.index((shape, api_id)), stage))
            expected = [] if base is None else [f"https://{DOMAIN}/" + base.replace("(none)", "")]
            assert deployment.base_paths == expected
            integrations = {i["route"]: i for i in deployment.integrations}
            for method in shape.methods:
                entry = integrations[f"{method.verb} {method.path}"]
                if method.function:
                    assert entry["type"] == "AWS_PROXY"
                    expected_target = {
                        "region": "eu-west-1",
                        "account": "123456789012",
                        "function": method.function,
                    }
                    if method.alias:
                        expected_target["alias"] = method.alias
                    assert entry["lambda"] == expected_target
                else:
                    assert entry == {"route": f"{method.verb} {method.path}", "type": "MOCK"}
        assert api.current_version.base_url.startswith(f"https://{api_id}.execute-api.")

    for shape, api_id in estate.http:
        api = Api.objects.get(connection=http_connection, external_id=api_id)
        assert (api.name, api.kind) == (shape.name, Api.Kind.HTTP)
        assert _operations(api.current_version) == shape.operations()
        assert api.current_version.operations.count() == len(shape.operations())
        deployments = {d.stage: d for d in api.deployments.all()}
        assert {s: d.variables for s, d in deployments.items()} == shape.stages
        lambdas = {
            i["route"]: i["lambda"]["function"]
            for i in deployments["prod"].integrations
            if "lambda" in i
        }
        assert lambdas == {r.key: r.function for r in shape.routes if r.function}

    # Plans: one per (usage plan, API), with the gateway's limits.
    plans = Plan.objects.filter(connection=rest_connection)
    by_api_stage_count = sum(len({i for i, _ in stages}) for *_, stages in PLANS.values())
    assert plans.count() == by_api_stage_count
    for name, (rate, burst, quota, period, stages) in PLANS.items():
        for index in {i for i, _ in stages}:
            plan = plans.get(api__external_id=estate.rest_id(index), name=name)
            assert (plan.rate_limit, plan.burst_limit, plan.quota_limit, plan.quota_period) == (
                rate,
                burst,
                quota,
                period.lower(),
            )
            assert plan.gateway_plan_id == estate.plans[name]
            assert plan.gateway_observed == plan.limits()
    assert not plans.filter(api__external_id=estate.rest_id(15)).exists()

    # Keys: matched to their plans, kept as digests only.
    keys = {k.name: k for k in GatewayKey.objects.filter(connection=rest_connection)}
    assert set(keys) == set(KEYS)
    for name, (plan_names, enabled) in KEYS.items():
        key_id, value = estate.keys[name]
        key = keys[name]
        assert key.external_id == key_id
        assert key.enabled is enabled
        assert sorted(key.plan_ids) == sorted(estate.plans[p] for p in plan_names)
        assert key.value_digest == secret_keys.digest(value)
    dump = _dump_text()
    assert estate.keys["alpha"][0] in dump  # the dump does hold the keys' rows
    for _key_id, value in estate.keys.values():
        assert value not in dump


def test_sync_with_nothing_changed_makes_no_version_and_fewer_calls(estate, cast):
    rest_connection = connect(cast, estate.url)
    http_connection = connect(cast, estate.url, kind="aws_http")
    _sync(rest_connection), _sync(http_connection)
    versions, plans, keys = ApiVersion.objects.count(), Plan.objects.count(), GatewayKey.objects
    keys = keys.count()
    first_seen = dict(GatewayDeployment.objects.values_list("pk", "last_seen_at"))
    keys_seen = dict(GatewayKey.objects.values_list("pk", "last_seen_at"))

    rest_again = _sync(rest_connection)
    http_again = _sync(http_connection)

    assert (rest_again.status, rest_again.new, rest_again.changed, rest_again.unchanged) == (
        SyncRun.Status.SUCCEEDED,
        0,
        0,
        30,
    )
    assert (http_again.new, http_again.changed, http_again.unchanged) == (0, 0, 10)
    assert (ApiVersion.objects.count(), Plan.objects.count(), GatewayKey.objects.count()) == (
        versions,
        plans,
        keys,
    )
    # No stage is fetched again: neither exports nor resources, routes and integrations.
    assert rest_again.calls == rest_calls(estate, first=False)
    assert rest_again.calls < rest_calls(estate, first=True)
    assert http_again.calls == http_calls(estate, first=False)
    assert http_again.calls < http_calls(estate, first=True)
    # Unchanged stages are still seen.
    assert all(
        d.last_seen_at > first_seen[d.pk] and d.missing_since is None
        for d in GatewayDeployment.objects.all()
    )
    assert all(k.last_seen_at > keys_seen[k.pk] for k in GatewayKey.objects.all())
    assert not Api.objects.filter(missing_since__isnull=False).exists()


def test_one_changed_api_gives_one_new_version(estate, cast):
    connection = connect(cast, estate.url)
    _sync(connection)
    shape, api_id = estate.rest[7]
    api = Api.objects.get(connection=connection, external_id=api_id)
    old_prod = api.deployments.get(stage="prod").version
    old_dev = api.deployments.get(stage="dev").version
    versions = ApiVersion.objects.count()
    apigw, _ = clients(estate.url)
    things = next(
        r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/things/{id}"
    )
    parts = apigw.create_resource(restApiId=api_id, parentId=things["id"], pathPart="parts")
    apigw.put_method(
        restApiId=api_id, resourceId=parts["id"], httpMethod="GET", authorizationType="NONE"
    )
    apigw.put_integration(restApiId=api_id, resourceId=parts["id"], httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api_id, stageName="prod")

    run = _sync(connection)

    assert (run.status, run.new, run.changed, run.unchanged) == (SyncRun.Status.SUCCEEDED, 0, 1, 29)
    assert ApiVersion.objects.count() == versions + 1
    new = api.deployments.get(stage="prod").version
    assert new != old_prod
    assert _operations(new) == shape.operations() | {("get", "/things/{id}/parts")}
    assert new.changes["compared_to"] in {old_prod.version, old_dev.version}
    # dev was not deployed again: it still serves what it served.
    assert api.deployments.get(stage="dev").version == old_dev
    assert _operations(old_dev) == shape.operations()


def test_one_changed_http_api_gives_one_new_version(estate, cast):
    connection = connect(cast, estate.url, kind="aws_http")
    _sync(connection)
    shape, api_id = estate.http[4]
    api = Api.objects.get(connection=connection, external_id=api_id)
    old = api.current_version
    versions = ApiVersion.objects.count()
    _, apigw2 = clients(estate.url)
    integration = apigw2.create_integration(
        ApiId=api_id,
        IntegrationType="HTTP_PROXY",
        IntegrationMethod="ANY",
        IntegrationUri="https://backend.acme.example/parts",
        PayloadFormatVersion="1.0",
    )
    apigw2.create_route(
        ApiId=api_id,
        RouteKey="GET /things/{id}/parts",
        Target=f"integrations/{integration['IntegrationId']}",
    )
    # AWS deploys a stage that deploys itself again with each change, which moves its
    # deployment id; moto keeps no deployments, so the API's new version is what moves.
    apigw2.update_api(ApiId=api_id, Version="2.4.1")

    run = _sync(connection)

    assert (run.status, run.new, run.changed, run.unchanged) == (SyncRun.Status.SUCCEEDED, 0, 1, 9)
    # Only the changed API is read again: its exports, routes and integrations.
    assert run.calls == http_calls(estate, first=False) + len(shape.stages) + 2
    assert ApiVersion.objects.count() == versions + 1
    new = Api.objects.get(pk=api.pk).current_version
    assert new != old
    assert new.version == "2.4.1"
    assert _operations(new) == shape.operations() | {("get", "/things/{id}/parts")}
    # Both stages serve the same routes, so they share the one new version.
    assert {d.version for d in api.deployments.all()} == {new}
    assert {i["route"] for i in api.deployments.get(stage="prod").integrations} >= {
        "GET /things/{id}/parts"
    }


def test_deleted_api_is_marked_missing_and_comes_back(estate, cast):
    connection = connect(cast, estate.url)
    _sync(connection)
    shape, api_id = estate.rest[3]
    apigw, _ = clients(estate.url)
    apigw.delete_rest_api(restApiId=api_id)

    run = _sync(connection)

    assert (run.status, run.missing, run.unchanged) == (SyncRun.Status.SUCCEEDED, 1, 29)
    api = Api.objects.get(connection=connection, external_id=api_id)
    assert api.missing_since is not None
    assert api.versions.count() == 1  # kept, not deleted
    assert all(d.missing_since is not None for d in api.deployments.all())
    assert Api.objects.filter(connection=connection, missing_since__isnull=True).count() == 29
    assert _sync(connection).missing == 0  # marked once, not again each run

    # Re-created under the same id (moto's custom-id tag), it comes back as it was.
    rest_api_put(apigw, dataclasses.replace(shape, tags={"_custom_id_": api_id}))
    back = _sync(connection)

    assert (back.status, back.new, back.changed, back.missing) == (
        SyncRun.Status.SUCCEEDED,
        0,
        1,
        0,
    )
    api.refresh_from_db()
    assert api.missing_since is None
    assert api.versions.count() == 1  # same spec, so no new version
    assert all(d.missing_since is None for d in api.deployments.all())


@pytest.fixture
def small_estate(aws):
    apigw, _ = clients(aws.url)
    shapes = [
        RestApiShape(
            name=f"Small {i}",
            description=f"Small API {i}.",
            version="1.0.0",
            methods=(RestMethod("GET", f"/small-{i}"),),
            stages={"prod": {}},
        )
        for i in range(3)
    ]
    return [(shape, rest_api_put(apigw, shape)) for shape in shapes]


def test_refused_spec_costs_only_its_api(aws, small_estate, cast, settings):
    settings.SPEC_MAX_BYTES = 4_000
    apigw, _ = clients(aws.url)
    huge = RestApiShape(
        name="Huge",
        description="x" * 6_000,
        version="1.0.0",
        methods=(RestMethod("GET", "/huge"),),
        stages={"prod": {}},
    )
    huge_id = rest_api_put(apigw, huge)
    connection = connect(cast, aws.url)

    run = _sync(connection)

    assert (run.status, run.new) == (SyncRun.Status.PARTIAL, 3)
    assert len(run.errors) == 1
    assert run.errors[0]["where"] == "Huge"
    assert run.errors[0]["message"].startswith("The spec of stage prod was refused: ")
    assert "MB" in run.errors[0]["message"]
    assert not Api.objects.filter(external_id=huge_id).exists()
    assert Api.objects.filter(connection=connection).count() == 3

    # An API that was synced before and then brings a refused spec keeps its place.
    small_id = small_estate[0][1]
    apigw.update_rest_api(
        restApiId=small_id,
        patchOperations=[{"op": "replace", "path": "/description", "value": "y" * 6_000}],
    )
    apigw.create_deployment(restApiId=small_id, stageName="prod")

    again = _sync(connection)

    assert again.status == SyncRun.Status.PARTIAL
    assert sorted(e["where"] for e in again.errors) == ["Huge", "Small 0"]
    assert (again.unchanged, again.missing) == (2, 0)
    small = Api.objects.get(external_id=small_id)
    assert small.missing_since is None
    assert small.versions.count() == 1


def test_stage_domain_and_key_changes_without_a_deployment_are_picked_up(estate, cast):
    connection = connect(cast, estate.url)
    _sync(connection)
    versions = ApiVersion.objects.count()
    apigw, _ = clients(estate.url)
    first, second = estate.rest_id(0), estate.rest_id(2)
    apigw.update_stage(
        restApiId=first,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/variables/lambdaAlias", "value": "canary"}],
    )
    apigw.create_base_path_mapping(
        domainName=DOMAIN, restApiId=second, stage="prod", basePath="second"
    )
    alpha_id, _ = estate.keys["alpha"]
    apigw.update_api_key(
        apiKey=alpha_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
    )
    apigw.delete_usage_plan_key(usagePlanId=estate.plans["Free"], keyId=alpha_id)

    run = _sync(connection)

    assert (run.status, run.new, run.changed, run.unchanged) == (SyncRun.Status.SUCCEEDED, 0, 0, 30)
    assert ApiVersion.objects.count() == versions
    prod = GatewayDeployment.objects.get(api__external_id=first, stage="prod")
    assert prod.variables == {"lambdaAlias": "canary"}
    assert GatewayDeployment.objects.get(api__external_id=second, stage="prod").base_paths == [
        f"https://{DOMAIN}/second"
    ]
    alpha = GatewayKey.objects.get(external_id=alpha_id)
    assert (alpha.enabled, alpha.plan_ids) == (False, [])
    assert GatewayKey.objects.get(name="beta").enabled is True


def test_http_apis_try_the_export_and_fall_back_to_routes_without_it(aws, proxy, cast):
    _, apigw2 = clients(aws.url)
    shape = http_shape(1)
    api_id = http_api_put(apigw2, shape)
    connection = connect(cast, proxy.url, kind="aws_http")

    run = _sync(connection)

    # One export a stage, each refused by moto (404).
    assert proxy.count(rf"^GET /v2/apis/{api_id}/exports/OAS30$") == len(shape.stages)
    assert (run.status, run.errors, run.new) == (SyncRun.Status.SUCCEEDED, [], 1)
    version = Api.objects.get(external_id=api_id).current_version
    assert _operations(version) == shape.operations()
    assert version.spec.document["info"]["title"] == shape.name  # built from the routes


def test_a_deleted_usage_plan_closes_its_plan_once_and_counts_as_missing(estate, cast):
    connection = connect(cast, estate.url)
    _sync(connection)
    owner = Actor.for_user(cast.owner)
    api = Api.objects.get(connection=connection, external_id=estate.rest_id(20))
    own = plan_create(api=api, actor=owner, name="Portal only", rate_limit=1.0)
    open_plans = Plan.objects.filter(is_active=True).count()
    apigw, _ = clients(estate.url)
    partner_id = estate.plans["Partner"]
    apigw.delete_usage_plan(usagePlanId=partner_id)

    run = _sync(connection)

    assert (run.status, run.new, run.changed, run.unchanged) == (SyncRun.Status.SUCCEEDED, 0, 0, 30)
    assert run.missing == 1
    plan = Plan.objects.get(api=api, gateway_plan_id=partner_id)
    assert plan.is_active is False  # closed to new subscriptions, kept for those it has
    assert list(plan.gateway_observed) == ["missing_since"]
    assert Plan.objects.filter(is_active=True).count() == open_plans - 1
    own.refresh_from_db()
    assert own.is_active is True  # a plan of the portal's own is not the gateway's to close
    assert _sync(connection).missing == 0  # closed once, not again each run

    # Bound to a usage plan the gateway lists, the plan opens again.
    again_id = usage_plan_put(
        apigw,
        name="Partner",
        stages=[(estate.rest_id(20), "prod")],
        rate=20.0,
        burst=40,
        quota=50_000,
        period="WEEK",
    )
    plan_update(plan=plan, actor=owner, gateway_plan_id=again_id)

    back = _sync(connection)

    assert back.missing == 0
    plan.refresh_from_db()
    assert (plan.is_active, plan.gateway_observed) == (True, plan.limits())
    assert Plan.objects.filter(api=api).count() == 2  # the same plan, not a second one
