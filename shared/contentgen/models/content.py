"""Free-form content."""

from __future__ import annotations

from pydantic import Field

from contentgen.models.common import Prompt, RequestModel, ResponseModel
from contentgen.models.usage import Usage, usage_field


class ContentRequest(RequestModel):
    prompt: Prompt
    max_tokens: int | None = Field(
        None, ge=1, le=4000, description="Passed through to the model, 1 to 4,000."
    )


class ContentResponse(ResponseModel):
    content: str
    model: str
    truncated: bool = Field(description="True when the model stopped at max_tokens.")
    usage: Usage | None = usage_field()
