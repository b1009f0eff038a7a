"""Real-world OpenAPI documents (tests/fixtures/specs/) import whole and hash stably.

The manifest's operation counts come from a standalone counter
(tests/fixtures/specs/count_operations.py), not from the importer under test.
"""

import datetime
import hashlib
import json
from pathlib import Path

import orjson
import pytest
import yaml

from apis.models import Api, ApiVersion, Operation, SpecDocument
from apis.services.catalogue import api_import
from tenants.actors import Actor
from tenants.models import AuditEvent

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "specs"
MANIFEST = FIXTURES / "manifest.json"


def _manifest() -> list[dict]:
    if not MANIFEST.exists():
        return []
    return json.loads(MANIFEST.read_text())


ENTRIES = _manifest()


def _slug(entry: dict, suffix: str = "") -> str:
    return Path(entry["file"]).stem.lower().replace(".", "-").replace("_", "-")[:60] + suffix


def _import(cast, entry, raw: bytes, *, suffix: str = "", actor=None) -> ApiVersion:
    return api_import(
        organisation=cast.org,
        team=cast.team,
        raw=raw,
        slug=_slug(entry, suffix),
        version="1",
        actor=actor or Actor.system(),
    )


def _as_json_text(value):
    """What a YAML document means once written as JSON: keys and dates become strings."""
    if isinstance(value, dict):
        return {str(k): _as_json_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json_text(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def test_manifest_is_present_and_lists_existing_files():
    assert ENTRIES, "tests/fixtures/specs/manifest.json is missing or empty"
    for entry in ENTRIES:
        assert (FIXTURES / entry["file"]).is_file(), entry["file"]
        assert entry["openapi_version"] in ("2.0", "3.0", "3.1")
        assert entry["format"] in ("json", "yaml")


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_real_world_document_imports(entry, cast):
    raw = (FIXTURES / entry["file"]).read_bytes()
    audits = AuditEvent.objects.count()

    version = _import(cast, entry, raw)

    assert version.openapi_version == entry["openapi_version"]
    assert version.state == ApiVersion.State.DRAFT
    assert version.spec.source_format == entry["format"]
    assert Operation.objects.filter(api_version=version).count() == entry["operations"]
    assert len(version.spec_hash) == 64
    # api.created and api_version.created
    assert AuditEvent.objects.count() == audits + 2
    assert version.api.current_version_id == version.pk

    # The same bytes into another API give the same hash, and another version
    # of the same API reports no changes against the first.
    again = _import(cast, entry, raw, suffix="-again")
    assert again.api_id != version.api_id
    assert again.spec_hash == version.spec_hash

    if entry["format"] == "json":
        # The hash is of the document, independent of how its JSON was laid out
        # (orjson's reading: integers past 64 bits become floats, as in the importer).
        loaded = orjson.loads(raw)
        canonical = orjson.dumps(loaded, option=orjson.OPT_SORT_KEYS)
        assert version.spec_hash == hashlib.sha256(canonical).hexdigest()
        # PostgreSQL keeps numbers exact, as Python's json reads them.
        assert SpecDocument.objects.get(api_version=version).document == json.loads(raw)
        other = yaml.safe_dump(loaded, allow_unicode=True, sort_keys=False).encode()
    else:
        # PyYAML's own reading, turned into JSON the way any converter would.
        loaded = _as_json_text(yaml.load(raw, Loader=yaml.CSafeLoader))
        other = json.dumps(loaded, ensure_ascii=False).encode()
    converted = _import(cast, entry, other, suffix="-other")
    assert converted.spec.source_format == ("yaml" if entry["format"] == "json" else "json")
    assert converted.spec_hash == version.spec_hash
    assert converted.operations.count() == entry["operations"]


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e["operations"] < 30][:2] or [None])
def test_maintainer_imports_as_themselves(entry, cast):
    if entry is None:
        pytest.skip("no small document in the manifest")
    raw = (FIXTURES / entry["file"]).read_bytes()
    version = _import(cast, entry, raw, actor=Actor.for_user(cast.maintainer))
    assert version.created_by == cast.maintainer
    event = AuditEvent.objects.get(action="api_version.created", target_id=str(version.pk))
    assert event.actor_user == cast.maintainer
    assert event.after["operations"] == entry["operations"]


def test_yaml_timestamps_and_integer_keys_read_as_json_would(cast):
    """Unquoted dates stay as written and integer response codes become strings."""
    raw_yaml = b"""\
openapi: 3.0.3
info:
  title: Dated
  version: 2024-01-05
  x-released: 2024-01-05T10:00:00Z
paths:
  /things:
    get:
      responses:
        200:
          description: ok
        404:
          description: missing
"""
    raw_json = json.dumps(
        {
            "openapi": "3.0.3",
            "info": {
                "title": "Dated",
                "version": "2024-01-05",
                "x-released": "2024-01-05T10:00:00Z",
            },
            "paths": {
                "/things": {
                    "get": {
                        "responses": {
                            "200": {"description": "ok"},
                            "404": {"description": "missing"},
                        }
                    }
                }
            },
        }
    ).encode()
    from_yaml = api_import(
        organisation=cast.org, team=cast.team, raw=raw_yaml, slug="dated", actor=Actor.system()
    )
    from_json = api_import(
        organisation=cast.org, team=cast.team, raw=raw_json, slug="dated-json", actor=Actor.system()
    )
    assert from_yaml.version == "2024-01-05"
    assert from_yaml.spec.document["paths"]["/things"]["get"]["responses"].keys() == {"200", "404"}
    assert from_yaml.spec_hash == from_json.spec_hash
    assert Api.objects.filter(organisation=cast.org).count() == 2
