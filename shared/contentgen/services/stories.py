"""Short stories split into narrated segments."""

from __future__ import annotations

from contentgen.config import get_settings
from contentgen.core.structured import generate_structured
from contentgen.models.common import Segment
from contentgen.models.stories import StoryReply, StorySegmentsRequest, StorySegmentsResponse
from contentgen.prompts.stories import STORY_SYSTEM, story_user_prompt


def generate_story_segments(request: StorySegmentsRequest) -> StorySegmentsResponse:
    """A story for the prompt in exactly `segment_count` segments, indexed 1..N."""
    reply = generate_structured(
        StoryReply,
        system=STORY_SYSTEM,
        user=story_user_prompt(
            prompt=request.prompt,
            segment_count=request.segment_count,
            style=request.style,
            language=request.language,
        ),
        model=get_settings().text_model,
        lengths={"segments": request.segment_count},
        temperature=0.9,
    )
    return StorySegmentsResponse(
        title=reply.value.title,
        segments=[
            Segment(index=index, text=segment.text, visual_prompt=segment.visual_prompt)
            for index, segment in enumerate(reply.value.segments, start=1)
        ],
        model=reply.model,
    )
