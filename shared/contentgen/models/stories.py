"""Story requests, responses and the shape asked of the model."""

from __future__ import annotations

from pydantic import Field

from contentgen.models.common import Language, Prompt, ReplyModel, RequestModel, ResponseModel, Segment, Style


class StorySegmentsRequest(RequestModel):
    prompt: Prompt
    segment_count: int = Field(6, ge=1, le=50, description="How many segments, 1 to 50.")
    style: Style | None = None
    language: Language = "en"


class StorySegmentsResponse(ResponseModel):
    title: str
    segments: list[Segment]
    model: str = Field(description="The model that wrote the story.")


class SegmentReply(ReplyModel):
    text: str = Field(
        min_length=1,
        max_length=400,
        description="Narration for this beat in the requested language: one or two sentences, 8 to 25 words.",
    )
    visual_prompt: str = Field(
        min_length=1,
        max_length=1200,
        description=(
            "English description of the shot for an image model, vertical 9:16, self-contained: repeat the "
            "character's look, the place and the art style instead of referring to other segments."
        ),
    )


class StoryReply(ReplyModel):
    title: str = Field(min_length=1, max_length=200, description="A short title in the requested language.")
    segments: list[SegmentReply] = Field(description="The story's beats in order; the first is the hook.")
