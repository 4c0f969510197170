"""A URL the provider will fetch must resolve to public addresses only.

`contentgen.models.public_url` refuses hosts that are (or spell) a non-public address or name; a
name can still resolve to one: `localtest.me` and `*.localtest.me` to 127.0.0.1, `127.0.0.1.nip.io`
(any `<address>.nip.io`) to that address, a name of one's own to 169.254.169.254. Before a
provider is asked to fetch a URL, its host is resolved here and every answer must be public
(`public_url.is_public`); a name that does not resolve is refused too (the provider could not
fetch it either). What remains is DNS rebinding between this check and the fetch, which only the
fetcher can close.

When contentgen itself is the fetcher (the webhook sender, `contentgen.services.webhooks`), it
closes it here, the one way: `fetch_pinned` resolves and checks once, then connects only to an
address that check approved (`PinnedHTTPSConnection`: the TCP connect goes to the checked IP;
the Host header, TLS SNI and certificate verification use the hostname), never resolving the name
again. That is OWASP's "SSRF Prevention Cheat Sheet" advice against DNS rebinding (validate the
resolved IP and use that same IP for the connection; a second resolution may answer otherwise,
TTL 0; read 2026-12-07). A URL the provider fetches (`image_url` of /characters/analyze) is
fetched from the provider's network, not from contentgen's: contentgen never connects to it.

The resolver is injectable (`set_resolver`): tests answer from a table and never use the real DNS.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from contentgen.errors import InvalidRequestError
from contentgen.models.public_url import HostError, is_public, parse_host, refused_name

Resolver = Callable[[str], Sequence[str]]


def system_resolver(name: str) -> list[str]:
    """Every address `name` resolves to through the system resolver (`getaddrinfo`, TCP, 443)."""
    answers = socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)
    return sorted({str(answer[4][0]) for answer in answers})


_resolver: Resolver = system_resolver


def set_resolver(resolver: Resolver | None) -> None:
    """Use `resolver` (name -> addresses; raises OSError when the name does not resolve) from now
    on; None restores the system resolver."""
    global _resolver
    _resolver = resolver or system_resolver


def check_fetchable(url: str, *, field: str) -> tuple[str, ...]:
    """Raise InvalidRequestError (422 naming `field`) unless every address the URL's host resolves
    to is public; return those addresses (the literal itself for an address host), the only ones a
    fetch may connect to (`fetch_pinned`). An `https` URL that already passed
    `models.characters.check_image_url` is expected; a `data:` URL (inline bytes) is not fetched
    and passes (no address)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        return ()
    netloc = parts.netloc.rsplit("@", 1)[-1]
    raw = netloc[: netloc.find("]") + 1] if netloc.startswith("[") else netloc.rsplit(":", 1)[0]
    try:
        host = parse_host(raw)
    except HostError as exc:
        raise InvalidRequestError(field, str(exc)) from None
    if not isinstance(host, str):
        if not is_public(host):
            raise InvalidRequestError(field, "must not name a non-public address")
        return (str(host),)
    reason = refused_name(host)
    if reason is not None:
        raise InvalidRequestError(field, reason)
    try:
        answers = list(_resolver(host))
    except (OSError, UnicodeError):
        raise InvalidRequestError(field, f"its host {host} does not resolve") from None
    if not answers:
        raise InvalidRequestError(field, f"its host {host} does not resolve")
    checked: list[str] = []
    for answer in answers:
        try:
            address = ipaddress.ip_address(answer.split("%", 1)[0])
        except ValueError:
            raise InvalidRequestError(field, f"its host {host} resolves to an unreadable address") from None
        if not is_public(address):
            raise InvalidRequestError(
                field, f"its host {host} resolves to a non-public address ({address}); give a public URL"
            )
        checked.append(str(address))
    return tuple(checked)


def _connect_first(addresses: Sequence[str], port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first of `addresses` (IP literals) that accepts; the last error otherwise."""
    failure: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            failure = exc
    raise failure


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to `host` over a TCP connection to one of `addresses` (already checked, IP literals)
    only: the name is never resolved again. `Host`, TLS SNI and certificate verification (the
    default context: CA bundle, hostname check) use `host`, so a pinned address serving another
    name's certificate fails the handshake."""

    def __init__(self, host: str, addresses: Sequence[str], *, port: int, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._addresses = tuple(addresses)

    def connect(self) -> None:
        """Connect to a checked address, then the TLS handshake for the hostname."""
        sock = _connect_first(self._addresses, self.port, self.timeout or 15.0)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class PinnedAnswer:
    """What `fetch_pinned` got: the HTTP status and the answer's headers (lower-cased names)."""

    status: int
    headers: Mapping[str, str]


MAX_DRAINED_BYTES = 64 * 1024


def fetch_pinned(
    method: str, url: str, *, field: str, body: bytes | None, headers: Mapping[str, str], timeout: float
) -> PinnedAnswer:
    """One HTTPS request to `url` connected only to the addresses `check_fetchable` approved for it
    (one resolution; DNS rebinding after the check cannot redirect it). Redirects are not followed
    (a 3xx is returned as is); the answer's body is read (at most 64 KiB) and dropped.

    Raises InvalidRequestError (naming `field`) when the URL is refused or its host does not
    resolve, ValueError for a URL that is not `https://host[:port]/...`, OSError /
    http.client.HTTPException when the connection or the exchange fails (timeout `timeout` s per
    socket operation)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError("only https URLs with a host are fetched")
    addresses = check_fetchable(url, field=field)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = PinnedHTTPSConnection(parts.hostname, addresses, port=parts.port or 443, timeout=timeout)
    try:
        connection.request(method, target, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.read(MAX_DRAINED_BYTES)
        return PinnedAnswer(response.status, {name.lower(): value for name, value in response.getheaders()})
    finally:
        connection.close()
