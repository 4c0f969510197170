"""contentgen.stores.media: what a HEAD of a media key answers, as S3 answers it to the roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from contentgen.stores import media


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    monkeypatch.setenv("MEDIA_BUCKET", "media")
    client: Any = boto3.client("s3", region_name="us-east-1")
    monkeypatch.setattr(media, "get_s3_client", lambda: client)
    with Stubber(client) as stubber:
        yield stubber


def _head_error(stubber: Stubber, status: int, code: str) -> None:
    stubber.add_client_error(
        "head_object",
        service_error_code=code,
        http_status_code=status,
        expected_params={"Bucket": "media", "Key": "videos/2026/12/01/a.mp4"},
    )


def test_a_stored_key_exists(s3: Stubber) -> None:
    s3.add_response("head_object", {}, {"Bucket": "media", "Key": "videos/2026/12/01/a.mp4"})

    assert media.media_exists("videos/2026/12/01/a.mp4")


@pytest.mark.parametrize(("status", "code"), [(404, "404"), (403, "403")])
def test_a_missing_key_is_absent_whether_s3_answers_404_or_403(s3: Stubber, status: int, code: str) -> None:
    """403: S3's answer for a missing key to a role without s3:ListBucket, which no role holds."""
    _head_error(s3, status, code)

    assert not media.media_exists("videos/2026/12/01/a.mp4")


def test_any_other_error_is_raised(s3: Stubber) -> None:
    _head_error(s3, 503, "SlowDown")

    with pytest.raises(ClientError):
        media.media_exists("videos/2026/12/01/a.mp4")
