"""image_url hosts read as the fetcher's WHATWG parser reads them (issue 22 item 14)."""

from __future__ import annotations

import ipaddress

import pytest

from contentgen.models.characters import check_image_url
from contentgen.models.public_url import HostError, is_public, parse_host

# Each spells a non-public address to a WHATWG URL parser (https://url.spec.whatwg.org/#host-parsing);
# `urllib.parse` reads most of them as names.
WHATWG_LOOPBACK = [
    "https://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/x.png",  # full-width digits and full stops (UTS 46 maps them)
    "https://127。0。0。1/x.png",  # ideographic full stops
    "https://%31%32%37%2e%30%2e%30%2e%31/x.png",  # percent-encoded host
    "https://0177.0.0.1/x.png",  # octal
    "https://0x7F000001/x.png",  # one hex number
    "https://017700000001/x.png",  # one octal number
    "https://127.0.1/x.png",  # three parts, the last filling two bytes
    "https://127.0.0.1./x.png",  # trailing dot
    "https://[::127.0.0.1]/x.png",  # IPv4-compatible IPv6
    "https://[0:0:0:0:0:ffff:7f00:1]/x.png",  # IPv4-mapped, hex spelling
    "https://[64:ff9b::7f00:1]/x.png",  # NAT64
    "https://[2002:7f00:1::]/x.png",  # 6to4 of 127.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 of 169.254.169.254
]
METADATA = [
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://METADATA.GOOGLE.INTERNAL./x",
    "https://instance-data/latest/meta-data/",
    "https://metadata/x",
    "https://anything.internal/x.png",
]


@pytest.mark.parametrize("url", WHATWG_LOOPBACK + METADATA)
def test_a_host_a_fetcher_reads_as_non_public_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="must"):
        check_image_url(url)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11", "127.0.0.1"),
        ("%31%32%37.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0300.0250.0.1", "192.168.0.1"),
        ("10.0.0.1.", "10.0.0.1"),
        ("0x", "0.0.0.0"),
    ],
)
def test_the_whatwg_ipv4_parser(host: str, address: str) -> None:
    assert parse_host(host) == ipaddress.IPv4Address(address)


@pytest.mark.parametrize(
    "host", ["1.2.3.4.5", "256.0.0.1", "1.2.3.0x100000000", "0x1g.0.0.1", "a b", "ex%00.com"]
)
def test_hosts_the_parser_refuses(host: str) -> None:
    with pytest.raises(HostError):
        parse_host(host)


def test_names_stay_names() -> None:
    assert parse_host("Images.Example.COM.") == "images.example.com"
    assert parse_host("例え.jp") == "xn--r8jz45g.jp"
    assert parse_host("cafe") == "cafe"  # hex letters only, not a number


def test_embedded_ipv4_decides_for_ipv6() -> None:
    assert is_public(ipaddress.ip_address("2001:4860:4860::8888"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not is_public(ipaddress.ip_address("2001:0:4136:e378:8000:63bf:80ff:fffe"))  # Teredo of 127.0.0.1


@pytest.mark.parametrize(
    "url",
    [
        "https://[::ffff:0:7f00:1]/a.png",  # IPv4-translated (RFC 6145) 127.0.0.1
        "https://[::ffff:0:a9fe:a9fe]/latest/meta-data/",  # IPv4-translated 169.254.169.254
        "https://192.0.0.192/opc/v2/instance/",  # Oracle Cloud metadata, IETF protocol assignments
        "https://[fec0::1]/a.png",  # deprecated site local (RFC 3879)
        "https://[64:ff9b:1::a9fe:a9fe]/a.png",  # local-use IPv4/IPv6 translation (RFC 8215)
        "https://[2001:db8::1]/a.png",  # documentation
        "https://100.64.0.1/a.png",  # carrier-grade NAT
        "https://198.18.0.1/a.png",  # benchmarking
    ],
)
def test_every_non_public_range_of_the_iana_registries_is_refused_whatever_the_python(url: str) -> None:
    with pytest.raises(ValueError, match=r"must not|non-public|not a valid"):
        check_image_url(url)


def test_public_addresses_in_every_spelling_pass() -> None:
    for spelling in ("8.8.8.8", "::ffff:8.8.8.8", "::ffff:0:8.8.8.8", "64:ff9b::808:808", "2606:4700::1111"):
        assert is_public(ipaddress.ip_address(spelling)), spelling
