"""Story requests, responses and the shape asked of the model."""

from __future__ import annotations

from pydantic import Field

from contentgen.models.common import Language, Prompt, ReplyModel, RequestModel, ResponseModel, Segment, Style
from contentgen.models.usage import Usage, usage_field


class StorySegmentsRequest(RequestModel):
    prompt: Prompt
    segment_count: int = Field(6, ge=1, le=50, description="How many segments, 1 to 50.")
    style: Style | None = None
    language: Language = "en"


class StorySegmentsResponse(ResponseModel):
    title: str
    segments: list[Segment]
    model: str = Field(description="The model that wrote the story.")
    usage: Usage | None = usage_field()


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


class ChunkedStoryRequest(RequestModel):
    prompt: Prompt
    segment_count: int = Field(ge=1, le=200, description="How many segments in all, 1 to 200.")
    chunk_size: int = Field(10, ge=1, le=25, description="Segments generated per request, 1 to 25.")
    style: Style | None = None
    language: Language = "en"


class StorySetsRequest(RequestModel):
    prompt: Prompt
    set_count: int = Field(ge=1, le=10, description="How many alternative sets, 1 to 10.")
    segments_per_set: int = Field(ge=1, le=20, description="Segments in each set, 1 to 20.")
    style: Style | None = None
    language: Language = "en"


class StorySet(ResponseModel):
    index: int
    angle: str = Field(description="The take this set was asked to give on the prompt.")
    title: str
    segments: list[Segment]


class StorySetsResponse(ResponseModel):
    sets: list[StorySet]
    model: str
    usage: Usage | None = usage_field()


class CharacterSheet(ReplyModel):
    name: str = Field(min_length=1, max_length=80)
    look: str = Field(
        min_length=1,
        max_length=400,
        description="English: fixed visual traits to repeat in every visual_prompt (face, hair, build, clothing).",
    )
    role: str = Field(min_length=1, max_length=200)


class ChunkPlan(ReplyModel):
    summary: str = Field(min_length=1, max_length=600, description="What happens in this part of the story.")


class StoryOutline(ReplyModel):
    title: str = Field(min_length=1, max_length=200, description="In the requested language.")
    logline: str = Field(min_length=1, max_length=600)
    point_of_view: str = Field(min_length=1, max_length=100, description="e.g. third person, following Mara")
    tense: str = Field(min_length=1, max_length=50, description="e.g. past tense")
    setting: str = Field(min_length=1, max_length=400, description="English: the place and era, for visuals.")
    art_style: str = Field(
        min_length=1, max_length=200, description="English: one visual style for every shot."
    )
    characters: list[CharacterSheet] = Field(min_length=1, max_length=8)
    chunks: list[ChunkPlan] = Field(description="The arc split across the parts, in order.")


class ChunkReply(ReplyModel):
    segments: list[SegmentReply] = Field(description="This part's beats, continuing the story.")
    story_so_far: str = Field(
        min_length=1,
        max_length=1500,
        description="A summary of the whole story up to the end of this part: names, open threads, where we are.",
    )
