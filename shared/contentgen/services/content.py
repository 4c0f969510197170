"""Free-form content: plain text, no schema."""

from __future__ import annotations

from contentgen.config import get_settings
from contentgen.core.completions import complete_chat
from contentgen.errors import ModelOutputError
from contentgen.models.content import ContentRequest, ContentResponse
from contentgen.prompts.content import content_system_prompt


def generate_content(request: ContentRequest) -> ContentResponse:
    models = get_settings().text_models
    result = complete_chat(
        [
            {"role": "system", "content": content_system_prompt(language=request.language)},
            {"role": "user", "content": request.prompt},
        ],
        models=models,
        max_tokens=request.max_tokens,
        temperature=0.8,
    )
    content = result.content.strip()
    if not content:
        raise ModelOutputError(f"{result.model} returned no content")
    return ContentResponse(content=content, model=result.model, truncated=result.finish_reason == "length")
