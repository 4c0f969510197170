"""Thumbnails and videos: requests and responses."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contentgen.models.common import Prompt, RequestModel, ResponseModel

AspectRatio = Literal["16:9", "9:16", "1:1"]


class ThumbnailRequest(RequestModel):
    prompt: Prompt
    aspect_ratio: AspectRatio = Field("9:16", description="16:9, 9:16 or 1:1; vertical by default.")


class ThumbnailResponse(ResponseModel):
    image_url: str = Field(description="Presigned GET URL, valid for expires_in seconds.")
    s3_key: str
    content_type: str
    aspect_ratio: AspectRatio
    expires_in: int
    model: str
