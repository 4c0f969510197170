"""Thumbnails: one image, stored in S3, answered with a presigned URL."""

from __future__ import annotations

from collections.abc import Sequence

from contentgen.catalog import image_violations
from contentgen.config import get_settings
from contentgen.errors import InvalidRequestError
from contentgen.generation.images import generate_image
from contentgen.models.media import ThumbnailRequest, ThumbnailResponse
from contentgen.prompts.media import thumbnail_prompt
from contentgen.stores.media import new_media_key, presigned_get_url, put_media


def capable_image_models(aspect_ratio: str, models: Sequence[str]) -> list[str]:
    """The models of the chain that can draw `aspect_ratio` (the model catalog's image config; a
    model it does not describe is kept), in order; `InvalidRequestError` (422) naming the field and
    the primary model's allowed values when none can, before anything is paid."""
    problems = {model: image_violations(model, aspect_ratio=aspect_ratio) for model in models}
    capable = [model for model in models if not problems[model]]
    if not capable:
        first = problems[models[0]][0]
        allowed = ", ".join(str(value) for value in first.allowed)
        raise InvalidRequestError(first.field, f"{models[0]} cannot make {first.value}; allowed: {allowed}")
    return capable


def generate_thumbnail(request: ThumbnailRequest) -> ThumbnailResponse:
    """Draw the thumbnail with the first image model of the chain that can, store it, and answer
    its presigned URL."""
    settings = get_settings()
    image = generate_image(
        thumbnail_prompt(request.prompt, request.character),
        aspect_ratio=request.aspect_ratio,
        models=capable_image_models(request.aspect_ratio, settings.image_models),
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
