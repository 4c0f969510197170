"""Trending content ideas for a niche."""

from __future__ import annotations

from datetime import UTC, datetime

from contentgen.config import get_settings
from contentgen.generation.structured import generate_structured
from contentgen.models.ideas import Idea, IdeasReply, TrendingIdeasRequest, TrendingIdeasResponse
from contentgen.prompts.ideas import IDEAS_SYSTEM, ideas_user_prompt


def generate_trending_ideas(request: TrendingIdeasRequest) -> TrendingIdeasResponse:
    """`idea_count` ideas, asked to be distinct; a duplicate title is logged and counted
    (`SoftProblems`, see `IdeasReply.soft_problems`), not re-asked: the ideas were paid for."""
    reply = generate_structured(
        IdeasReply,
        system=IDEAS_SYSTEM,
        user=ideas_user_prompt(
            niche=request.niche,
            idea_count=request.idea_count,
            region=request.region,
            today=datetime.now(UTC).date().isoformat(),
            language=request.language,
        ),
        models=get_settings().text_models,
        lengths={"ideas": request.idea_count},
        temperature=0.9,
    )
    return TrendingIdeasResponse(
        ideas=[Idea.model_validate(idea.model_dump()) for idea in reply.value.ideas], model=reply.model
    )
