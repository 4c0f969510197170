"""Thumbnails: one image, stored in S3, answered with a presigned URL."""

from __future__ import annotations

from contentgen.config import get_settings
from contentgen.generation.images import generate_image
from contentgen.models.media import ThumbnailRequest, ThumbnailResponse
from contentgen.prompts.media import thumbnail_prompt
from contentgen.stores.media import new_media_key, presigned_get_url, put_media


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
