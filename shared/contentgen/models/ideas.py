"""Trending content ideas for a niche."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from contentgen.models.common import ReplyModel, RequestModel, ResponseModel
from contentgen.models.usage import Usage, usage_field

Niche = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(description="The creator's niche, 1 to 200 characters."),
]
Region = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200),
    Field(description="Where the audience is, e.g. 'Brazil' or 'US', at most 200 characters."),
]
Format = Literal["story", "meme", "tutorial", "reaction", "listicle", "challenge", "behind-the-scenes"]


class TrendingIdeasRequest(RequestModel):
    niche: Niche
    idea_count: int = Field(5, ge=1, le=20, description="How many ideas, 1 to 20.")
    region: Region | None = None


class Idea(ResponseModel):
    title: str
    hook: str
    why_now: str
    format: Format


class TrendingIdeasResponse(ResponseModel):
    ideas: list[Idea]
    model: str
    usage: Usage | None = usage_field()


class IdeaReply(ReplyModel):
    title: str = Field(min_length=1, max_length=120)
    hook: str = Field(min_length=1, max_length=200, description="The first line a viewer hears.")
    why_now: str = Field(min_length=1, max_length=400, description="Why this works this week.")
    format: Format


def _normalised(title: str) -> str:
    return re.sub(r"[^\w]+", " ", title.casefold()).strip()


class IdeasReply(ReplyModel):
    ideas: list[IdeaReply]

    @model_validator(mode="after")
    def _no_duplicates(self) -> IdeasReply:
        seen: set[str] = set()
        for idea in self.ideas:
            key = _normalised(idea.title)
            if key in seen:
                raise ValueError(f"duplicate idea title: {idea.title!r}; every idea must be different")
            seen.add(key)
        return self
