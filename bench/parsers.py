"""Parser benchmark: lines a second for each log parser, on 200,000 generated lines.

    python bench/parsers.py [lines]

Each parser reads its own format's lines (median of 3 runs); the baseline is
orjson.loads alone over the API Gateway REST lines, measured in the same run, so
the figures say what a parser costs beyond decoding JSON. Rates come from this
process's CPU time, which other work on a shared machine does not inflate; the
clock's rate follows in brackets. No database needed.
"""

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from analytics.parsers import PARSERS, LineContext, custom_json_parser

LINES = 200_000
RUNS = 3
START_MS = 1_795_256_102_000  # 2026-11-21T10:15:02Z
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ROUTES = ("/pets", "/pets/{id}", "/orders", "/orders/{id}/items", "/users/{id}")
METHODS = ("GET", "GET", "GET", "POST", "PUT", "DELETE")
STATUSES = (200,) * 90 + (201,) * 2 + (404,) * 4 + (429,) * 2 + (500, 503)


def clf_time(ms: int) -> str:
    t = time.gmtime(ms // 1000)
    return (
        f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def iso_time(ms: int) -> str:
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{ms % 1000:03d}Z"


def requests(rng: random.Random, n: int):
    """(ms, request id, method, route, path, status, latency, bytes, ip) tuples over a week."""
    for i in range(n):
        ms = START_MS + i * 3  # a week's traffic squeezed: many lines a second
        route = rng.choice(ROUTES)
        yield (
            ms,
            f"{rng.getrandbits(128):032x}",
            rng.choice(METHODS),
            route,
            route.replace("{id}", str(rng.randint(1, 99999))),
            rng.choice(STATUSES),
            rng.randint(3, 900),
            rng.randint(0, 20000),
            f"198.51.100.{rng.randint(1, 254)}",
        )


def apigw_rest(rng, n):
    for ms, rid, method, route, path, status, latency, size, ip in requests(rng, n):
        yield orjson.dumps(
            {
                "requestId": rid,
                "extendedRequestId": rid[:16],
                "ip": ip,
                "caller": "-",
                "user": "-",
                "requestTime": clf_time(ms),
                "requestTimeEpoch": ms,
                "httpMethod": method,
                "resourcePath": route,
                "path": "/prod" + path,
                "status": str(status),
                "protocol": "HTTP/1.1",
                "responseLength": str(size),
                "responseLatency": str(latency),
                "integrationLatency": str(max(latency - 5, 0)),
                "apiId": "a1b2c3d4e5",
                "stage": "prod",
                "apiKeyId": f"key{rng.randint(1, 500):04d}",
            }
        )


def apigw_http(rng, n):
    for ms, rid, method, route, _, status, latency, size, ip in requests(rng, n):
        yield orjson.dumps(
            {
                "requestId": rid[:16] + "=",
                "ip": ip,
                "requestTime": clf_time(ms),
                "httpMethod": method,
                "routeKey": f"{method} {route}",
                "status": str(status),
                "protocol": "HTTP/1.1",
                "responseLength": str(size),
                "integrationLatency": str(latency),
                "apiId": "f6g7h8i9j0",
                "stage": "$default",
            }
        )


def lambda_reports(rng, n):
    for i in range(n):
        init = f"\tInit Duration: {rng.uniform(100, 400):.2f} ms" if i % 50 == 0 else ""
        yield (
            f"REPORT RequestId: {rng.getrandbits(128):032x}\tDuration: {rng.uniform(1, 900):.2f}"
            f" ms\tBilled Duration: {rng.randint(1, 900)} ms\tMemory Size: 512 MB\t"
            f"Max Memory Used: {rng.randint(60, 300)} MB{init}\t"
        ).encode()


def clf_lines(rng, n, combined=False):
    for ms, _, method, _, path, status, latency, size, ip in requests(rng, n):
        line = f'{ip} - - [{clf_time(ms)}] "{method} {path}?page=2 HTTP/1.1" {status} {size}'
        if combined:
            line += ' "https://example.com/docs" "Mozilla/5.0 (X11; Linux x86_64) Firefox/145.0"'
        yield (line + f" {latency / 1000:.3f}").encode()


def kong_lines(rng, n):
    for ms, rid, method, route, path, status, latency, size, ip in requests(rng, n):
        yield orjson.dumps(
            {
                "request": {
                    "id": rid,
                    "method": method,
                    "uri": path + "?page=2",
                    "url": "http://api.example.com:8000" + path,
                    "size": 230,
                    "querystring": {"page": "2"},
                    "headers": {"host": "api.example.com", "user-agent": "curl/8.5.0"},
                },
                "upstream_uri": path,
                "response": {"status": status, "size": size, "headers": {"content-length": "1"}},
                "latencies": {"request": latency, "proxy": max(latency - 3, 0), "kong": 3},
                "tries": [{"ip": "10.0.0.7", "port": 80, "balancer_latency": 0}],
                "authenticated_entity": {"id": "cred-1", "consumer_id": "cons-1"},
                "route": {"id": "r-1", "name": "pets", "paths": [route.split("{")[0]]},
                "service": {"id": "s-1", "name": "pets", "host": "pets.internal"},
                "consumer": {"id": "cons-1", "username": "acme"},
                "client_ip": ip,
                "started_at": ms,
                "source": "upstream",
            }
        )


def litellm_lines(rng, n):
    for ms, rid, *_ in requests(rng, n):
        prompt, completion = rng.randint(10, 2000), rng.randint(1, 800)
        yield orjson.dumps(
            {
                "id": "chatcmpl-" + rid,
                "trace_id": rid,
                "call_type": "acompletion",
                "status": "success",
                "startTime": ms / 1000,
                "endTime": ms / 1000 + 1.25,
                "completionStartTime": ms / 1000 + 0.4,
                "response_time": 1.25,
                "model": "gpt-4o-mini",
                "model_group": "chat-small",
                "api_base": "https://api.openai.com/v1",
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "response_cost": (prompt * 0.15 + completion * 0.6) / 1e6,
                "metadata": {
                    "user_api_key_hash": f"{rng.getrandbits(256):064x}",
                    "user_api_key_alias": "acme-prod",
                    "user_api_key_request_route": "/chat/completions",
                },
                "messages": None,
                "response": None,
                "cache_hit": False,
                "request_tags": [],
            }
        )


def custom_lines(rng, n):
    for ms, rid, method, route, _, status, latency, size, _ in requests(rng, n):
        yield orjson.dumps(
            {
                "time": iso_time(ms),
                "req": {"id": rid, "method": method, "route": route},
                "res": {"code": status, "bytes": size},
                "took": latency / 1000,
            }
        )


CUSTOM = custom_json_parser(
    {
        "ts_ms": {"path": "time", "as": "iso8601"},
        "event_id": "req.id",
        "method": "req.method",
        "route": "req.route",
        "status": "res.code",
        "bytes": "res.bytes",
        "latency_ms": {"path": "took", "as": "seconds"},
    }
)

CASES = [
    ("apigw_rest_json", PARSERS["apigw_rest_json"], apigw_rest),
    ("apigw_http_json", PARSERS["apigw_http_json"], apigw_http),
    ("lambda_report", PARSERS["lambda_report"], lambda_reports),
    ("clf", PARSERS["clf"], clf_lines),
    ("combined", PARSERS["combined"], lambda rng, n: clf_lines(rng, n, combined=True)),
    ("kong_json", PARSERS["kong_json"], kong_lines),
    ("litellm", PARSERS["litellm"], litellm_lines),
    ("custom_json", CUSTOM, custom_lines),
]


def rate(work, lines) -> tuple[float, float]:
    """Median lines a second over RUNS runs: by this process's CPU time, and by the clock."""
    cpu, wall = [], []
    for _ in range(RUNS):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        work(lines)
        cpu.append(len(lines) / (time.process_time() - started_cpu))
        wall.append(len(lines) / (time.perf_counter() - started_wall))
    return statistics.median(cpu), statistics.median(wall)


def main(lines: int = LINES) -> None:
    context = LineContext(
        timestamp_ms=START_MS, log_group="/aws/lambda/orders", log_stream="2026/11/21/[$LATEST]a"
    )
    corpora = {name: list(make(random.Random(7), lines)) for name, _, make in CASES}

    def decode_only(lines):
        loads = orjson.loads
        for line in lines:
            loads(line)

    baseline, baseline_wall = rate(decode_only, corpora["apigw_rest_json"])
    print(f"{lines:,} lines per format, median of {RUNS} runs; lines/s by CPU time (clock)")
    print(f"{'baseline: orjson.loads (REST lines)':36s} {baseline:>9,.0f} ({baseline_wall:>9,.0f})")
    for name, parser, _ in CASES:

        def parse_all(lines, parser=parser):
            for line in lines:
                parser(line, context)

        parser(corpora[name][0], context)  # fails loudly if the generator is wrong
        cpu, wall = rate(parse_all, corpora[name])
        print(
            f"{name:36s} {cpu:>9,.0f} ({wall:>9,.0f})  {1e6 / cpu:5.2f} µs/line"
            f"  {cpu / baseline:.2f}x baseline"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else LINES)
