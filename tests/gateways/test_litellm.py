"""The LiteLLM adapter against responses recorded from a real LiteLLM proxy
(tests/fixtures/litellm, see its README), replayed by a local server."""

import json
import logging
from pathlib import Path

import pytest

from apis.gateways import GatewayError, adapter_for
from apis.models import Api, ApiVersion, GatewayKey, SyncRun
from apis.services.connections import connection_create
from apis.services.sync import sync_connection
from tenants.actors import Actor
from tenants.keys import digest
from tenants.models import AuditEvent

from .replay import ReplayServer, Reply

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "litellm"
ADMIN_KEY = "sk-portico-test-master-0123456789"


def recorded(name: str, status: int = 200) -> Reply:
    return Reply.json_file(FIXTURES / name, status=status)


@pytest.fixture
def proxy(settings):
    settings.GATEWAY_RETRY_BASE_DELAY = 0
    with ReplayServer() as server:
        server.add("GET", "/model/info", recorded("model_info.json"))
        server.add("GET", "/v1/models", recorded("v1_models.json"))
        server.add("GET", "/health/readiness", recorded("readiness.json"))
        yield server


@pytest.fixture
def connection(cast, proxy):
    return connection_create(
        organisation=cast.org,
        team=cast.team,
        name="llm proxy",
        kind="litellm",
        config={"base_url": proxy.url},
        secret=ADMIN_KEY,
        actor=Actor.for_user(cast.owner),
    )


def sync(connection) -> SyncRun:
    return sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)


def document(api: Api) -> dict:
    return api.current_version.spec.document


def test_sync_makes_one_ai_api_per_model(connection, proxy):
    run = sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert run.new == 3
    apis = {a.external_id: a for a in Api.objects.filter(connection=connection)}
    assert set(apis) == {"gpt-4o-mini", "llama-70b", "embed-small"}
    assert {a.kind for a in apis.values()} == {Api.Kind.AI}

    chat = apis["gpt-4o-mini"]
    assert [(o.method, o.path) for o in chat.current_version.operations.all()] == [
        ("post", "/v1/chat/completions")
    ]
    assert chat.summary == "Chat model openai/gpt-4o-mini from openai, served by LiteLLM."
    assert {"ai", "openai", "chat"} <= {t.name for t in chat.tags.all()}
    spec = document(chat)
    assert spec["info"]["x-portico-model"] == {
        "provider": "openai",
        "model": "openai/gpt-4o-mini",
        "mode": "chat",
        "deployments": 1,
        "max_input_tokens": 128000,
        "max_output_tokens": 16384,
        "max_tokens": 16384,
        "context_tokens": 128000,
        "input_cost_per_token": 1.5e-07,
        "output_cost_per_token": 6e-07,
    }
    assert spec["servers"] == [{"url": proxy.url}]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    request = spec["components"]["schemas"]["CreateChatCompletionRequest"]
    assert request["properties"]["model"]["enum"] == ["gpt-4o-mini"]
    assert {"messages", "max_tokens", "temperature", "stream"} <= set(request["properties"])
    response = spec["components"]["schemas"]["CreateChatCompletionResponse"]
    assert "total_tokens" in response["properties"]["usage"]["properties"]

    llama = document(apis["llama-70b"])["info"]["x-portico-model"]
    assert (llama["provider"], llama["context_tokens"]) == ("groq", 200000)
    assert llama["output_cost_per_token"] == 4e-06

    embed = apis["embed-small"]
    assert [(o.method, o.path) for o in embed.current_version.operations.all()] == [
        ("post", "/v1/embeddings")
    ]
    assert document(embed)["info"]["x-portico-model"]["mode"] == "embedding"

    sent = proxy.received("GET", "/model/info")
    assert [r.header("Authorization") for r in sent] == [f"Bearer {ADMIN_KEY}"]


def test_second_sync_with_nothing_changed_creates_no_version(connection, proxy):
    first = sync(connection)
    versions = ApiVersion.objects.filter(api__connection=connection).count()

    again = sync(connection)

    assert (again.new, again.changed, again.unchanged, again.missing) == (0, 0, 3, 0)
    assert ApiVersion.objects.filter(api__connection=connection).count() == versions == 3
    # one read of the models and one readiness probe (no key store): nothing per model
    assert again.calls == first.calls == 2


def test_changed_price_gives_one_new_version_and_removed_model_is_missing(connection, proxy):
    sync(connection)
    proxy.add("GET", "/model/info", recorded("model_info_changed.json"))

    run = sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert (run.new, run.changed, run.unchanged, run.missing) == (0, 1, 1, 1)
    chat = Api.objects.get(connection=connection, external_id="gpt-4o-mini")
    assert chat.versions.count() == 2
    assert document(chat)["info"]["x-portico-model"]["input_cost_per_token"] == 2e-07
    assert Api.objects.get(connection=connection, external_id="llama-70b").versions.count() == 1
    gone = Api.objects.get(connection=connection, external_id="embed-small")
    assert gone.missing_since is not None
    assert gone.versions.count() == 1  # kept, not deleted


def test_throttled_answer_is_retried(connection, proxy):
    proxy.add(
        "GET",
        "/model/info",
        Reply.json({"error": {"message": "slow down"}}, status=429),
        recorded("model_info.json"),
    )

    run = sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert run.new == 3
    assert len(proxy.received("GET", "/model/info")) == 2
    assert run.calls == 3


def test_refused_key_fails_the_connection_without_showing_it(connection, proxy, caplog):
    caplog.set_level(logging.DEBUG)
    proxy.add(
        "GET",
        "/model/info",
        Reply.json(
            {"error": {"message": f"Invalid key {ADMIN_KEY}", "type": "auth_error"}}, status=401
        ),
    )

    run = sync(connection)

    assert run.status == SyncRun.Status.FAILED
    assert run.errors == [
        {"where": "connection", "message": "The gateway refused the credentials (HTTP 401)."}
    ]
    assert not Api.objects.filter(connection=connection).exists()
    assert ADMIN_KEY not in json.dumps(SyncRun.objects.get(pk=run.pk).errors)
    assert ADMIN_KEY not in caplog.text
    audit = AuditEvent.objects.filter(organisation=connection.organisation)
    assert audit.filter(action="gateway.synced").exists()
    assert ADMIN_KEY not in json.dumps(list(audit.values("before", "after", "target_label")))


def test_admin_key_stays_out_of_runs_logs_and_audit_on_success(connection, proxy, caplog):
    caplog.set_level(logging.DEBUG)

    run = sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED
    stored = json.dumps(
        [
            list(SyncRun.objects.filter(pk=run.pk).values("errors")),
            list(AuditEvent.objects.values("before", "after", "target_label")),
            [v.spec.document for v in ApiVersion.objects.filter(api__connection=connection)],
            list(ApiVersion.objects.filter(api__connection=connection).values("gateway_refs")),
        ]
    )
    assert ADMIN_KEY not in stored
    assert ADMIN_KEY not in caplog.text


def test_models_endpoint_serves_when_model_info_is_missing(connection, proxy):
    proxy.add("GET", "/model/info", Reply.json({"detail": "Not Found"}, status=404))

    run = sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    embed = Api.objects.get(connection=connection, external_id="embed-small")
    metadata = document(embed)["info"]["x-portico-model"]
    assert (metadata["mode"], metadata["context_tokens"]) == ("embedding", 8191)
    assert [(o.method, o.path) for o in embed.current_version.operations.all()] == [
        ("post", "/v1/embeddings")
    ]


# --- keys ---------------------------------------------------------------------------------

VALUE = "sk-portico-recorded-0001-aaaaaaaaaaaaaaaa"


def test_provision_key_generates_it_with_the_portal_value(connection, proxy):
    proxy.add("POST", "/key/generate", recorded("key_generate.json"))
    adapter = adapter_for(connection)

    key = adapter.provision_key(
        name="acme-payments-app", value=VALUE, plan_ids=[], models=["gpt-4o-mini"], budget=25.0
    )

    assert key.external_id == digest(VALUE)
    (sent,) = proxy.received("POST", "/key/generate")
    assert sent.json() == {
        "key": VALUE,
        "key_alias": "acme-payments-app",
        "models": ["gpt-4o-mini"],
        "max_budget": 25.0,
        "budget_duration": None,
        "metadata": {"portico": True},
    }
    assert sent.header("Authorization") == f"Bearer {ADMIN_KEY}"
    assert adapter.calls == 1


@pytest.mark.parametrize(("period", "duration"), [("day", "1d"), ("week", "7d"), ("month", "30d")])
def test_a_budget_period_is_litellm_s_budget_duration(connection, proxy, period, duration):
    proxy.add("POST", "/key/generate", recorded("key_generate.json"))

    adapter_for(connection).provision_key(
        name="acme", value=VALUE, plan_ids=[], budget=9.5, budget_period=period
    )

    (sent,) = proxy.received("POST", "/key/generate")
    assert (sent.json()["max_budget"], sent.json()["budget_duration"]) == (9.5, duration)


def test_provisioning_again_finds_the_key_the_proxy_holds(connection, proxy):
    proxy.add(
        "POST",
        "/key/generate",
        Reply.json({"error": {"message": "Key with alias exists", "code": "400"}}, status=400),
    )
    proxy.add("GET", "/key/info", Reply.json({"key": digest(VALUE), "info": {}}))

    key = adapter_for(connection).provision_key(name="acme", value=VALUE, plan_ids=[])

    assert key.external_id == digest(VALUE)
    (lookup,) = proxy.received("GET", "/key/info")
    assert lookup.query == {"key": [digest(VALUE)]}


def test_provisioning_refuses_values_litellm_would_reject(connection, proxy):
    with pytest.raises(GatewayError, match="sk-"):
        adapter_for(connection).provision_key(name="acme", value="pk_live_123", plan_ids=[])
    assert proxy.requests == []


def test_block_unblock_and_delete_use_the_key_hash(connection, proxy):
    proxy.add("POST", "/key/block", recorded("key_block.json"))
    proxy.add("POST", "/key/unblock", recorded("key_block.json"))
    proxy.add("POST", "/key/delete", recorded("key_delete.json"))
    adapter = adapter_for(connection)
    token = digest(VALUE)

    adapter.set_key_enabled(key_id=token, enabled=False)
    adapter.set_key_enabled(key_id=token, enabled=True)
    adapter.revoke_key(key_id=token)

    assert [(r.path, r.json()) for r in proxy.requests] == [
        ("/key/block", {"key": token}),
        ("/key/unblock", {"key": token}),
        ("/key/delete", {"keys": [token]}),
    ]


@pytest.mark.parametrize(
    ("budget", "period", "duration"),
    [(40.0, "month", "30d"), (7.5, "day", "1d"), (12.0, None, None), (None, None, None)],
)
def test_a_key_s_budget_is_set_by_its_hash(connection, proxy, budget, period, duration):
    proxy.add("POST", "/key/update", recorded("key_update.json"))
    adapter = adapter_for(connection)
    token = digest(VALUE)

    adapter.set_key_budget(key_id=token, budget=budget, budget_period=period)

    (sent,) = proxy.received("POST", "/key/update")
    assert sent.json() == {"key": token, "max_budget": budget, "budget_duration": duration}
    assert sent.header("Authorization") == f"Bearer {ADMIN_KEY}"
    assert adapter.calls == 1


def test_setting_the_budget_of_a_key_the_proxy_lacks_fails(connection, proxy):
    proxy.add("POST", "/key/update", recorded("key_info_not_found.json", status=404))

    with pytest.raises(GatewayError) as raised:
        adapter_for(connection).set_key_budget(key_id=digest(VALUE), budget=5.0)

    assert (raised.value.status, raised.value.retryable) == (404, False)


def test_revoking_a_key_that_is_gone_is_done(connection, proxy):
    proxy.add("POST", "/key/delete", Reply.json({"error": {"code": "400"}}, status=400))
    proxy.add("GET", "/key/info", recorded("key_info_not_found.json", status=404))

    adapter_for(connection).revoke_key(key_id=digest(VALUE))

    assert [r.path for r in proxy.requests] == ["/key/delete", "/key/info"]


def test_keys_are_listed_by_hash_when_the_proxy_has_a_database(connection, proxy):
    proxy.add("GET", "/health/readiness", recorded("readiness_with_db.json"))
    proxy.add("GET", "/key/list", recorded("key_list.json"))

    run = sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    keys = {k.name: k for k in GatewayKey.objects.filter(connection=connection)}
    assert set(keys) == {"acme-payments-app", "ops-console"}
    assert keys["acme-payments-app"].value_digest == digest(VALUE)
    assert keys["acme-payments-app"].enabled
    assert not keys["ops-console"].enabled
    (listing,) = proxy.received("GET", "/key/list")
    assert listing.query["return_full_object"] == ["true"]


def test_no_keys_are_listed_from_a_proxy_without_database(connection, proxy):
    run = sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert not GatewayKey.objects.filter(connection=connection).exists()
    assert proxy.received("GET", "/key/list") == []
