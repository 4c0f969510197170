"""A URL the provider will fetch must resolve to public addresses only.

`contentgen.models.public_url` refuses hosts that are (or spell) a non-public address or name; a
name can still resolve to one: `localtest.me` and `*.localtest.me` to 127.0.0.1, `127.0.0.1.nip.io`
(any `<address>.nip.io`) to that address, a name of one's own to 169.254.169.254. Before a
provider is asked to fetch a URL, its host is resolved here and every answer must be public
(`public_url.is_public`); a name that does not resolve is refused too (the provider could not
fetch it either). What remains is DNS rebinding between this check and the provider's fetch,
which only the fetcher can close.

The resolver is injectable (`set_resolver`): tests answer from a table and never use the real DNS.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
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


def check_fetchable(url: str, *, field: str) -> None:
    """Raise InvalidRequestError (422 naming `field`) unless every address the URL's host resolves
    to is public. An `https` URL that already passed `models.characters.check_image_url` is expected;
    a `data:` URL (inline bytes) is not fetched and passes."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        return
    netloc = parts.netloc.rsplit("@", 1)[-1]
    raw = netloc[: netloc.find("]") + 1] if netloc.startswith("[") else netloc.rsplit(":", 1)[0]
    try:
        host = parse_host(raw)
    except HostError as exc:
        raise InvalidRequestError(field, str(exc)) from None
    if not isinstance(host, str):
        if not is_public(host):
            raise InvalidRequestError(field, "must not name a non-public address")
        return
    reason = refused_name(host)
    if reason is not None:
        raise InvalidRequestError(field, reason)
    try:
        answers = list(_resolver(host))
    except (OSError, UnicodeError):
        raise InvalidRequestError(field, f"its host {host} does not resolve") from None
    if not answers:
        raise InvalidRequestError(field, f"its host {host} does not resolve")
    for answer in answers:
        try:
            address = ipaddress.ip_address(answer.split("%", 1)[0])
        except ValueError:
            raise InvalidRequestError(field, f"its host {host} resolves to an unreadable address") from None
        if not is_public(address):
            raise InvalidRequestError(
                field, f"its host {host} resolves to a non-public address ({address}); give a public URL"
            )
