"""Which API version and which application an imported line is stored against: a
gateway API and stage give the version the stage serves, an API key id or a LiteLLM
key hash the application, a model name the AI API; a key, a gateway API or a model
of another organisation never resolves to its application or API."""

import hashlib
import json

import pytest
from django.db import connection
from django.utils import timezone

from analytics.parsers import LineContext
from analytics.services.imports import import_lines
from apis.models import Api, GatewayConnection, GatewayDeployment

from .logs import make_source, now_ms, rest_line
from .usage_data import issue_key, make_api, make_application, make_version, subscribe

NO_CONTEXT = LineContext()


def deploy(api, *, stage: str, version=None) -> GatewayDeployment:
    connection_ = GatewayConnection.objects.get_or_create(
        organisation=api.organisation, team=api.team, name="aws", kind="aws_rest"
    )[0]
    return GatewayDeployment.objects.create(
        connection=connection_, organisation=api.organisation, api=api, stage=stage, version=version
    )


def stored(source) -> dict[str, tuple]:
    """event id → (organisation, api, version, application, credential)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id, organisation_id, api_id, api_version_id, application_id, "
            "credential_id FROM analytics_requestevent WHERE source_id = %s",
            [source.pk],
        )
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def litellm_line(event_id: str, *, model: str, key: str, ts_ms: int) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "call_type": "acompletion",
            "status": "success",
            "startTime": ts_ms / 1000,
            "response_time": 0.5,
            "model": model,
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "response_cost": 0.0001,
            "metadata": {"user_api_key_hash": hashlib.sha256(key.encode()).hexdigest()},
        }
    ).encode()


@pytest.fixture
def catalogue(cast):
    """Acme's gateway API ``a1b2c3`` (stage prod serves 1.0.0, beta serves 2.0.0, the
    current version) and AI API ``gpt-4o-mini``, both used by Globex's Storefront;
    Globex's own gateway API ``g9h8i7`` and AI API ``llama-70b``, used by its own
    application with keys of their own."""
    pets = make_api(cast.org, cast.team, name="Pets")
    pets.external_id = "a1b2c3"
    first = pets.current_version
    second = make_version(pets, "2.0.0")
    pets.current_version = second
    pets.save(update_fields=["external_id", "current_version"])
    deploy(pets, stage="prod", version=first)
    deploy(pets, stage="beta", version=second)
    chat = make_api(cast.org, cast.team, name="Chat", kind=Api.Kind.AI)
    chat.external_id = "gpt-4o-mini"
    chat.save(update_fields=["external_id"])

    # Acme's APIs used by Globex's application: keys Acme's imports know.
    storefront = make_application(cast.other_team, "Storefront")
    rest_key, _ = issue_key(subscribe(storefront, pets), key_id="k-storefront")
    chat_key, chat_plain = issue_key(subscribe(storefront, chat))

    # Globex's own APIs and the keys of its own application: not Acme's to resolve.
    theirs = make_api(cast.other_org, cast.other_team, name="Globex Pets")
    theirs.external_id = "g9h8i7"
    theirs.save(update_fields=["external_id"])
    deploy(theirs, stage="prod", version=theirs.current_version)
    their_chat = make_api(cast.other_org, cast.other_team, name="Globex Chat", kind=Api.Kind.AI)
    their_chat.external_id = "llama-70b"
    their_chat.save(update_fields=["external_id"])
    internal = make_application(cast.other_team, "Globex Internal")
    _, their_plain = issue_key(subscribe(internal, theirs), key_id="k-globex")
    issue_key(subscribe(internal, their_chat))
    return {
        "pets": pets,
        "first": first,
        "second": second,
        "chat": chat,
        "storefront": storefront,
        "rest_key": rest_key,
        "chat_key": chat_key,
        "chat_plain": chat_plain,
        "their_plain": their_plain,
        "theirs": theirs,
        "their_chat": their_chat,
    }


@pytest.mark.django_db
def test_gateway_lines_resolve_by_api_id_and_stage_and_by_key_id(cast, catalogue):
    c = catalogue
    source = make_source(cast.org, name="gateway")
    ts = now_ms() - 60_000
    lines = [
        rest_line("prod", ts, stage="prod", key_id="k-storefront"),
        rest_line("beta", ts, stage="beta"),
        # A stage the sync has not seen: the API, and its current version.
        rest_line("unknown-stage", ts, stage="canary", key_id="k-storefront"),
        # A key id nobody issued: the API, no application.
        rest_line("unknown-key", ts, stage="prod", key_id="k-nobody"),
    ]
    run = import_lines(source=source, lines=[(line, NO_CONTEXT) for line in lines])
    assert (run.imported, run.rejected) == (4, 0)

    org, pets, app, key = cast.org.pk, c["pets"].pk, c["storefront"].pk, c["rest_key"].pk
    assert stored(source) == {
        "prod": (org, pets, c["first"].pk, app, key),
        "beta": (org, pets, c["second"].pk, 0, 0),
        "unknown-stage": (org, pets, c["second"].pk, app, key),
        "unknown-key": (org, pets, c["first"].pk, 0, 0),
    }


@pytest.mark.django_db
def test_litellm_lines_resolve_the_model_to_the_ai_api_and_the_key_hash_to_the_application(
    cast, catalogue
):
    c = catalogue
    source = make_source(cast.org, name="litellm", format="litellm")
    ts = now_ms() - 60_000
    lines = [
        litellm_line("ours", model="gpt-4o-mini", key=c["chat_plain"], ts_ms=ts),
        litellm_line("no-such-model", model="gpt-5-nano", key=c["chat_plain"], ts_ms=ts),
        litellm_line("no-such-key", model="gpt-4o-mini", key="sk-never-issued", ts_ms=ts),
    ]
    run = import_lines(source=source, lines=[(line, NO_CONTEXT) for line in lines])
    assert (run.imported, run.rejected) == (3, 0)

    org, chat, version = cast.org.pk, c["chat"].pk, c["chat"].current_version_id
    app, key = c["storefront"].pk, c["chat_key"].pk
    assert stored(source) == {
        "ours": (org, chat, version, app, key),
        "no-such-model": (org, 0, 0, app, key),
        "no-such-key": (org, chat, version, 0, 0),
    }


@pytest.mark.django_db
def test_another_organisations_keys_apis_and_models_never_resolve(cast, catalogue):
    """Globex's key id, key hash, gateway API and model in Acme's logs: the events are
    Acme's, with no Globex API or application on them."""
    c = catalogue
    gateway = make_source(cast.org, name="gateway")
    litellm = make_source(cast.org, name="litellm", format="litellm")
    ts = now_ms() - 60_000
    import_lines(
        source=gateway,
        lines=[
            (rest_line("their-key-our-api", ts, stage="prod", key_id="k-globex"), NO_CONTEXT),
            (
                rest_line("their-api", ts, api_id="g9h8i7", stage="prod", key_id="k-globex"),
                NO_CONTEXT,
            ),
        ],
    )
    import_lines(
        source=litellm,
        lines=[
            (
                litellm_line("their-hash", model="gpt-4o-mini", key=c["their_plain"], ts_ms=ts),
                NO_CONTEXT,
            ),
            (
                litellm_line("their-model", model="llama-70b", key=c["their_plain"], ts_ms=ts),
                NO_CONTEXT,
            ),
        ],
    )

    org = cast.org.pk
    assert stored(gateway) == {
        "their-key-our-api": (org, c["pets"].pk, c["first"].pk, 0, 0),
        "their-api": (org, 0, 0, 0, 0),
    }
    assert stored(litellm) == {
        "their-hash": (org, c["chat"].pk, c["chat"].current_version_id, 0, 0),
        "their-model": (org, 0, 0, 0, 0),
    }
    # Globex itself reading the same lines gets its own API and application.
    theirs = make_source(cast.other_org, name="gateway")
    import_lines(
        source=theirs,
        lines=[
            (
                rest_line("their-api", ts, api_id="g9h8i7", stage="prod", key_id="k-globex"),
                NO_CONTEXT,
            )
        ],
    )
    (row,) = stored(theirs).values()
    assert row[:3] == (cast.other_org.pk, c["theirs"].pk, c["theirs"].current_version_id)
    assert row[3] != 0


@pytest.mark.django_db
def test_a_stage_gone_from_the_gateway_no_longer_resolves_to_its_version(cast, catalogue):
    c = catalogue
    GatewayDeployment.objects.filter(api=c["pets"], stage="prod").update(
        missing_since=timezone.now()
    )
    source = make_source(cast.org, name="gateway")
    import_lines(
        source=source, lines=[(rest_line("prod", now_ms() - 60_000, stage="prod"), NO_CONTEXT)]
    )
    # The API is still known by its other stage; the version is then its current one.
    assert stored(source)["prod"][1:3] == (c["pets"].pk, c["second"].pk)
