"""`contentgen.clients.sigv4` signs as botocore's `SigV4Auth` does, and as AWS's test suite says.

AWS Signature Version 4 test suite (`aws-sig-v4-test-suite`, the archive the SigV4 documentation
links; requests dated 2015-08-30T12:36:00Z, key AKIDEXAMPLE, region us-east-1, service
`service`), found with the `search` tool 2026-12-07 in several independent signers' tests that
reproduce it (e.g. get-vanilla's signature quoted identically by Go, Rust, TypeScript and C++
projects).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials
from hypothesis import given
from hypothesis import strategies as st

from contentgen.clients.sigv4 import Credentials, host_of, sign

SUITE_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
SUITE_KEY = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


@pytest.mark.parametrize(
    ("name", "method", "url", "signature"),
    [
        (
            "get-vanilla",
            "GET",
            "https://example.amazonaws.com/",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        (
            "post-vanilla",
            "POST",
            "https://example.amazonaws.com/",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
        (
            "get-vanilla-query-order-key-case",
            "GET",
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
    ],
)
def test_the_aws_test_suite_s_vectors(name: str, method: str, url: str, signature: str) -> None:
    headers = sign(method, url, {}, b"", SUITE_KEY, "us-east-1", "service", SUITE_TIME)

    assert headers["Host"] == "example.amazonaws.com"
    assert headers["X-Amz-Date"] == "20150830T123600Z"
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={signature}"
    ), name


def test_temporary_credentials_sign_their_token_and_nothing_leaks_in_repr() -> None:
    credentials = Credentials("ASIAEXAMPLE", "secret-key", "session-token")

    headers = sign(
        "POST", "https://dynamodb.eu-west-1.amazonaws.com/", {}, b"{}", credentials, "eu-west-1", "dynamodb"
    )

    assert headers["X-Amz-Security-Token"] == "session-token"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token," in headers["Authorization"]
    assert "/eu-west-1/dynamodb/aws4_request" in headers["Authorization"]
    assert "secret" not in repr(credentials)
    assert "session-token" not in repr(credentials)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://dynamodb.us-east-1.amazonaws.com/", "dynamodb.us-east-1.amazonaws.com"),
        ("https://DynamoDB.us-east-1.amazonaws.com:443/", "dynamodb.us-east-1.amazonaws.com"),
        ("http://127.0.0.1:5000/", "127.0.0.1:5000"),
        ("http://localhost:80/", "localhost"),
        ("http://[::1]:4566/", "[::1]:4566"),
    ],
)
def test_the_host_signed_is_botocore_s(url: str, host: str) -> None:
    assert host_of(url) == host


_SEGMENT = st.text(alphabet="abcXYZ019-_.~%+=:@!$&'()* ", min_size=0, max_size=8)
_TOKEN = st.text(alphabet="abcXYZ019-_.~%+/=", min_size=1, max_size=12)
_HEADER_NAME = st.text(alphabet="abcdefgxyz-", min_size=1, max_size=10).filter(
    lambda name: name.lower() not in ("authorization", "x-amz-date", "host", "x-amz-security-token")
)
_HEADER_VALUE = st.text(alphabet="abc XYZ019\t-_.:;/=,", min_size=0, max_size=20)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD"]))
    scheme = draw(st.sampled_from(["http", "https"]))
    host = draw(
        st.sampled_from(
            ["dynamodb.us-east-1.amazonaws.com", "example.amazonaws.com", "127.0.0.1", "localhost"]
        )
    )
    port = draw(st.sampled_from(["", ":80", ":443", ":5000"]))
    path = draw(st.sampled_from(["", "/"])) + "/".join(draw(st.lists(_SEGMENT, max_size=4)))
    path = path if not path or path.startswith("/") else "/" + path
    pairs = draw(st.lists(st.tuples(_TOKEN, st.text(alphabet="abc019-_.~%", max_size=6)), max_size=4))
    query = "&".join(f"{name}={value}" for name, value in pairs)
    url = f"{scheme}://{host}{port}{path}" + (f"?{query}" if query else "")
    headers = draw(st.dictionaries(_HEADER_NAME, _HEADER_VALUE, max_size=5))
    if draw(st.booleans()):
        headers["X-Amz-Target"] = "DynamoDB_20120810.UpdateItem"
        headers["Content-Type"] = "application/x-amz-json-1.0"
    if draw(st.booleans()):
        headers["User-Agent"] = "unsigned/1.0"
    body = draw(st.binary(max_size=64))
    return method, url, headers, body


@given(
    request=requests(),
    token=st.one_of(st.none(), st.text(alphabet="abcXYZ019+/=", min_size=1, max_size=40)),
    region=st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1"]),
    service=st.sampled_from(["dynamodb", "sqs", "service"]),
)
def test_signatures_are_botocore_s(
    request: tuple[str, str, dict[str, str], bytes], token: str | None, region: str, service: str
) -> None:
    method, url, headers, body = request
    theirs = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    SigV4Auth(BotocoreCredentials("AKIDEXAMPLE", "a/secret+key", token), service, region).add_auth(theirs)
    stamp = theirs.headers["X-Amz-Date"]
    at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)

    ours = sign(
        method, url, headers, body, Credentials("AKIDEXAMPLE", "a/secret+key", token), region, service, at
    )

    assert ours["Authorization"] == theirs.headers["Authorization"]
    assert ours["X-Amz-Date"] == stamp
    assert ours.get("X-Amz-Security-Token") == theirs.headers.get("X-Amz-Security-Token")
