"""LiteLLM's StandardLoggingPayload written one JSON object a line."""

import hashlib
from pathlib import Path

import orjson
import pytest

from analytics.parsers import PARSERS, LineContext, ParseError, RequestRecord

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
NO_CONTEXT = LineContext()
KEY_HASH = hashlib.sha256(b"sk-portico-demo-0001").hexdigest()
parse = PARSERS["litellm"]


def lines() -> list[bytes]:
    return (LOGS / "litellm.jsonl").read_bytes().splitlines()


def test_successful_completion():
    assert parse(lines()[0], NO_CONTEXT) == RequestRecord(
        ts_ms=1_795_256_102_250,
        event_id="chatcmpl-4b1d2c3e-5f60-4a7b-8c9d-0e1f2a3b4c5d",
        route="/chat/completions",
        status=200,
        latency_ms=875.0,
        key_hash=KEY_HASH,
        source_ip="203.0.113.5",
        model="chat-small",  # the model group: the name callers use, the portal's API
        tokens_in=352,
        tokens_out=60,
        cost=0.000186,
    )


def test_failures_take_the_providers_http_status_or_500():
    rate_limited, unreachable = (parse(line, NO_CONTEXT) for line in lines()[1:3])
    assert (rate_limited.status, rate_limited.latency_ms) == (429, 41.0)
    assert (rate_limited.tokens_in, rate_limited.cost) == (0, 0.0)
    assert unreachable.status == 500


def test_embedding_without_response_time_or_cost_and_a_raw_key():
    record = parse(lines()[3], NO_CONTEXT)
    assert record.latency_ms == 200.0  # endTime - startTime
    assert record.cost is None
    assert (record.model, record.route) == ("embed-small", "aembedding")
    # An old version logging the key itself: only its digest is kept.
    assert record.key_hash == hashlib.sha256(b"sk-raw-key-logged-by-an-old-version").hexdigest()
    assert record.source_ip == "203.0.113.5"  # from the metadata


def test_negative_response_time_is_refused():
    with pytest.raises(ParseError, match="negative"):
        parse(lines()[4], NO_CONTEXT)


def line(**changes) -> bytes:
    data = orjson.loads(lines()[0])
    for name, value in changes.items():
        if value is ...:
            data.pop(name, None)
        else:
            data[name] = value
    return orjson.dumps(data)


def test_without_model_group_the_model_names_the_call():
    assert parse(line(model_group=None), NO_CONTEXT).model == "gpt-4o-mini"


def test_end_before_start_is_refused():
    with pytest.raises(ParseError, match="before"):
        parse(line(response_time=None, endTime=1_795_256_101.0), NO_CONTEXT)


@pytest.mark.parametrize(
    "value",
    ["not-a-digest", "A" * 63, "g" * 64, 12345, None],
)
def test_things_that_are_not_key_digests_are_dropped(value):
    data = orjson.loads(lines()[0])
    data["metadata"]["user_api_key_hash"] = value
    assert parse(orjson.dumps(data), NO_CONTEXT).key_hash == ""


def test_uppercase_digest_is_normalised():
    data = orjson.loads(lines()[0])
    data["metadata"]["user_api_key_hash"] = KEY_HASH.upper()
    assert parse(orjson.dumps(data), NO_CONTEXT).key_hash == KEY_HASH


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "ok"}, "status"),
        ({"startTime": ...}, "startTime"),
        ({"startTime": "soon"}, "epoch"),
        ({"startTime": -1.0}, "out of range"),
        ({"prompt_tokens": 2**31}, "prompt_tokens"),
        ({"completion_tokens": -1}, "completion_tokens"),
        ({"response_cost": -0.01}, "negative"),
        ({"response_cost": "free"}, "response_cost"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"model_group": {"name": "x"}}, "model"),
        ({"id": "a\u0000b"}, "NUL"),
    ],
)
def test_bad_values_are_refused(changes, message):
    with pytest.raises(ParseError, match=message):
        parse(line(**changes), NO_CONTEXT)
