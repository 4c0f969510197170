"""Trending content ideas for a niche."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from contentgen.models.common import Language, ReplyModel, RequestModel, ResponseModel
from contentgen.models.schema import NON_BLANK, SoftMaxLength
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
    language: Language = "en"


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
    title: Annotated[str, SoftMaxLength(120)] = Field(pattern=NON_BLANK)
    hook: Annotated[str, SoftMaxLength(200)] = Field(
        pattern=NON_BLANK, description="The first line a viewer hears."
    )
    why_now: Annotated[str, SoftMaxLength(400)] = Field(
        pattern=NON_BLANK, description="Why this works this week."
    )
    format: Format


def _normalised(title: str) -> str:
    return re.sub(r"[^\w]+", " ", title.casefold()).strip()


class IdeasReply(ReplyModel):
    ideas: list[IdeaReply]

    def soft_problems(self) -> list[str]:
        """Titles that repeat an earlier one (case, spacing and punctuation ignored).

        Strict mode cannot say "titles differ" (`uniqueItems` is not among its keywords and would
        compare whole ideas), so a duplicate is reported, not re-asked: the ideas were paid for.
        """
        seen: set[str] = set()
        problems: list[str] = []
        for idea in self.ideas:
            key = _normalised(idea.title)
            if key in seen:
                problems.append(f"duplicate idea title: {idea.title!r}")
            seen.add(key)
        return problems
