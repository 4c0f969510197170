"""Story requests, responses and the shape asked of the model."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from contentgen.models.common import (
    CharacterRef,
    Language,
    Prompt,
    ReplyModel,
    RequestModel,
    ResponseModel,
    Segment,
    Style,
)
from contentgen.models.schema import NON_BLANK, SoftMaxLength
from contentgen.models.usage import Usage, usage_field


class StorySegmentsRequest(RequestModel):
    prompt: Prompt
    segment_count: int = Field(6, ge=1, le=50, description="How many segments, 1 to 50.")
    style: Style | None = None
    language: Language = "en"
    character: CharacterRef | None = Field(
        None, description="Keep this character's look in every visual_prompt."
    )


class StorySegmentsResponse(ResponseModel):
    title: str
    segments: list[Segment]
    model: str = Field(description="The model that wrote the story.")
    usage: Usage | None = usage_field()


class SegmentReply(ReplyModel):
    text: Annotated[str, SoftMaxLength(400)] = Field(
        pattern=NON_BLANK,
        description="Narration for this beat in the requested language: one or two sentences, 8 to 25 words.",
    )
    visual_prompt: Annotated[str, SoftMaxLength(1200)] = Field(
        pattern=NON_BLANK,
        description=(
            "English description of the shot for an image model, vertical 9:16, self-contained: repeat the "
            "character's look, the place and the art style instead of referring to other segments."
        ),
    )


class StoryReply(ReplyModel):
    title: Annotated[str, SoftMaxLength(200)] = Field(
        pattern=NON_BLANK, description="A short title in the requested language."
    )
    segments: list[SegmentReply] = Field(description="The story's beats in order; the first is the hook.")


class ChunkedStoryRequest(RequestModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: only its own function uses it

    prompt: Prompt
    segment_count: int = Field(ge=1, le=200, description="How many segments in all, 1 to 200.")
    chunk_size: int = Field(10, ge=1, le=25, description="Segments generated per request, 1 to 25.")
    style: Style | None = None
    language: Language = "en"
    character: CharacterRef | None = Field(
        None, description="Keep this character's look in every visual_prompt."
    )


class StorySetsRequest(RequestModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: only its own function uses it

    prompt: Prompt
    set_count: int = Field(ge=1, le=10, description="How many alternative sets, 1 to 10.")
    segments_per_set: int = Field(ge=1, le=20, description="Segments in each set, 1 to 20.")
    style: Style | None = None
    language: Language = "en"
    character: CharacterRef | None = Field(
        None, description="Keep this character's look in every visual_prompt."
    )


class StorySet(ResponseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: only its own function uses it

    index: int
    angle: str = Field(description="The take this set was asked to give on the prompt.")
    title: str
    segments: list[Segment]


class StorySetsResponse(ResponseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: only its own function uses it

    sets: list[StorySet]
    model: str
    usage: Usage | None = usage_field()


class CharacterSheet(ReplyModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: only its own function uses it

    name: Annotated[str, SoftMaxLength(80)] = Field(pattern=NON_BLANK)
    look: Annotated[str, SoftMaxLength(400)] = Field(
        pattern=NON_BLANK,
        description="English: fixed visual traits to repeat in every visual_prompt (face, hair, build, clothing).",
    )
    role: Annotated[str, SoftMaxLength(200)] = Field(pattern=NON_BLANK)


class ChunkPlan(ReplyModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: only its own function uses it

    summary: Annotated[str, SoftMaxLength(600)] = Field(
        pattern=NON_BLANK, description="What happens in this part of the story."
    )


class StoryOutline(ReplyModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: only its own function uses it

    title: Annotated[str, SoftMaxLength(200)] = Field(
        pattern=NON_BLANK, description="In the requested language."
    )
    logline: Annotated[str, SoftMaxLength(600)] = Field(pattern=NON_BLANK)
    point_of_view: Annotated[str, SoftMaxLength(100)] = Field(
        pattern=NON_BLANK, description="e.g. third person, following Mara"
    )
    tense: Annotated[str, SoftMaxLength(50)] = Field(pattern=NON_BLANK, description="e.g. past tense")
    setting: Annotated[str, SoftMaxLength(400)] = Field(
        pattern=NON_BLANK, description="English: the place and era, for visuals."
    )
    art_style: Annotated[str, SoftMaxLength(200)] = Field(
        pattern=NON_BLANK, description="English: one visual style for every shot."
    )
    characters: list[CharacterSheet] = Field(min_length=1, max_length=8)
    chunks: list[ChunkPlan] = Field(description="The arc split across the parts, in order.")


class ChunkReply(ReplyModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: only its own function uses it

    segments: list[SegmentReply] = Field(description="This part's beats, continuing the story.")
    story_so_far: Annotated[str, SoftMaxLength(1500)] = Field(
        pattern=NON_BLANK,
        description="A summary of the whole story up to the end of this part: names, open threads, where we are.",
    )
