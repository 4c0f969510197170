"""The model catalog's schema: what `models.json` may hold, validated once when it is loaded.

A catalog entry is one model id: its provider and API surface, what it can make (image aspect
ratios and sizes; video durations, resolutions, aspect ratios, reference images, audio; voices),
the request parameters it accepts, its list price where the provider reports none, and its
lifecycle (release, deprecation, shutdown, successor). Every fact names a source (a key of
`Catalog.sources`: a URL or a package file, and the date it was read).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Provider = Literal["openrouter", "google"]
Kind = Literal["text", "vision", "image", "video", "speech", "transcription"]
# openrouter_chat: POST /api/v1/chat/completions; generate_content: Gemini API or Vertex AI
# `:generateContent`; predict: Imagen `:predict`; predict_long_running: Veo `:predictLongRunning`;
# interactions: the Gemini API's Interactions API (`client.interactions`).
Surface = Literal["openrouter_chat", "generate_content", "predict", "predict_long_running", "interactions"]
Backend = Literal["openrouter", "gemini_api", "vertex_ai"]
Stage = Literal["preview", "ga", "deprecated", "shut_down"]
Status = Literal["live", "deprecated", "retiring", "shut_down"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Strict):
    """Where a fact comes from (a URL, or `pypi:package==version path`) and when it was read."""

    url: str
    read: date
    note: str = ""


class Price(_Strict):
    """USD list prices from `effective_from` (None: until the next entry). Media: per image (1K,
    or by `image_size`) or per second of video (or by resolution); tokens: per million."""

    effective_from: date | None = None
    per_image: Decimal | None = Field(None, ge=0)
    per_image_by_size: dict[str, Decimal] = Field(default_factory=dict)
    per_second: Decimal | None = Field(None, ge=0)
    per_second_by_resolution: dict[str, Decimal] = Field(default_factory=dict)
    input_per_million_tokens: Decimal | None = Field(None, ge=0)
    output_per_million_tokens: Decimal | None = Field(None, ge=0)
    audio_output_per_million_tokens: Decimal | None = Field(None, ge=0)
    sources: list[str]


class ImageCapabilities(_Strict):
    """Image config values the model takes (`imageConfig.aspectRatio`, `imageConfig.imageSize`)."""

    aspect_ratios: list[str]
    sizes: list[str]
    default_size: str
    max_reference_images: int = Field(ge=0)
    sources: list[str]


class VideoConstraint(_Strict):
    """Durations allowed only when the condition holds (e.g. Veo: 8 s at 1080p or with references)."""

    resolutions: list[str] = Field(default_factory=list)
    with_reference_images: bool = False
    with_first_last_frames: bool = False
    durations: list[int]


class VideoCapabilities(_Strict):
    """Durations (whole seconds), the bounds the provider states in its 400, resolutions, aspect
    ratios, reference images and native audio."""

    durations: list[int]
    duration_bounds: tuple[int, int]
    default_duration: int
    resolutions: list[str]
    default_resolution: str
    aspect_ratios: list[str]
    max_reference_images: int = Field(ge=0)
    audio: bool
    constraints: list[VideoConstraint] = Field(default_factory=list)
    sources: list[str]


class SpeechCapabilities(_Strict):
    """A text-to-speech model: its prebuilt voices, input limit and audio output format."""

    voices: list[str]
    default_voice: str
    languages: int
    max_input_tokens: int
    output: str
    sources: list[str]


class TranscriptionCapabilities(_Strict):
    """A speech-to-text model: word timings (for captions), speakers, language detection."""

    word_timestamps: bool
    diarization: bool
    language_detection: bool
    sources: list[str]


class Lifecycle(_Strict):
    """Release, deprecation and shutdown dates (None: not announced or not read) and the successor
    to move to, with the sources they were read from."""

    stage: Stage
    released: date | None = None
    deprecated: date | None = None
    shutdown: date | None = None
    successor: str | None = None
    sources: list[str]
    note: str = ""

    def status_on(self, day: date, horizon_days: int = 60) -> Status:
        """`shut_down` (on or after the shutdown date; with no date read, when the stage says so),
        `retiring` (shutdown within `horizon_days` of `day`), `deprecated` (a later shutdown, or the
        stage says so), `live`. A known date decides, so a past day sees the model as it was."""
        if self.shutdown is not None and self.shutdown <= day:
            return "shut_down"
        if self.shutdown is None and self.stage == "shut_down":
            return "shut_down"
        if self.shutdown is not None and (self.shutdown - day).days <= horizon_days:
            return "retiring"
        if self.stage == "deprecated" or self.shutdown is not None:
            return "deprecated"
        return "live"


class ModelEntry(_Strict):
    """One model id of the catalog."""

    id: str = Field(min_length=1)
    provider: Provider
    vendor: str
    kinds: list[Kind] = Field(min_length=1)
    surface: Surface
    backends: list[Backend] = Field(min_length=1)
    # Request parameters the model accepts (OpenRouter `supported_parameters` names for chat
    # models; request fields for Google's). Empty for retired ids: nothing may be sent to them.
    parameters: list[str] = Field(default_factory=list)
    parameters_source: str | None = None
    image: ImageCapabilities | None = None
    video: VideoCapabilities | None = None
    speech: SpeechCapabilities | None = None
    transcription: TranscriptionCapabilities | None = None
    prices: list[Price] = Field(default_factory=list)
    lifecycle: Lifecycle

    def price_on(self, day: date) -> Price | None:
        """The price in force on `day` (the latest entry whose `effective_from` is not after it)."""
        current = [p for p in self.prices if p.effective_from is None or p.effective_from <= day]
        return max(current, key=lambda p: p.effective_from or date.min, default=None)

    def accepts(self, parameter: str) -> bool:
        """Whether the model takes `parameter` (e.g. `temperature`) in a request."""
        return parameter in self.parameters


class DefaultChain(_Strict):
    """A use's default model and its fallbacks, in order."""

    model: str
    fallbacks: list[str] = Field(default_factory=list)


class Catalog(_Strict):
    """The whole catalog: when it was read, its sources, the recommended defaults, the models."""

    read_on: date
    notes: str = ""
    defaults: dict[str, DefaultChain]
    sources: dict[str, Source]
    models: list[ModelEntry]

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        ids = [entry.id for entry in self.models]
        duplicates = sorted({model for model in ids if ids.count(model) > 1})
        if duplicates:
            raise ValueError(f"duplicate model ids: {', '.join(duplicates)}")
        known = set(ids)
        for entry in self.models:
            cited = [*entry.lifecycle.sources, *(s for p in entry.prices for s in p.sources)]
            for caps in (entry.image, entry.video, entry.speech, entry.transcription):
                if caps is not None:
                    cited.extend(caps.sources)
            if entry.parameters_source:
                cited.append(entry.parameters_source)
            missing = sorted(set(cited) - set(self.sources))
            if missing:
                raise ValueError(f"{entry.id}: unknown sources {', '.join(missing)}")
            if entry.lifecycle.successor is not None and entry.lifecycle.successor not in known:
                raise ValueError(f"{entry.id}: successor {entry.lifecycle.successor} is not in the catalog")
        for use, chain in self.defaults.items():
            for model in (chain.model, *chain.fallbacks):
                if model not in known:
                    raise ValueError(f"defaults.{use}: {model} is not in the catalog")
        return self
