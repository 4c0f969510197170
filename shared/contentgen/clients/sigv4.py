"""AWS Signature Version 4 for the requests the layer sends without botocore
(`contentgen.clients.dynamodb`).

The algorithm is AWS's ("Create a signed AWS API request", AWS Identity and Access Management
User Guide, https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html, read
2026-12-07): a canonical request (method, URI-encoded path, sorted query, sorted lower-case
headers with their values trimmed and inner whitespace collapsed, the signed header names, the
SHA-256 of the payload), its SHA-256 in a string to sign with the timestamp and the credential
scope `date/region/service/aws4_request`, and an HMAC-SHA256 chain from `"AWS4" + secret key`
over the date, region, service and `aws4_request` that signs it. Temporary credentials add
`X-Amz-Security-Token`, which is signed too.

It reproduces botocore's `botocore.auth.SigV4Auth` (the signer of every AWS SDK for Python
request) for the requests it is given: the same headers signed (all but `expect`,
`transfer-encoding`, `user-agent`, `x-amzn-trace-id`), the path normalized and encoded again as
botocore does for every service but S3, the query taken as the URL carries it.
`tests/unit/clients/test_sigv4.py` compares its signatures with botocore's on generated requests
and with AWS's published test vectors.

Why not a library (PyPI, read 2026-12-07): `requests-aws4auth` (1.4) and `aws-requests-auth`
(0.4) sign `requests` requests, which the layer does not hold; `httpx-auth` (0.23) signs httpx
requests but requires `httpx==0.28.*`, a second HTTP stack beside the `httpx2` the provider SDKs
use, and its package imports its OAuth2 browser flows (`webbrowser`, `http.server`) with its
`AWS4Auth`. This module imports only the standard library's `hashlib`, `hmac` and `urllib.parse`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
# Headers botocore leaves unsigned (`botocore.auth.SIGNED_HEADERS_BLACKLIST`): a proxy or the
# HTTP client may change them on the way.
UNSIGNED_HEADERS = frozenset({"expect", "transfer-encoding", "user-agent", "x-amzn-trace-id"})
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Credentials:
    """An access key pair, with the session token of temporary credentials (Lambda's role)."""

    access_key: str
    secret_key: str = ""
    token: str | None = None

    def __repr__(self) -> str:  # never the secret or the token in a log line or a traceback
        return f"Credentials(access_key={self.access_key!r})"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


_keys: dict[tuple[str, str, str, str], bytes] = {}


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """HMAC-SHA256 of `aws4_request` under the key derived from the secret, the date (YYYYMMDD),
    the region and the service: the same for a day, so it is kept (one entry per scope)."""
    scope = (secret_key, date, region, service)
    key = _keys.get(scope)
    if key is None:
        key = _hmac(
            _hmac(_hmac(_hmac(("AWS4" + secret_key).encode("utf-8"), date), region), service), "aws4_request"
        )
        if len(_keys) > 16:  # a new day or rotated credentials: the old scopes are dead
            _keys.clear()
        _keys[scope] = key
    return key


def host_of(url: str) -> str:
    """The `Host` header botocore signs for `url`: the lower-case host name, `[...]` around an
    IPv6 address, and `:port` unless it is the scheme's default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _canonical_path(path: str) -> str:
    """The path with RFC 3986's dot segments and empty segments removed (as botocore's
    `normalize_url_path` does: AWS services want consecutive slashes removed), then URI-encoded
    again (`/` and `~` kept): every service but S3 signs the path encoded twice."""
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    normalized = ("/" if path.startswith("/") else "") + "/".join(segments)
    if path.endswith("/") and segments:
        normalized += "/"
    return quote(normalized, safe="/~")


def _canonical_query(query: str) -> str:
    """The URL's query pairs (already encoded, as the URL carries them) sorted by name, then value."""
    if not query:
        return ""
    pairs = sorted((name, value) for name, _, value in (pair.partition("=") for pair in query.split("&")))
    return "&".join(f"{name}={value}" for name, value in pairs)


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    region: str,
    service: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to send `body` to `url` with: `headers`, `Host` when absent, `X-Amz-Date`,
    `X-Amz-Security-Token` (temporary credentials) and `Authorization`, signed for `service` in
    `region` at `now` (default: the current UTC time)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    date = stamp[:8]
    sent = {
        name: value for name, value in headers.items() if name.lower() not in ("authorization", "x-amz-date")
    }
    if credentials.token:
        sent = {name: value for name, value in sent.items() if name.lower() != "x-amz-security-token"}
        sent["X-Amz-Security-Token"] = credentials.token
    sent["X-Amz-Date"] = stamp
    if not any(name.lower() == "host" for name in sent):
        sent["Host"] = host_of(url)
    canonical: dict[str, list[str]] = {}
    for name, value in sent.items():
        lower = name.lower()
        if lower not in UNSIGNED_HEADERS:
            canonical.setdefault(lower, []).append(" ".join(value.split()))
    names = sorted(canonical)
    signed_headers = ";".join(names)
    parts = urlsplit(url)
    request = "\n".join(
        [
            method.upper(),
            _canonical_path(parts.path),
            _canonical_query(parts.query),
            "".join(f"{name}:{','.join(canonical[name])}\n" for name in names),
            signed_headers,
            hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256,
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(request.encode('utf-8')).hexdigest()}"
    signature = hmac.new(
        signing_key(credentials.secret_key, date, region, service), to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    sent["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return sent
