"""A URL's host read as the fetcher reads it (the WHATWG URL Standard), and whether an address is
one a stranger may make a provider fetch.

The model provider fetches an `image_url` with a browser-grade URL parser, so the host is read
here the same way, not as `urllib.parse` reads it (WHATWG URL Standard, "host parsing",
https://url.spec.whatwg.org/#host-parsing, read 2026-12-06):

- percent-decoded, then mapped by UTS #46 (`idna.uts46_remap`, non-transitional): full-width
  digits and dots (U+FF11 U+FF12 U+FF17 U+FF0E ...), the ideographic full stop, upper case all become ASCII;
- a host whose last label is a number is an IPv4 address, each part decimal, octal (leading 0)
  or hex (0x), the last part filling the remaining bytes ("2130706433", "0x7f.1", "0177.0.0.1",
  "127.1"), a trailing dot allowed ("127.0.0.1.");
- `[...]` is IPv6, including the dotted IPv4 forms ("::ffff:127.0.0.1").

An address is public when it lies in none of the non-public ranges listed below, and so is every
IPv4 address an IPv6 one embeds (IPv4-mapped, IPv4-translated, IPv4-compatible, 6to4, Teredo,
NAT64 64:ff9b::/96). The ranges are written out here rather than taken from `ipaddress`'s
`is_global`, whose answer changes with the interpreter's patch level (gh-113171: 192.0.0.0/24
and others were "global" before CPython 3.11.8 / 3.12.2). Cloud metadata names
(`metadata.google.internal`, `instance-data`, ...) and `localhost` are refused by name.

Why not a library: `ada-url` (PyPI, WHATWG-conformant, C++ via cffi) would add a compiled wheel to
the Lambda layer for one function that only needs the host; the host rules above are short, and
`idna` (already in the layer through httpx) supplies the UTS #46 table, the part that is large.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote_to_bytes

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that reach a cloud's instance metadata service or this host, whatever they resolve to
# (AWS "instance-data", GCP "metadata.google.internal" / "metadata", Azure and others use the
# link-local 169.254.169.254 refused by address). Any `.internal` or `.localhost` name too.
METADATA_NAMES = frozenset(
    {
        "localhost",
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_PRIVATE_SUFFIXES = (".localhost", ".internal", ".local", ".home.arpa")
# WHATWG "forbidden domain code point"s (after mapping), a host containing one is not valid.
_FORBIDDEN = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# IPv4-translated addresses ::ffff:0:a.b.c.d (RFC 2765 / RFC 6145 SIIT).
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")

# IPv4 ranges whose "Globally Reachable" is False (or N/A) in the IANA IPv4 Special-Purpose Address
# Registry (https://www.iana.org/assignments/iana-ipv4-special-registry/, RFC 6890, read
# 2026-12-07), plus multicast 224.0.0.0/4 (IANA IPv4 Address Space Registry). 192.0.0.0/24 is
# refused whole, its two anycast /32s (192.0.0.9 PCP, 192.0.0.10 TURN) included: no image is
# served from them, and 192.0.0.192 is Oracle Cloud's instance metadata address.
NON_PUBLIC_IPV4 = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8",  # "this network" (RFC 791)
        "10.0.0.0/8",  # private use (RFC 1918)
        "100.64.0.0/10",  # shared address space, carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",  # loopback (RFC 1122)
        "169.254.0.0/16",  # link local, cloud metadata 169.254.169.254 (RFC 3927)
        "172.16.0.0/12",  # private use (RFC 1918)
        "192.0.0.0/24",  # IETF protocol assignments (RFC 6890)
        "192.0.2.0/24",  # documentation TEST-NET-1 (RFC 5737)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast (RFC 7526)
        "192.168.0.0/16",  # private use (RFC 1918)
        "198.18.0.0/15",  # benchmarking (RFC 2544)
        "198.51.100.0/24",  # documentation TEST-NET-2 (RFC 5737)
        "203.0.113.0/24",  # documentation TEST-NET-3 (RFC 5737)
        "224.0.0.0/4",  # multicast (RFC 5771)
        "240.0.0.0/4",  # reserved (RFC 1112), includes 255.255.255.255 limited broadcast
    )
)

# IPv6: only 2000::/3 is Global Unicast (IANA "Internet Protocol Version 6 Address Space",
# https://www.iana.org/assignments/ipv6-address-space/, RFC 4291): everything outside it
# (::/8 with loopback, unspecified and the embedded-IPv4 forms, fc00::/7 unique local, fe80::/10
# link local, fec0::/10 deprecated site local (RFC 3879), ff00::/8 multicast, the reserved rest)
# is refused unless it embeds a public IPv4 address. Inside 2000::/3, the blocks whose
# "Globally Reachable" is False in the IANA IPv6 Special-Purpose Address Registry
# (https://www.iana.org/assignments/iana-ipv6-special-registry/, last updated 2025-10-09, read
# 2026-12-07) are refused. 2001::/23 is refused whole (its anycast and ORCHIDv2 exceptions serve no
# images); Teredo 2001::/32 is judged by its embedded IPv4 first.
GLOBAL_UNICAST_IPV6 = ipaddress.IPv6Network("2000::/3")
NON_PUBLIC_IPV6 = tuple(
    ipaddress.IPv6Network(block)
    for block in (
        "2001::/23",  # IETF protocol assignments (RFC 2928)
        "2001:db8::/32",  # documentation (RFC 3849)
        "2002::/16",  # 6to4: judged by the embedded IPv4 first, refused otherwise (RFC 3056)
        "3fff::/20",  # documentation (RFC 9637)
    )
)


class HostError(ValueError):
    """The host is not one the fetcher would accept, or not one it may be asked to fetch."""


def parse_host(host: str) -> str | IPAddress:
    """The host as the WHATWG URL parser reads it for a special scheme (https): an IP address, or
    the ASCII (punycode) domain, lower case, without a trailing dot. Raises HostError when the
    parser would fail."""
    if host.startswith("["):
        if not host.endswith("]"):
            raise HostError("has an unclosed IPv6 bracket")
        try:
            return ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise HostError("is not a valid IPv6 address") from None
    try:
        decoded = unquote_to_bytes(host).decode("utf-8")
    except UnicodeDecodeError:
        raise HostError("has a percent-encoded host that is not UTF-8") from None
    try:
        mapped = idna.uts46_remap(decoded, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise HostError(f"has a host that is not a valid domain ({exc})") from None
    if not mapped or _FORBIDDEN.search(mapped):
        raise HostError("has a host with a character no domain may hold")
    if _ends_in_a_number(mapped):
        return _ipv4(mapped)
    name = mapped[:-1] if mapped.endswith(".") else mapped  # one trailing dot: the same name
    try:
        ascii_name = name if name.isascii() else idna.encode(name, uts46=False).decode("ascii")
    except idna.IDNAError as exc:
        raise HostError(f"has a host that is not a valid domain ({exc})") from None
    return ascii_name.lower()


def _ends_in_a_number(host: str) -> bool:
    """WHATWG "ends in a number": the last label (one trailing dot ignored) is digits or 0x-hex."""
    labels = host.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    last = labels[-1]
    if last and all(char in "0123456789" for char in last):
        return True
    return last.lower().startswith("0x") and all(char in "0123456789abcdefABCDEF" for char in last[2:])


def _ipv4_number(part: str) -> int:
    radix = 10
    if part[:2].lower() == "0x":
        part, radix = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        part, radix = part[1:], 8
    if part == "":
        return 0
    try:
        return int(part, radix)
    except ValueError:
        raise HostError("is not a valid IPv4 address") from None


def _ipv4(host: str) -> ipaddress.IPv4Address:
    """WHATWG "IPv4 parser": 1-4 parts, each decimal / octal / hex, the last filling the rest."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4 or any(part == "" for part in parts):
        raise HostError("is not a valid IPv4 address")
    numbers = [_ipv4_number(part) for part in parts]
    if any(number > 255 for number in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise HostError("is not a valid IPv4 address")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, translated, compatible, 6to4, Teredo,
    NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _TRANSLATED:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    packed = int(address)
    if address in _NAT64:
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    if packed >> 32 == 0 and packed > 1:  # IPv4-compatible ::a.b.c.d (deprecated, still routed)
        return ipaddress.IPv4Address(packed)
    return None


def is_public(address: IPAddress) -> bool:
    """Whether `address` is in none of the non-public ranges (`NON_PUBLIC_IPV4`; for IPv6, inside
    `GLOBAL_UNICAST_IPV6` and outside `NON_PUBLIC_IPV6`), an IPv6 address that embeds an IPv4 one
    being judged by the IPv4 address it carries. Independent of the interpreter's `ipaddress`."""
    if isinstance(address, ipaddress.IPv4Address):
        return not any(address in network for network in NON_PUBLIC_IPV4)
    if address.scope_id:
        return False
    inner = embedded_ipv4(address)
    if inner is not None:
        return is_public(inner)
    if address not in GLOBAL_UNICAST_IPV6:
        return False
    return not any(address in network for network in NON_PUBLIC_IPV6)


def refused_name(name: str) -> str | None:
    """Why a domain name is refused by name (this host, cloud metadata), None when it is not."""
    if name in METADATA_NAMES or name.endswith(_PRIVATE_SUFFIXES):
        return f"must not name this host, a private name or a cloud metadata service ({name})"
    return None
