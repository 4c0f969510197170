"""Meme-format segments: setup, escalation, punchline beats with burnt-in captions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from contentgen.models.common import Prompt, ReplyModel, RequestModel, ResponseModel
from contentgen.models.usage import Usage, usage_field

Beat = Literal["setup", "escalation", "punchline"]
# Captions are read, not studied: one or two lines of about 40 characters.
CAPTION_MAX = 80


class MemeSegmentsRequest(RequestModel):
    prompt: Prompt
    segment_count: int = Field(4, ge=1, le=20, description="How many beats, 1 to 20.")


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


class MemeBeatReply(ReplyModel):
    beat: Beat = Field(description="setup first, escalation in between, punchline last")
    text: str = Field(min_length=1, max_length=300, description="What is said or happens in this beat.")
    caption: str = Field(
        min_length=1,
        max_length=CAPTION_MAX,
        description=f"On-screen caption, at most {CAPTION_MAX} characters (two lines of 40).",
    )
    visual_prompt: str = Field(
        min_length=1, max_length=1200, description="English, self-contained, vertical 9:16."
    )


class MemeReply(ReplyModel):
    segments: list[MemeBeatReply]

    @model_validator(mode="after")
    def _setup_to_punchline(self) -> MemeReply:
        beats = [segment.beat for segment in self.segments]
        if not beats:
            return self
        if beats[-1] != "punchline":
            raise ValueError("the last beat must be the punchline")
        if len(beats) > 1 and beats[0] != "setup":
            raise ValueError("the first beat must be the setup")
        if "punchline" in beats[:-1]:
            raise ValueError("only the last beat is the punchline")
        return self
