"""Properties of the one spec parser: it answers every input with a ParsedSpec or a
SpecError, never another exception, and what it accepts stays within its caps."""

import json

import orjson
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apis.specs import ParsedSpec, SpecError, SpecLimits, ingest

LIMITS = SpecLimits(max_bytes=20_000, max_depth=8, max_aliases=3, max_nodes=400)
PROPERTY = settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def _depth_and_size(value, depth=0) -> tuple[int, int]:
    if isinstance(value, dict):
        children = [_depth_and_size(v, depth + 1) for v in value.values()]
    elif isinstance(value, list):
        children = [_depth_and_size(v, depth + 1) for v in value]
    else:
        return depth, 1
    return max([depth, *(d for d, _ in children)]), 1 + sum(n for _, n in children)


def _parse(raw: bytes) -> ParsedSpec | SpecError:
    try:
        parsed = ingest(raw, limits=LIMITS)
    except SpecError as error:
        refusal = error
    else:
        refusal = None
    if refusal is not None:
        assert refusal.message
        assert 400 <= refusal.status < 500
        assert len(refusal.problems) <= 5
        return refusal
    depth, size = _depth_and_size(parsed.document)
    assert len(raw) <= LIMITS.max_bytes
    assert depth <= LIMITS.max_depth
    assert size <= LIMITS.max_nodes
    assert parsed.openapi_version in ("2.0", "3.0", "3.1")
    assert isinstance(parsed.document, dict)
    # What is kept is plain JSON: it survives a round trip unchanged.
    assert orjson.loads(parsed.canonical_json()) == parsed.document
    return parsed


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
YAMLISH = st.text(alphabet=" \n\t-:,[]{}&*!?|>'\"#%@`abc01.~=<", max_size=200)
HEAD = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}}


@PROPERTY
@given(st.binary(max_size=2_000))
@example(b"")
@example(b"\xef\xbb\xbf")
@example(b"\xff\xfe{}")
@example(b"openapi: 3.0.3\ninfo: !!binary aGk=\n")
@example(b"a: &a [*a]")
@example(b"{" * 2_000)
def test_any_bytes(raw):
    _parse(raw)


@PROPERTY
@given(YAMLISH)
@example("a: &x [1]\nb: [*x, *x, *x, *x, *x]")
@example("openapi: 3.0.3\nx: !!set {a, b}\n")
@example("? [a, b]\n: c")
def test_any_yaml_like_text(text):
    _parse(text.encode())


@PROPERTY
@given(VALUES, st.sampled_from(["json", "yaml"]))
def test_any_value_as_json_or_yaml(value, form):
    raw = json.dumps(value).encode() if form == "json" else yaml.safe_dump(value).encode()
    _parse(raw)


@PROPERTY
@given(st.dictionaries(st.text(min_size=1, max_size=8).map(lambda k: "x-" + k), VALUES, max_size=4))
@example({"x-big": 2**64})
@example({"x-huge": 10**30})
@example({"x-nul": "a\x00b"})
@example({"x-date": "2024-01-01"})
def test_a_document_hashes_the_same_from_json_and_from_yaml(extensions):
    document = {**HEAD, **extensions}
    from_json = _parse(json.dumps(document).encode())
    # Escaped: written raw, U+0085 is a line break to YAML 1.1.
    from_yaml = _parse(yaml.safe_dump(document).encode())
    assert type(from_json) is type(from_yaml), (from_json, from_yaml)
    if isinstance(from_json, ParsedSpec):
        assert from_json.spec_hash == from_yaml.spec_hash
        assert from_json.document == from_yaml.document
