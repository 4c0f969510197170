"""Generated media in S3: non-guessable keys, content types, short-lived presigned GET URLs."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from contentgen.clients.aws import get_s3_client
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "video/mp4": "mp4"}


def media_bucket() -> str:
    bucket = get_settings().media_bucket
    if bucket is None:
        raise ConfigurationError("service misconfigured: environment variable MEDIA_BUCKET is not set")
    return bucket


def new_media_key(kind: str, content_type: str) -> str:
    """`<kind>/<yyyy>/<mm>/<dd>/<128 random bits>.<ext>`: listable by date, not guessable."""
    day = datetime.now(UTC).strftime("%Y/%m/%d")
    return f"{kind}/{day}/{secrets.token_urlsafe(16)}.{_EXTENSIONS.get(content_type, 'bin')}"


def put_media(key: str, data: bytes, content_type: str) -> None:
    get_s3_client().put_object(Bucket=media_bucket(), Key=key, Body=data, ContentType=content_type)


def get_media(key: str) -> bytes:
    """The stored bytes of `key` (the role's `s3:GetObject`); botocore's ClientError when absent."""
    answer = get_s3_client().get_object(Bucket=media_bucket(), Key=key)
    data: bytes = answer["Body"].read()
    return data


# HEAD's answers for a key that is not there: 404, or 403 when the caller may not list the bucket.
_ABSENT = frozenset({"404", "NoSuchKey", "NotFound", "403", "AccessDenied", "Forbidden"})


def media_exists(key: str) -> bool:
    """Whether `key` is stored in the media bucket (one HEAD, the role's `s3:GetObject`).

    S3 answers a HEAD of a missing key 404 only to a caller allowed `s3:ListBucket` on the bucket,
    else 403 ("HeadObject", Amazon S3 API Reference: "If you don't have the s3:ListBucket
    permission, Amazon S3 returns an HTTP status code 403 Forbidden error"). The roles hold no
    ListBucket (it would reveal every key), so a 403 is taken as absent: the caller then writes the
    object, which fails loudly if the role really may not. Raises botocore's ClientError otherwise.
    """
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    try:
        get_s3_client().head_object(Bucket=media_bucket(), Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _ABSENT:
            return False
        raise
    return True


def presigned_get_url(key: str) -> str:
    url: str = get_s3_client().generate_presigned_url(
        "get_object",
        Params={"Bucket": media_bucket(), "Key": key},
        ExpiresIn=get_settings().presigned_url_ttl_seconds,
    )
    return url


def fresh_thumbnail_url(status_code: int, body: Any) -> Any:
    """A stored thumbnail answer given again (an `Idempotency-Key` repeat, kept
    `IDEMPOTENCY_TTL_SECONDS`; or `GET /results/{request_id}` of a queued request, kept
    `RESULT_TTL_DAYS`): `image_url` signed afresh for its `s3_key`, valid `expires_in`
    (`PRESIGNED_URL_TTL_SECONDS`) from now, since the stored URL expires after that time. Any other
    answer (an error) is given as stored. Signing makes no AWS call; the URL works while the
    signer's role may `s3:GetObject` the key."""
    if status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("s3_key"), str):
        return body
    return {
        **body,
        "image_url": presigned_get_url(body["s3_key"]),
        "expires_in": get_settings().presigned_url_ttl_seconds,
    }
