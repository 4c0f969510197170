"""`POST /shorts` and `GET /shorts/{short_id}`: one prompt to a narrated, captioned MP4 (issue 25)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from contentgen.models.characters import check_image_url
from contentgen.models.common import CharacterRef, Language, Prompt, RequestModel, ResponseModel, Style

ShortAspectRatio = Literal["9:16", "16:9", "1:1"]

# The captions and the title are burned in with DejaVu Sans Bold, the one font the FfmpegLayer
# ships (libass is given no other: `contentgen.assembly.toolchain`). It covers the Latin, Greek and
# Cyrillic scripts (DejaVu's coverage, https://dejavu-fonts.github.io/, fonts-dejavu-core 2.37),
# not Han, Kana, Hangul, Devanagari, Thai, Arabic or Hebrew shaping: those would be drawn as
# missing-glyph boxes. A short's language is one written in those scripts: its primary subtag here,
# or any language with an explicit `Latn`, `Grek` or `Cyrl` script subtag (`sr-Latn`, `zh-Latn`).
CAPTION_SCRIPTS = frozenset({"latn", "grek", "cyrl"})
CAPTION_LANGUAGES = frozenset(
    {
        # Latin script
        "af", "ast", "az", "br", "bs", "ca", "co", "cs", "cy", "da", "de", "en", "eo", "es", "et",
        "eu", "fi", "fil", "fo", "fr", "fy", "ga", "gd", "gl", "ha", "haw", "hr", "ht", "hu", "id",
        "ig", "is", "it", "jv", "ku", "la", "lb", "lt", "lv", "mg", "mi", "ms", "mt", "nb", "nl",
        "nn", "no", "oc", "pl", "pt", "qu", "rm", "ro", "rw", "sk", "sl", "sm", "sn", "so", "sq",
        "st", "su", "sv", "sw", "tk", "tl", "tn", "to", "tr", "uz", "vi", "wo", "xh", "yo", "zu",
        # Greek script
        "el",
        # Cyrillic script
        "ba", "be", "bg", "cv", "kk", "ky", "mk", "mn", "ru", "sr", "tg", "tt", "uk",
    }
)  # fmt: skip
ShortStatusName = Literal["pending", "running", "succeeded", "failed"]


class ShortRequest(RequestModel):
    """What a short is made from. `voice`: a prebuilt voice of the catalog's speech model (422
    naming the allowed ones otherwise, checked by `contentgen.services.shorts`). `clips`: false,
    stills with a slow pan or zoom; true, a generated video clip per segment (the video model
    chain of `POST /videos`) where the catalog says a model can make the segment's length at the
    aspect ratio and the clip is made within the budget, else that segment's still (the status's
    `parts.visuals` says which and why). `callback_url`: a public https URL
    (the same check as `image_url`), told of the outcome by a Standard Webhooks POST."""

    prompt: Prompt
    segment_count: int = Field(6, ge=3, le=10, description="How many segments (shots), 3 to 10.")
    aspect_ratio: ShortAspectRatio = Field(
        "9:16", description="9:16 (default), 16:9 or 1:1; 1080 px short side."
    )
    language: Language = "en"
    voice: str | None = Field(
        None, description="A prebuilt voice of the catalog's speech model; null: its default."
    )
    style: Style | None = None
    character: CharacterRef | None = Field(
        None, description="A character sheet (from POST /characters/analyze) kept in every image."
    )
    clips: bool = Field(
        False,
        description=(
            "false: stills with a slow pan or zoom; true: a generated video clip per segment where the "
            "video model can make its length and aspect ratio and the budget allows (else its still)."
        ),
    )
    silent_fallback: bool = Field(
        True,
        description="A narration that fails after retries leaves its segment silent instead of failing the short.",
    )
    callback_url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048)] | None = Field(
        None, description="Public https URL told of the outcome (Standard Webhooks signature)."
    )

    @field_validator("callback_url")
    @classmethod
    def _callback(cls, value: str | None) -> str | None:
        return None if value is None else check_image_url(value)

    @field_validator("language")
    @classmethod
    def _caption_language(cls, value: str) -> str:
        return check_caption_language(value)


def check_caption_language(tag: str) -> str:
    """`tag` when the burned-in captions can be drawn in its script (`CAPTION_LANGUAGES`, or an
    explicit Latn/Grek/Cyrl script subtag); ValueError (a 422 naming `language`) listing the
    languages allowed otherwise."""
    subtags = tag.lower().split("-")
    script = next((part for part in subtags[1:] if len(part) == 4 and part.isalpha()), None)
    if (script in CAPTION_SCRIPTS) if script is not None else (subtags[0] in CAPTION_LANGUAGES):
        return tag
    raise ValueError(
        "the captions can be drawn only in the Latin, Greek or Cyrillic script (the caption font "
        "is DejaVu Sans): give one of " + ", ".join(sorted(CAPTION_LANGUAGES)) + ", or a tag with "
        "a Latn, Grek or Cyrl script subtag (e.g. sr-Latn)"
    )


class ShortAccepted(ResponseModel):
    """202 for `POST /shorts`."""

    short_id: str
    status: ShortStatusName
    status_url: str
    estimate_usd: float | None = Field(
        None, description="The short's estimated cost, checked against the budget."
    )


class ShortUsage(ResponseModel):
    """What the short cost so far, by kind of work (USD; null where no price is known)."""

    text: float | None = None
    image: float | None = None
    voice: float | None = None
    video: float | None = None
    cost_usd: float | None = None
    provider_requests: int = 0


class SegmentVisual(ResponseModel):
    """What a segment shows: `clip` (a generated video clip: its `model` and `seconds`) or
    `still` (its image, slowly panned or zoomed); with `clips` asked, `reason` says why a segment
    kept its still (the model cannot make its length or aspect ratio, the clip failed, the
    budget refused it)."""

    kind: Literal["clip", "still"]
    model: str | None = None
    seconds: int | None = None
    reason: str | None = None


class ShortParts(ResponseModel):
    """The parts made so far, one entry per segment (null until it is done): presigned URLs
    (images, narrations, clips: null for a segment without one), what each segment shows
    (`visuals`), the captions and the story."""

    story: dict[str, object] | None = None
    images: list[str | None] = Field(default_factory=list)
    audio: list[str | None] = Field(default_factory=list)
    clips: list[str | None] = Field(default_factory=list)
    visuals: list[SegmentVisual | None] = Field(default_factory=list)
    captions: dict[str, str] | None = None


class ShortStatus(ResponseModel):
    """`GET /shorts/{short_id}`, for the key that paid (any other key: 404)."""

    short_id: str
    status: ShortStatusName
    step: str | None = None
    progress: float = Field(0.0, ge=0, le=1)
    segments_done: int = 0
    segments_total: int = 0
    usage: ShortUsage
    parts: ShortParts
    video_url: str | None = None
    captions_url: str | None = None
    duration_s: float | None = None
    error: str | None = None
    error_code: str | None = None


__all__ = ["SegmentVisual", "ShortAccepted", "ShortParts", "ShortRequest", "ShortStatus", "ShortUsage"]
