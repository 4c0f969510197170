"""Meme-format segments: setup, escalation, punchline beats with burnt-in captions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from contentgen.models.common import CharacterRef, Language, Prompt, ReplyModel, RequestModel, ResponseModel
from contentgen.models.schema import NON_BLANK, SoftMaxLength
from contentgen.models.usage import Usage, usage_field

Beat = Literal["setup", "escalation", "punchline"]
# Captions are read, not studied: one or two lines of about 40 characters.
CAPTION_MAX = 80


class MemeSegmentsRequest(RequestModel):
    prompt: Prompt
    segment_count: int = Field(4, ge=1, le=20, description="How many beats, 1 to 20.")
    language: Language = "en"
    character: CharacterRef | None = Field(
        None, description="Keep this character's look in every visual_prompt."
    )


class MemeSegment(ResponseModel):
    index: int
    beat: Beat
    text: str
    caption: str
    visual_prompt: str


class MemeSegmentsResponse(ResponseModel):
    segments: list[MemeSegment]
    model: str
    usage: Usage | None = usage_field()


def beat_at(position: int, count: int) -> Beat:
    """The beat that follows from a 1-based `position` among `count`: the first is the setup, the
    last the punchline, the rest escalation; a single beat is the punchline."""
    if position == count:
        return "punchline"
    return "setup" if position == 1 else "escalation"


class MemeBeatReply(ReplyModel):
    """One beat of the meme; which beat it is (setup, escalation, punchline) follows from its position."""

    text: Annotated[str, SoftMaxLength(300)] = Field(
        pattern=NON_BLANK, description="What is said or happens in this beat."
    )
    caption: Annotated[str, SoftMaxLength(CAPTION_MAX)] = Field(
        pattern=NON_BLANK,
        description="On-screen caption that reads in one glance: one or two lines of about 40 characters.",
    )
    visual_prompt: Annotated[str, SoftMaxLength(1200)] = Field(
        pattern=NON_BLANK, description="English, self-contained, vertical 9:16."
    )


class MemeReply(ReplyModel):
    segments: list[MemeBeatReply] = Field(
        description="The beats in order: setup first, escalation in between, punchline last."
    )
