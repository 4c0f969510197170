"""Free-form content: plain text, no schema."""

from __future__ import annotations

from contentgen.config import get_settings
from contentgen.errors import InvalidRequestError, ModelOutputError
from contentgen.generation.completions import complete_chat
from contentgen.models.content import ContentRequest, ContentResponse
from contentgen.prompts.content import content_system_prompt


def generate_content(request: ContentRequest) -> ContentResponse:
    """The model's text for `request`.

    Raises `InvalidRequestError` (422, field `max_tokens`) when the reply was cut at the caller's
    `max_tokens` before any content, `ModelOutputError` (502) for an empty reply otherwise, and the
    call policy's errors.
    """
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
    if not content and result.finish_reason == "length":
        # A reasoning model can spend the whole budget thinking (`finish_reason: "length"`, empty
        # `content`, the thought in `reasoning`: https://openrouter.ai/docs/use-cases/reasoning-tokens).
        if request.max_tokens is not None:
            raise InvalidRequestError(
                "max_tokens",
                f"{result.model} used all max_tokens={request.max_tokens} before writing any content "
                "(reasoning models spend tokens thinking first); raise max_tokens or leave it out",
            )
        raise ModelOutputError(
            f"{result.model} reached its own token limit (finish_reason length) before writing any content"
        )
    if not content:
        raise ModelOutputError(f"{result.model} returned no content")
    return ContentResponse(content=content, model=result.model, truncated=result.finish_reason == "length")
