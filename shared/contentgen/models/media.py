"""Thumbnails and videos: requests and responses."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contentgen.models.common import CharacterRef, Prompt, RequestModel, ResponseModel
from contentgen.models.usage import Usage, usage_field

AspectRatio = Literal["16:9", "9:16", "1:1"]


class ThumbnailRequest(RequestModel):
    prompt: Prompt
    aspect_ratio: AspectRatio = Field("9:16", description="16:9, 9:16 or 1:1; vertical by default.")
    character: CharacterRef | None = Field(None, description="Draw this character, with its look.")


class ThumbnailResponse(ResponseModel):
    image_url: str = Field(description="Presigned GET URL, valid for expires_in seconds.")
    s3_key: str
    content_type: str
    aspect_ratio: AspectRatio
    expires_in: int
    model: str
    usage: Usage | None = usage_field()


VideoAspectRatio = Literal["16:9", "9:16"]
JobStatus = Literal["pending", "running", "succeeded", "failed"]


class VideoRequest(RequestModel):
    prompt: Prompt
    aspect_ratio: VideoAspectRatio = Field("9:16", description="16:9 or 9:16; vertical by default.")
    duration_seconds: int = Field(
        8,
        ge=3,
        le=15,
        description="Length of the clip in whole seconds. The configured video model and its "
        "fallbacks decide what is allowed (the model catalog; `x-allowed-values` lists each "
        "backend's default chain), checked before anything is paid: 422 naming `duration_seconds` "
        "and the allowed values otherwise.",
    )


class VideoJobAccepted(ResponseModel):
    job_id: str
    status: JobStatus
    status_url: str = Field(description="GET this path for the job's status.")
    usage: Usage | None = usage_field()


class VideoJobStatus(ResponseModel):
    job_id: str
    status: JobStatus
    step: str | None = Field(
        None,
        description="Where the job is: queued, started, generating, storing, done or failed.",
    )
    progress: float = Field(0.0, ge=0, le=1, description="0 to 1; 1 once succeeded.")
    video_url: str | None = Field(None, description="Presigned GET URL, once succeeded.")
    error: str | None = Field(None, description="Why the job failed, once failed.")
    error_code: str | None = Field(
        None,
        description="Stable machine code of the failure: content_filtered (the provider's filter "
        "withheld the video; `error` quotes its reasons), provider_error (the provider's words in "
        "`error`), model_unavailable (the provider no longer serves the job's model; `error` quotes "
        "it), deadline_exceeded, unconfirmed_paid_work (the start may have begun unseen and be "
        "billed; it was not retried), or the provider's refusal code (invalid_request, "
        "provider_rejected_request, ...).",
    )
    created_at: int
    updated_at: int
    checks: int = Field(description="How many times the provider's operation was checked.")
    usage: Usage | None = Field(
        None,
        description="What starting the video cost and was charged (seconds x the model's price), on "
        "every status: a failed or filtered job stays charged (Google documents no refund).",
    )
