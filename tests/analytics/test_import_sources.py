"""Log source services: who may change sources, what a source's settings must be,
the push token shown once, and the import trigger."""

import pytest

from analytics.models import LogSource
from analytics.services.sources import (
    import_trigger,
    push_source_for_token,
    push_token_rotate,
    source_create,
    source_update,
)
from apis.services.connections import connection_create
from tenants.actors import Actor
from tenants.errors import NotAllowed, ValidationFailed
from tenants.models import AuditEvent


def _create(organisation, actor, **fields):
    values = {"name": "logs", "kind": "upload", "format": "apigw_rest_json", **fields}
    return source_create(organisation=organisation, actor=actor, **values)


@pytest.mark.django_db
def test_organisation_admins_manage_sources_and_others_may_not(cast):
    source, token = _create(cast.org, Actor.for_user(cast.admin))
    assert token == ""
    assert source.kind == "upload"
    event = AuditEvent.objects.get(action="log_source.created")
    assert event.after["name"] == "logs"
    assert event.actor_user == cast.admin
    for user in (cast.member, cast.maintainer, cast.outsider):
        with pytest.raises(NotAllowed):
            _create(cast.org, Actor.for_user(user), name="other")
        with pytest.raises(NotAllowed):
            source_update(source=source, name="renamed", actor=Actor.for_user(user))


@pytest.mark.django_db
def test_a_push_source_gets_a_token_shown_once_and_kept_as_a_digest(cast):
    source, token = _create(cast.org, Actor.system(), kind="push")
    assert token.startswith("plt_")
    assert source.push_lookup_id in token
    assert token not in source.push_digest
    assert len(source.push_digest) == 64
    assert push_source_for_token(token) == source
    assert not AuditEvent.objects.filter(after__icontains=token).exists()
    new = push_token_rotate(source=source, actor=Actor.system())
    assert push_source_for_token(token) is None
    assert push_source_for_token(new) == source
    with pytest.raises(ValidationFailed):
        push_token_rotate(source=_create(cast.org, Actor.system(), name="up")[0],
                          actor=Actor.system())  # fmt: skip


@pytest.mark.django_db
def test_settings_are_checked(cast):
    system = Actor.system()
    globex_aws = connection_create(
        organisation=cast.other_org,
        team=cast.other_team,
        name="aws",
        kind="aws_rest",
        config={"region": "eu-west-1"},
        actor=system,
    )
    litellm = connection_create(
        organisation=cast.org,
        team=cast.team,
        name="llm",
        kind="litellm",
        config={"base_url": "http://127.0.0.1:4000"},
        secret="sk-admin",
        actor=system,
    )
    for fields, field in (
        ({"kind": "cloudwatch"}, "log_group"),
        ({"kind": "cloudwatch", "config": {"log_group": "bad group!"}}, "log_group"),
        ({"kind": "cloudwatch", "config": {"log_group": "/g", "region": "mars"}}, "region"),
        ({"kind": "upload", "config": {"log_group": "/g"}}, "config"),
        ({"format": "custom_json"}, "mapping"),
        ({"format": "custom_json", "config": {"mapping": {"nothing": "x"}}}, "mapping"),
        ({"format": "yaml"}, "format"),
        (
            {"kind": "cloudwatch", "config": {"log_group": "/g"}, "connection": globex_aws},
            "connection",
        ),
        (
            {"kind": "cloudwatch", "config": {"log_group": "/g"}, "connection": litellm},
            "connection",
        ),
        ({"interval_minutes": 0}, "interval_minutes"),
        ({"name": "  "}, "name"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            _create(cast.org, system, **fields)
        assert field in refused.value.fields, (fields, refused.value.fields)
    _create(cast.org, system)
    with pytest.raises(ValidationFailed) as taken:
        _create(cast.org, system)
    assert "name" in taken.value.fields
    source, _ = _create(
        cast.org,
        system,
        name="custom",
        format="custom_json",
        config={"mapping": {"ts_ms": "time", "status": "code"}},
    )
    assert source.config["mapping"] == {"ts_ms": "time", "status": "code"}


@pytest.mark.django_db
def test_an_import_trigger_queues_the_source(cast, monkeypatch, django_capture_on_commit_callbacks):
    from analytics.services import sources

    queued = []
    monkeypatch.setattr(sources, "queue_source_import", lambda pk, trigger: queued.append(pk))
    source, _ = _create(cast.org, Actor.system(), kind="cloudwatch", config={"log_group": "/aws/x"})
    with django_capture_on_commit_callbacks(execute=True):
        import_trigger(source=source, actor=Actor.for_user(cast.owner))
    assert queued == [source.pk]
    assert AuditEvent.objects.filter(action="log_source.import_requested").count() == 1
    pushed, _ = _create(cast.org, Actor.system(), name="p", kind="push")
    with pytest.raises(ValidationFailed):
        import_trigger(source=pushed, actor=Actor.system())
    with pytest.raises(NotAllowed):
        import_trigger(source=source, actor=Actor.for_user(cast.developer))
    assert LogSource.objects.count() == 2
