"""LiteLLM's standard logging payload from a file to the rollups: each event keeps its
tokens and cost, and each hour's rollup holds their sums. Rollup costs are floats
summed in another order than the test's, so they are compared to a relative 1e-12
(a sum of a few dozen doubles is off by a few 1e-16 at most); tokens are integers
and compared exactly."""

import datetime
import hashlib
import io
import json
import math
import random
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from analytics.models import LogSource, UsageRollup
from apis.models import Api

from .usage_data import issue_key, make_api, make_application, subscribe

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
FIXTURE_START = 1795256102.25  # the first fixture line's startTime


def shifted_fixture(start: float) -> list[bytes]:
    """The fixture's lines, their times moved so the first starts at ``start``."""
    moved = []
    for line in (LOGS / "litellm.jsonl").read_bytes().splitlines():
        data = json.loads(line)
        for name in ("startTime", "endTime", "completionStartTime"):
            if data.get(name) is not None:
                data[name] = data[name] - FIXTURE_START + start
        moved.append(json.dumps(data).encode())
    return moved


def generated(count: int, *, start: float, key: str, seed: int = 7) -> list[bytes]:
    """``count`` completions over two hours from ``start``, half of them with ``key``."""
    generator = random.Random(seed)
    digest = hashlib.sha256(key.encode()).hexdigest()
    lines = []
    for index in range(count):
        metadata = {"user_api_key_hash": digest} if index % 2 else {}
        lines.append(
            json.dumps(
                {
                    "id": f"gen-{index:03d}",
                    "call_type": "acompletion",
                    "status": "success",
                    "startTime": start + generator.uniform(0, 7190),
                    "response_time": round(generator.uniform(0.1, 3.0), 3),
                    "model": "gpt-4o-mini",
                    "model_group": "chat-small",
                    "prompt_tokens": generator.randrange(1, 4000),
                    "completion_tokens": generator.randrange(0, 800),
                    "response_cost": round(generator.uniform(0, 0.02), 7),
                    "metadata": metadata,
                }
            ).encode()
        )
    return lines


def stored_events(source_id: int) -> dict[str, tuple]:
    """event id → (hour, api, application, tokens in, tokens out, cost)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id, date_trunc('hour', ts), api_id, application_id, tokens_in, "
            "tokens_out, cost FROM analytics_requestevent WHERE source_id = %s",
            [source_id],
        )
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


@pytest.mark.django_db
def test_litellm_lines_keep_tokens_and_cost_and_roll_up_to_their_sums(cast, settings, tmp_path):
    settings.ANALYTICS_PAGE_LINES = 7  # several pages, each adding to the same rollups
    chat = make_api(cast.org, cast.team, name="Chat", kind=Api.Kind.AI)
    chat.external_id = "chat-small"
    chat.save(update_fields=["external_id"])
    mobile = make_application(cast.other_team, "Mobile")
    _, key = issue_key(subscribe(mobile, chat))

    hour = datetime.datetime.now(datetime.UTC).replace(minute=0, second=0, microsecond=0)
    start = (hour - datetime.timedelta(hours=3)).timestamp()
    fixture = shifted_fixture(start + 30)
    lines = fixture + generated(30, start=start, key=key)
    log = tmp_path / "litellm.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")

    out = io.StringIO()
    call_command("import_logs", str(log), "--org", "acme", "--format", "litellm", stdout=out)
    # The fixture's last line has a negative response time.
    assert f"{log}: read 35, imported 34, duplicates 0, rejected 1, skipped 0" in out.getvalue()

    source = LogSource.objects.get(organisation=cast.org, name="Backfill")
    events = stored_events(source.pk)
    assert len(events) == 34
    # The fixture's lines as written: the rate-limited call has no tokens and no cost;
    # the embedding logged no cost (NULL, not 0), and its model group is no API here.
    first_hour = hour - datetime.timedelta(hours=3)
    assert events["chatcmpl-4b1d2c3e-5f60-4a7b-8c9d-0e1f2a3b4c5d"] == (
        first_hour, chat.pk, 0, 352, 60, 0.000186,
    )  # fmt: skip
    assert events["chatcmpl-fail-429"] == (first_hour, chat.pk, 0, 0, 0, 0.0)
    assert events["emb-1"] == (first_hour, 0, 0, 8, 0, None)
    for line in lines[5:]:
        data = json.loads(line)
        _, api, application, tokens_in, tokens_out, cost = events[data["id"]]
        assert (api, tokens_in, tokens_out, cost) == (
            chat.pk,
            data["prompt_tokens"],
            data["completion_tokens"],
            data["response_cost"],
        )
        assert application == (mobile.pk if data["metadata"] else 0)

    # Each hour × API × application's rollup: the sums of its events.
    expected: dict[tuple, list] = {}
    for when, api, application, tokens_in, tokens_out, cost in events.values():
        sums = expected.setdefault((when, api, application), [0, 0, 0, []])
        sums[0] += 1
        sums[1] += tokens_in or 0
        sums[2] += tokens_out or 0
        sums[3].append(cost or 0.0)
    rollups = {
        (row.hour, row.api_id, row.application_id): row
        for row in UsageRollup.objects.filter(organisation=cast.org)
    }
    assert set(rollups) == set(expected)
    assert len({when for when, _, _ in expected}) >= 2  # the events span several hours
    for key_, (calls, tokens_in, tokens_out, costs) in expected.items():
        row = rollups[key_]
        assert (row.calls, row.tokens_in, row.tokens_out) == (calls, tokens_in, tokens_out)
        assert row.cost == pytest.approx(math.fsum(costs), rel=1e-12, abs=1e-15)
    total_cost = math.fsum(row.cost for row in rollups.values())
    assert total_cost == pytest.approx(
        math.fsum(cost or 0.0 for *_, cost in events.values()), rel=1e-12
    )
    assert total_cost > 0.1  # thirty generated calls at up to 0.02 each

    # Read again: nothing new, no rollup moves.
    before = {key_: (r.calls, r.tokens_in, r.tokens_out, r.cost) for key_, r in rollups.items()}
    again = io.StringIO()
    call_command("import_logs", str(log), "--org", "acme", "--format", "litellm", stdout=again)
    assert "read 35, imported 0, duplicates 34, rejected 1" in again.getvalue()
    after = {
        (r.hour, r.api_id, r.application_id): (r.calls, r.tokens_in, r.tokens_out, r.cost)
        for r in UsageRollup.objects.filter(organisation=cast.org)
    }
    assert after == before
