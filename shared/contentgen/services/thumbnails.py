"""Thumbnails: one image, stored in S3, answered with a presigned URL."""

from __future__ import annotations

from typing import Any

from contentgen.config import get_settings
from contentgen.core.images import generate_image
from contentgen.models.media import ThumbnailRequest, ThumbnailResponse
from contentgen.prompts.media import thumbnail_prompt
from contentgen.storage import new_media_key, presigned_get_url, put_media


def generate_thumbnail(request: ThumbnailRequest) -> ThumbnailResponse:
    settings = get_settings()
    image = generate_image(
        thumbnail_prompt(request.prompt, request.character),
        aspect_ratio=request.aspect_ratio,
        models=settings.image_models,
    )
    key = new_media_key("thumbnails", image.mime_type)
    put_media(key, image.data, image.mime_type)
    return ThumbnailResponse(
        image_url=presigned_get_url(key),
        s3_key=key,
        content_type=image.mime_type,
        aspect_ratio=request.aspect_ratio,
        expires_in=settings.presigned_url_ttl_seconds,
        model=image.model,
    )


def fresh_thumbnail_url(status_code: int, body: Any) -> Any:
    """A thumbnail answer given again from the idempotency store (an `Idempotency-Key` repeat,
    kept `IDEMPOTENCY_TTL_SECONDS`, a day): `image_url` signed afresh for its `s3_key`, valid
    `expires_in` (`PRESIGNED_URL_TTL_SECONDS`) from now, since the stored URL expires after that
    time. Any other answer (an error) is given as stored."""
    if status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("s3_key"), str):
        return body
    return {
        **body,
        "image_url": presigned_get_url(body["s3_key"]),
        "expires_in": get_settings().presigned_url_ttl_seconds,
    }
