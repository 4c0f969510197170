"""Meme-format segments."""

from __future__ import annotations

from contentgen.config import get_settings
from contentgen.generation.structured import generate_structured
from contentgen.models.memes import (
    MemeReply,
    MemeSegment,
    MemeSegmentsRequest,
    MemeSegmentsResponse,
    beat_at,
)
from contentgen.prompts.characters import carry_look
from contentgen.prompts.memes import MEME_SYSTEM, meme_user_prompt


def generate_meme_segments(request: MemeSegmentsRequest) -> MemeSegmentsResponse:
    """Exactly `segment_count` beats from setup to punchline, each with a short caption.

    Each beat's label follows from its position (`beat_at`); the model is not asked for it.
    """
    reply = generate_structured(
        MemeReply,
        system=MEME_SYSTEM,
        user=meme_user_prompt(
            prompt=request.prompt,
            segment_count=request.segment_count,
            language=request.language,
            character=request.character,
        ),
        models=get_settings().text_models,
        lengths={"segments": request.segment_count},
        temperature=1.0,
    )
    return MemeSegmentsResponse(
        segments=[
            MemeSegment(
                index=index,
                beat=beat_at(index, len(reply.value.segments)),
                text=beat.text,
                caption=beat.caption,
                visual_prompt=carry_look(beat.visual_prompt, request.character),
            )
            for index, beat in enumerate(reply.value.segments, start=1)
        ],
        model=reply.model,
    )
