"""The envelope of event-triggered requests (SQS message bodies, EventBridge `detail`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

RequestId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$"),
    Field(description="The caller's id for the request: the idempotency key and the result's key."),
]


class GenerationMessage(BaseModel):
    """`{"request_id": ..., "request": {...}, "api_key_id"?: ...}`, or the request's fields beside
    `request_id`."""

    model_config = ConfigDict(extra="allow")

    request_id: RequestId
    request: dict[str, Any] | None = None
    # The API key id the request is charged to (contentgen.entrypoints.spend); else PIPELINE_API_KEY_ID.
    api_key_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None

    def body(self) -> dict[str, Any]:
        if self.request is not None:
            return self.request
        return dict(self.model_extra or {})
