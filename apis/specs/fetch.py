"""Fetch a document by URL without becoming a proxy into the private network.

Only http(s); the host is resolved here and every address must be public
(no loopback or private address) unless the setting allows private targets;
link-local (the cloud metadata service), multicast, unspecified and reserved
addresses are refused even then. The connection goes to the address that was
checked, so a second DNS answer cannot swap it; each redirect is checked the
same way; the body is read to at most the size cap, and the whole fetch,
redirects and body included, ends by the timeout.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3

from .errors import SpecError, SpecTooLarge, megabytes

MAX_REDIRECTS = 3
USER_AGENT = "Portico spec fetcher"


class FetchError(SpecError):
    code = "fetch_failed"


@dataclass(frozen=True)
class FetchResult:
    status: int
    body: bytes | None
    url: str
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"The host {host} cannot be resolved.") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


# DNS64 answers with this prefix on IPv6-only networks; what counts is the IPv4 inside.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address):
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _check_addresses(host: str, addresses: list[str], *, allow_private: bool) -> None:
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        ip = _embedded_ipv4(ip)
        reserved = ip.is_reserved and not ip.is_loopback  # ::1 sits in IPv6's reserved ::/8
        if ip.is_link_local or ip.is_multicast or ip.is_unspecified or reserved:
            raise FetchError(
                f"{host} resolves to {address}, a link-local, multicast or reserved address "
                "(such as a cloud metadata service); Portico does not fetch from those."
            )
        if not allow_private and not ip.is_global:
            raise FetchError(
                f"{host} resolves to {address}, a private, loopback or link-local address; "
                "Portico does not fetch from those."
            )


def resolve_checked(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The host's addresses, each checked; connect to one of these, never to the name again."""
    addresses = _addresses(host, port)
    _check_addresses(host, addresses, allow_private=allow_private)
    return addresses


def pinned_pool(
    scheme: str, host: str, address: str, port: int, *, timeout: urllib3.Timeout
) -> urllib3.HTTPConnectionPool:
    """A one-connection pool to ``address``; over TLS it still sends and verifies ``host``."""
    common = {"port": port, "timeout": timeout, "retries": False, "maxsize": 1}
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            **common,
        )
    return urllib3.HTTPConnectionPool(address, **common)


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool = False,
    etag: str = "",
    last_modified: str = "",
    headers: dict[str, str] | None = None,
) -> FetchResult:
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError("Only http:// and https:// URLs can be fetched.")
        if not parts.hostname:
            raise FetchError("The URL has no host.")
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve_checked(host, port, allow_private=allow_private)
        response = _request(
            parts.scheme,
            host,
            addresses[0],
            port,
            path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            timeout=timeout,
            deadline=deadline,
            headers={
                "Host": parts.netloc.rsplit("@", 1)[-1],
                "User-Agent": USER_AGENT,
                "Accept": "application/json, application/yaml, text/yaml, */*;q=0.5",
                **({"If-None-Match": etag} if etag else {}),
                **({"If-Modified-Since": last_modified} if last_modified else {}),
                **(headers or {}),
            },
        )
        try:
            if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            result_headers = {
                "etag": response.headers.get("ETag", ""),
                "last_modified": response.headers.get("Last-Modified", ""),
            }
            if response.status == 304:
                return FetchResult(status=304, body=None, url=url, **result_headers)
            if not 200 <= response.status < 300:
                raise FetchError(f"{host} answered HTTP {response.status}.")
            body = _read_capped(response, max_bytes, host=host, timeout=timeout, deadline=deadline)
            return FetchResult(status=response.status, body=body, url=url, **result_headers)
        finally:
            response.release_conn()
    raise FetchError(f"More than {MAX_REDIRECTS} redirects.")


def _request(scheme, host, address, port, *, path, timeout, deadline, headers):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timed_out(host, timeout)
    pool = pinned_pool(scheme, host, address, port, timeout=urllib3.Timeout(total=remaining))
    try:
        return pool.urlopen(
            "GET", path, headers=headers, redirect=False, preload_content=False, decode_content=True
        )
    except urllib3.exceptions.HTTPError as exc:
        raise _failed(host, timeout, exc) from exc


def _timed_out(host: str, timeout: float) -> FetchError:
    return FetchError(f"{host} did not send the spec within {timeout:g} s.")


def _failed(host: str, timeout: float, exc: Exception) -> FetchError:
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return _timed_out(host, timeout)
    return FetchError(f"Could not fetch from {host}: {exc.__class__.__name__}.")


def _read_capped(response, max_bytes: int, *, host: str, timeout: float, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise SpecTooLarge(
            f"This spec is {megabytes(int(declared))}; the limit is {megabytes(max_bytes)}."
        )
    chunks, size = [], 0
    try:
        # read1 returns what one receive brings, so a server that trickles bytes
        # (each within the socket timeout) still meets the deadline between reads.
        while chunk := response.read1(64 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise SpecTooLarge(f"This spec is over the limit of {megabytes(max_bytes)}.")
            if time.monotonic() > deadline:
                raise _timed_out(host, timeout)
            chunks.append(chunk)
    except urllib3.exceptions.HTTPError as exc:
        raise _failed(host, timeout, exc) from exc
    return b"".join(chunks)
