"""Fetching a spec by URL, against real HTTP servers on 127.0.0.1.

Loopback is private, so most tests allow private targets (SPEC_FETCH_ALLOW_PRIVATE)
to reach the local server at all; the default refusal is tested first.
"""

import json
import threading
import time
import tracemalloc
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from apis.models import Api, ApiVersion
from apis.services.sources import read_url
from apis.specs.errors import SpecError, SpecTooLarge
from apis.specs.fetch import FetchError, fetch

from .conftest import make_spec

SPEC = make_spec(title="Fetched")
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
BIG = 5_000_000
CAP = 100_000


def _gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzip-compressed (about a thousandth of the size)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * 1_000_000
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, compressor.flush()])


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, dict]] = []
        self.release = threading.Event()
        self.bomb = _gzip_bomb(200_000_000)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format, *args):
        return

    def do_GET(self):
        parts = urlsplit(self.path)
        self.server.requests.append((parts.path, dict(self.headers)))
        name = parts.path.strip("/").replace("-", "_").replace(".", "_")
        route = getattr(self, "route_" + name, None)
        if route is None:
            self.answer(404, b"not here")
        else:
            route(parse_qs(parts.query))

    def answer(self, status: int, body: bytes = b"", **headers) -> None:
        self.send_response(status)
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def stream(self, chunk: bytes, total: int) -> None:
        try:
            sent = 0
            while sent < total and not self.server.release.is_set():
                self.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return

    def route_spec_json(self, query):
        if self.headers.get("If-None-Match") == ETAG:
            self.answer(304, ETag=ETAG)
        elif self.headers.get("If-Modified-Since") == LAST_MODIFIED:
            self.answer(304, Last_Modified=LAST_MODIFIED)
        else:
            self.answer(
                200,
                SPEC,
                Content_Type="application/json",
                ETag=ETAG,
                Last_Modified=LAST_MODIFIED,
            )

    def route_redirect(self, query):
        self.answer(302, Location=query["to"][0])

    def route_loop(self, query):
        self.answer(302, Location="/loop")

    def route_broken(self, query):
        self.answer(500, b"oops")

    def route_big_declared(self, query):
        self.send_response(200)
        self.send_header("Content-Length", str(BIG))
        self.end_headers()
        self.stream(b"x" * 65536, BIG)

    def route_big_undeclared(self, query):
        # HTTP/1.0 style: no length, the body ends when the connection closes.
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.stream(b"x" * 65536, BIG)
        self.close_connection = True

    def route_big_chunked(self, query):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"x" * 65536
        self.stream(b"%x\r\n%s\r\n" % (len(chunk), chunk), BIG)

    def route_gzip_bomb(self, query):
        self.answer(200, self.server.bomb, Content_Encoding="gzip")

    def route_stall_headers(self, query):
        self.server.release.wait(10)

    def route_stall_body(self, query):
        self.send_response(200)
        self.send_header("Content-Length", str(len(SPEC)))
        self.end_headers()
        self.wfile.write(SPEC[:10])
        self.wfile.flush()
        self.server.release.wait(10)

    def route_trickle(self, query):
        """A byte at a time, each well inside the timeout, for far longer than it."""
        self.send_response(200)
        self.send_header("Content-Length", str(len(SPEC)))
        self.end_headers()
        try:
            for byte in SPEC:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                if self.server.release.wait(0.05):
                    return
        except (BrokenPipeError, ConnectionResetError):
            return


@pytest.fixture(scope="module")
def server():
    httpd = Server()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def private_allowed(settings):
    settings.SPEC_FETCH_ALLOW_PRIVATE = True
    settings.SPEC_FETCH_TIMEOUT = 2.0
    return settings


def _timed(call):
    started = time.perf_counter()
    try:
        return call(), time.perf_counter() - started
    except Exception as exc:
        exc.elapsed = time.perf_counter() - started
        raise


# --- Where it may go ------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_by_default(host, server, settings):
    settings.SPEC_FETCH_ALLOW_PRIVATE = False
    seen = len(server.requests)
    port = server.server_address[1]
    with pytest.raises(FetchError, match="loopback") as error:
        read_url(f"http://{host}:{port}/spec.json")
    assert f"{host} resolves to" in error.value.message
    assert error.value.status == 400
    assert len(server.requests) == seen  # refused before connecting


def test_private_targets_are_fetched_when_allowed(server, private_allowed):
    assert read_url(server.base + "/spec.json") == SPEC
    path, headers = server.requests[-1]
    assert path == "/spec.json"
    assert headers["Host"] == f"127.0.0.1:{server.server_address[1]}"
    assert headers["User-Agent"] == "Portico spec fetcher"


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
    ],
)
def test_redirect_to_link_local_is_refused_even_when_private_is_allowed(
    target, server, private_allowed
):
    """Private targets are for intranet hosts; the metadata service is never a spec."""
    with pytest.raises(FetchError) as error:
        read_url(server.base + "/redirect?to=" + target)
    host = urlsplit(target).hostname
    assert host in error.value.message
    assert "Portico does not fetch from those" in error.value.message


@pytest.mark.parametrize(
    ("address", "by_default", "when_private_allowed"),
    [
        ("93.184.215.14", True, True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True, True),
        ("64:ff9b::808:808", True, True),  # DNS64 for 8.8.8.8
        ("10.1.2.3", False, True),
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("::ffff:10.1.2.3", False, True),
        ("169.254.169.254", False, False),
        ("::ffff:169.254.169.254", False, False),
        ("64:ff9b::a9fe:a9fe", False, False),  # DNS64 for the metadata service
        ("fe80::1%eth0", False, False),
        ("224.0.0.1", False, False),
        ("0.0.0.0", False, False),
        ("240.0.0.1", False, False),
    ],
)
def test_address_rules(address, by_default, when_private_allowed):
    from apis.specs.fetch import _check_addresses

    for allow_private, allowed in ((False, by_default), (True, when_private_allowed)):
        if allowed:
            _check_addresses("h.test", [address], allow_private=allow_private)
        else:
            with pytest.raises(FetchError, match="Portico does not fetch from those"):
                _check_addresses("h.test", [address], allow_private=allow_private)


def test_every_address_of_a_host_is_checked():
    from apis.specs.fetch import _check_addresses

    with pytest.raises(FetchError, match=r"169\.254\.169\.254"):
        _check_addresses("h.test", ["93.184.215.14", "169.254.169.254"], allow_private=True)


def test_redirect_is_followed_and_each_hop_checked(server, private_allowed):
    result = fetch(
        server.base + "/redirect?to=/spec.json",
        max_bytes=CAP,
        timeout=2.0,
        allow_private=True,
    )
    assert result.body == SPEC
    assert result.url == server.base + "/spec.json"
    with pytest.raises(FetchError, match=r"Only http:// and https://"):
        read_url(server.base + "/redirect?to=file:///etc/passwd")


def test_redirect_loop_ends(server, private_allowed):
    with pytest.raises(FetchError, match="More than 3 redirects"):
        read_url(server.base + "/loop")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/spec.json",
        "gopher://example.com/",
        "data:application/json,{}",
        "javascript:alert(1)",
        "//example.com/spec.json",
    ],
)
def test_non_http_schemes_are_refused(url, private_allowed):
    with pytest.raises(FetchError, match=r"Only http:// and https:// URLs can be fetched"):
        read_url(url)


def test_error_status_is_reported(server, private_allowed):
    with pytest.raises(FetchError, match="answered HTTP 500"):
        read_url(server.base + "/broken")
    with pytest.raises(FetchError, match="answered HTTP 404"):
        read_url(server.base + "/nothing-here")


def test_unresolvable_host_is_reported(private_allowed):
    with pytest.raises(FetchError, match="cannot be resolved"):
        read_url("http://no-such-host.invalid/spec.json")


# --- How much and how long ------------------------------------------------------


@pytest.mark.parametrize("route", ["big-declared", "big-undeclared", "big-chunked"])
def test_size_cap_is_enforced_on_streamed_bodies(route, server, private_allowed):
    private_allowed.SPEC_MAX_BYTES = CAP
    tracemalloc.start()
    try:
        with pytest.raises(SpecTooLarge) as error:
            read_url(f"{server.base}/{route}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert error.value.status == 413
    assert "the limit is 0.1 MB" in error.value.message or "limit of 0.1 MB" in error.value.message
    if route == "big-declared":
        assert "5.0 MB" in error.value.message  # the declared size, refused before reading
    assert peak < 10 * CAP


def test_compressed_body_is_capped_after_decompression(server, private_allowed):
    private_allowed.SPEC_MAX_BYTES = 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(SpecTooLarge, match=r"limit of 1\.0 MB"):
            read_url(server.base + "/gzip-bomb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(server.bomb) < 1_000_000  # it was small on the wire
    assert peak < 50_000_000


@pytest.mark.parametrize("route", ["stall-headers", "stall-body", "trickle"])
def test_timeout_is_honoured(route, server, private_allowed):
    private_allowed.SPEC_FETCH_TIMEOUT = 0.5
    with pytest.raises(FetchError) as error:
        _timed(lambda: read_url(f"{server.base}/{route}"))
    assert error.value.elapsed < 2.0, f"{error.value.elapsed:.2f} s"
    assert "0.5 s" in error.value.message
    assert isinstance(error.value, SpecError)


# --- Conditional requests -------------------------------------------------------


def test_etag_gives_not_modified(server, private_allowed):
    first = fetch(server.base + "/spec.json", max_bytes=CAP, timeout=2.0, allow_private=True)
    assert first.status == 200
    assert not first.not_modified
    assert first.etag == ETAG
    assert first.last_modified == LAST_MODIFIED

    again = fetch(
        server.base + "/spec.json", max_bytes=CAP, timeout=2.0, allow_private=True, etag=first.etag
    )
    assert again.not_modified
    assert again.body is None
    assert again.etag == ETAG
    assert server.requests[-1][1]["If-None-Match"] == ETAG

    by_date = fetch(
        server.base + "/spec.json",
        max_bytes=CAP,
        timeout=2.0,
        allow_private=True,
        last_modified=first.last_modified,
    )
    assert by_date.not_modified


# --- Through the upload page ----------------------------------------------------


def _post_url(client, cast, url):
    return client.post(
        reverse("apis:api_new", kwargs={"org": cast.org.slug}),
        {
            "team": cast.team.pk,
            "name": "Fetched",
            "slug": "fetched",
            "visibility": "organisation",
            "kind": "rest",
            "spec_url": url,
        },
    )


def test_upload_page_refuses_loopback_url(server, cast, client_for, settings):
    settings.SPEC_FETCH_ALLOW_PRIVATE = False
    response = _post_url(client_for(cast.maintainer), cast, server.base + "/spec.json")
    assert response.status_code == 400
    assert b"loopback" in response.content
    assert not Api.objects.filter(slug="fetched").exists()


def test_upload_page_imports_from_url_when_allowed(server, cast, client_for, private_allowed):
    response = _post_url(client_for(cast.maintainer), cast, server.base + "/spec.json")
    assert response.status_code == 302
    version = ApiVersion.objects.get(api__slug="fetched")
    assert version.operations.count() == 3
    assert version.spec.document == json.loads(SPEC)
