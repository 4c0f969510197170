"""Character analysis from an image, through the vision model."""

from __future__ import annotations

from contentgen.config import get_settings
from contentgen.connectors.fetch_guard import check_fetchable
from contentgen.generation.structured import generate_structured
from contentgen.models.characters import (
    Character,
    CharacterAnalysisRequest,
    CharacterAnalysisResponse,
    CharacterReply,
)
from contentgen.prompts.characters import CHARACTER_SYSTEM, CHARACTER_USER


def analyze_character(request: CharacterAnalysisRequest) -> CharacterAnalysisResponse:
    """The image goes to the model as an image content part; contentgen never fetches a URL. An
    `image_url` must resolve to public addresses only (422 naming it, before any provider call)."""
    if request.image_url is not None:
        check_fetchable(request.image_url, field="image_url")
    reply = generate_structured(
        CharacterReply,
        system=CHARACTER_SYSTEM,
        user=[
            {"type": "text", "text": CHARACTER_USER},
            {"type": "image_url", "image_url": {"url": request.image_reference()}},
        ],
        models=get_settings().vision_models,
        temperature=0.2,
    )
    return CharacterAnalysisResponse(
        character=Character.model_validate(reply.value.model_dump()), model=reply.model
    )
