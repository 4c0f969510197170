"""What the contentgen API answers, as typed models.

The models accept fields they do not know (a newer server may add some), so an older client keeps
working; `usage` is present on success answers of servers that report it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Usage(Model):
    """What a request cost: the model that answered, tokens, provider requests and USD (or None)."""

    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    provider_requests: int | None = None
    cost_usd: float | None = None


class Answer(Model):
    """A success answer; `usage` when the server reports it."""

    usage: Usage | None = None


class Segment(Model):
    index: int
    text: str
    visual_prompt: str


class StoryResponse(Answer):
    title: str
    segments: list[Segment]
    model: str


class StorySet(Model):
    index: int
    angle: str
    title: str
    segments: list[Segment]


class StorySetsResponse(Answer):
    sets: list[StorySet]
    model: str


class MemeSegment(Model):
    index: int
    beat: Literal["setup", "escalation", "punchline"]
    text: str
    caption: str
    visual_prompt: str


class MemeResponse(Answer):
    segments: list[MemeSegment]
    model: str


class ContentResponse(Answer):
    content: str
    model: str
    truncated: bool


class Idea(Model):
    title: str
    hook: str
    why_now: str
    format: str


class IdeasResponse(Answer):
    ideas: list[Idea]
    model: str


class Character(Model):
    """What `/characters/analyze` returns; pass it (or just name and visual_prompt) back as `character`."""

    name: str | None = None
    appearance: str | None = None
    clothing: str | None = None
    personality_cues: list[str] | None = None
    art_style: str | None = None
    visual_prompt: str


class CharacterResponse(Answer):
    character: Character
    model: str


class ThumbnailResponse(Answer):
    image_url: str
    s3_key: str
    content_type: str
    aspect_ratio: str
    expires_in: int
    model: str


JobStatus = Literal["pending", "running", "succeeded", "failed"]


class VideoJobAccepted(Answer):
    job_id: str
    status: JobStatus
    status_url: str


class VideoJobStatus(Answer):
    job_id: str
    status: JobStatus
    step: str | None = None  # queued, started, generating, storing, done, failed
    progress: float = 0.0  # 0..1
    video_url: str | None = None
    error: str | None = None
    error_code: str | None = None
    created_at: int
    updated_at: int
    checks: int = 0

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")


class ShortAccepted(Answer):
    short_id: str
    status: JobStatus
    status_url: str
    estimate_usd: float | None = None


class ShortUsage(Model):
    text: float | None = None
    image: float | None = None
    voice: float | None = None
    video: float | None = None
    cost_usd: float | None = None
    provider_requests: int = 0


class SegmentVisual(Model):
    kind: str  # clip or still
    model: str | None = None
    seconds: int | None = None
    reason: str | None = None  # why a segment kept its still when clips were asked


class ShortParts(Model):
    story: dict[str, Any] | None = None
    images: list[str | None] = []
    audio: list[str | None] = []
    clips: list[str | None] = []
    visuals: list[SegmentVisual | None] = []
    captions: dict[str, str] | None = None


class ShortStatus(Model):
    short_id: str
    status: JobStatus
    step: str | None = None  # queued, started, story, segments, assembling, done, failed
    progress: float = 0.0  # 0..1
    segments_done: int = 0
    segments_total: int = 0
    usage: ShortUsage = ShortUsage()
    parts: ShortParts = ShortParts()
    video_url: str | None = None
    captions_url: str | None = None
    duration_s: float | None = None
    error: str | None = None
    error_code: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")


class StoredResult(Model):
    request_id: str
    route: str
    status: Literal["succeeded", "failed"]
    status_code: int
    created_at: int
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class FunctionSpend(Model):
    """One function's requests and USD within a day (or the 30 days)."""

    requests: int = 0
    cost_usd: float = 0.0


class DaySpend(Model):
    """A key's spend over one UTC day (`day`, YYYY-MM-DD) or, in `last_30_days`, from that day on."""

    day: str
    requests: int = 0
    provider_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    functions: dict[str, FunctionSpend] = Field(default_factory=dict)


class UsageReport(Model):
    """GET /usage: the calling key's spend today and over the last 30 days, and its budget (USD)."""

    api_key_id: str
    day: str
    daily_budget_usd: float
    remaining_today_usd: float
    today: DaySpend
    last_30_days: DaySpend
    days: list[DaySpend] = Field(default_factory=list)


class HealthReport(Model):
    status: str
    version: str | None = None
    function_version: str | None = None
    models: dict[str, list[str]] | None = None
    providers: dict[str, str] | None = Field(None, description='who answers: "emulator" on the local stack')
    checks: dict[str, Any] | None = Field(None, description="deep=true only")
