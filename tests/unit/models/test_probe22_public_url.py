"""Probe 22 (issue 22 item 14: "IPv6 forms embedding IPv4 ... refuse every non-public answer").

- `::ffff:0:a.b.c.d` is the IPv4-translated form (RFC 2765 / RFC 6145 SIIT, `::ffff:0:0:0/96`),
  another IPv6 spelling that embeds an IPv4 address; `embedded_ipv4` knows mapped, compatible,
  6to4, Teredo and NAT64 but not this one, and `ipaddress` calls it global, so
  `[::ffff:0:7f00:1]` (127.0.0.1) and `[::ffff:0:a9fe:a9fe]` (169.254.169.254) pass.
- `192.0.0.192` is Oracle Cloud's instance metadata address (IETF protocol assignments
  192.0.0.0/24, RFC 6890: not globally reachable); CPython 3.11.7 (this repo's local Python, and
  any 3.11 before the gh-113171 fix) calls it global, so whether it is refused depends on the
  interpreter's patch level.
- `fec0::/10` (site-local, RFC 3879 deprecated, still not global) passes as well.
"""

from __future__ import annotations

import pytest

from contentgen.models.characters import check_image_url


@pytest.mark.parametrize(
    "url",
    [
        "https://[::ffff:0:7f00:1]/a.png",
        "https://[::ffff:0:a9fe:a9fe]/latest/meta-data/",
        "https://192.0.0.192/opc/v2/instance/",
        "https://[fec0::1]/a.png",
    ],
)
def test_non_public_addresses_in_other_spellings_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"must not|non-public|not a valid"):
        check_image_url(url)
