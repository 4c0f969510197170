"""Field types shared by every request: the contract's bounds, enforced strictly (no coercion)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# `prompt` is 1 to 4,000 characters after trimming.
Prompt = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000),
    Field(description="What to generate, 1 to 4,000 characters after trimming."),
]
# `style` at most 200 characters.
Style = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200),
    Field(description="Tone or genre, e.g. 'cozy mystery', at most 200 characters."),
]
# A BCP 47 language tag such as `en`, `es-MX`, `pt-BR` (at most 200 characters).
Language = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=2,
        max_length=200,
        pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$",
    ),
    Field(description="BCP 47 language tag of everything a viewer hears or reads."),
]


class RequestModel(BaseModel):
    """Requests reject unknown fields and wrong types ('6' is not 6) with a 422 naming the field."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CharacterRef(RequestModel):
    """A character whose look is kept in every `visual_prompt`: the `character` object that
    `POST /characters/analyze` returns, or just its `name` and `visual_prompt`."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] | None = Field(
        None, description="The character's name, used in narration and prompts; null when unknown."
    )
    visual_prompt: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1200)] = (
        Field(
            description="English description of the character's look, carried verbatim into every visual_prompt."
        )
    )
    appearance: Annotated[str, StringConstraints(max_length=1200)] | None = None
    clothing: Annotated[str, StringConstraints(max_length=1200)] | None = None
    personality_cues: list[Annotated[str, StringConstraints(max_length=300)]] | None = Field(
        None, max_length=20
    )
    art_style: Annotated[str, StringConstraints(max_length=600)] | None = None


class ResponseModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReplyModel(BaseModel):
    """What a model is asked to return (strict JSON schema); extra keys are ignored.

    Validate here only what the strict schema sent can carry (types, enums, `pattern`, array
    sizes): a string's length is a `SoftMaxLength`, a check across items is a `soft_problems`
    entry. Patterns use Python's `re`, the dialect the schema is generated and tested with.
    """

    model_config = ConfigDict(extra="ignore", regex_engine="python-re")

    def soft_problems(self) -> list[str]:
        """What is wrong with an otherwise usable reply (logged and counted, never re-asked)."""
        return []


class Segment(ResponseModel):
    """One beat of a short video: `text` is narrated, `visual_prompt` is rendered on its own."""

    index: int = Field(ge=1, description="1-based position; runs 1..N in order.")
    text: str = Field(description="Narration, one or two sentences (about 8 to 25 words).")
    visual_prompt: str = Field(description="A self-contained English description an image model can render.")
