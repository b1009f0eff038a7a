from apis import selectors
from apis.models import ApiVersion
from apis.services.catalogue import version_create
from apis.services.lifecycle import version_transition
from tenants.actors import Actor

from .conftest import make_spec


def test_version_create_extracts_operations(draft):
    assert draft.state == ApiVersion.State.DRAFT
    assert draft.operations.count() == 3
    assert draft.api.current_version == draft


def test_search_finds_by_path_word(draft, cast):
    version_transition(version=draft, to_state="published", actor=Actor.for_user(cast.maintainer))
    found = selectors.api_search(user=cast.member, text="refunds")
    assert [a.slug for a in found] == ["payments"]
    assert list(selectors.api_search(user=cast.outsider, text="refunds")) == []


def test_second_version_reports_breaking_changes(draft, cast):
    raw = make_spec(
        {"/payments": {"get": {"responses": {"200": {"description": "ok"}}}}}, version="2.0.0"
    )
    second = version_create(api=draft.api, raw=raw, actor=Actor.for_user(cast.maintainer))
    kinds = {c["kind"] for c in second.changes["breaking"]}
    assert kinds == {"path_removed", "operation_removed"}
