"""Response shapes of the HTTP API that are not a service's own model: the error body, health and
stored results. They describe what `contentgen.entrypoints.api` and the routes answer; the OpenAPI document
(`local/openapi.py`, `openapi.json`) is generated from them and from the routes' own models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from contentgen.models.common import ResponseModel
from contentgen.models.usage import Usage


class FieldError(ResponseModel):
    """One offending field of a refused request."""

    field: str = Field(description="Dotted path of the field, e.g. `segment_count` or `character.name`.")
    message: str = Field(description="What is wrong with it.")


class ApiError(ResponseModel):
    """Every error answer: `{"message", "code", "status_code", "request_id", "errors"?, "partial"?,
    "usage"?}`.

    `code` is stable and machine-readable (`invalid_json`, `invalid_request`, `not_found`,
    `content_filtered`, `provider_error`, `provider_timeout`, `provider_rate_limited`, ...);
    `message` is for people. Errors raised by API Gateway itself (403 without a valid key, 429 over
    the usage plan) carry only `message`.
    """

    message: str = Field(description="What went wrong, for people (a refusal is in the provider's words).")
    code: str | None = Field(None, description="Stable machine-readable error code.")
    status_code: int | None = Field(None, description="The HTTP status, repeated for direct invocations.")
    request_id: str | None = Field(None, description="The request's id, to quote in a support request.")
    errors: list[FieldError] | None = Field(
        None,
        description="With 422 invalid_request: each offending field (at most the first 20, each "
        "field name cut to 200 and message to 500 characters).",
    )
    errors_not_listed: int | None = Field(
        None, description="How many more offending fields there were than `errors` lists."
    )
    partial: dict[str, Any] | None = Field(
        None, description="What was generated (and paid for) before a long request failed."
    )
    usage: Usage | None = Field(
        None,
        description="When provider requests were made before the failure: what they used and cost "
        "(charged to the key), the shape of a success answer's `usage`.",
    )
    unconfirmed_paid_work: bool | None = Field(
        None,
        description="True when paid provider work may have started and its result is unknown (a "
        "video start that timed out; its possible cost is in `usage`): it was not retried, to avoid "
        "paying twice, and this answer is kept under the request's Idempotency-Key (a new key "
        "starts new work).",
    )


class HealthReport(ResponseModel):
    """`GET /health`: `status` ok; `?deep=true` adds `checks` and `circuit_breakers` (503 degraded)."""

    status: Literal["ok", "degraded"]
    service: str | None = None
    version: str | None = None
    function_version: str | None = None
    configured: dict[str, Any] | None = Field(None, description="Which settings are present (never values).")
    models: dict[str, list[str]] | None = Field(
        None, description="Model lists per family, in fallback order."
    )
    checks: dict[str, Any] | None = Field(
        None, description="Deep only: each dependency's status and latency_ms."
    )
    circuit_breakers: dict[str, Any] | None = Field(None, description="Deep only: this container's breakers.")


class StoredResult(ResponseModel):
    """`GET /results/{request_id}`: the outcome of an event-triggered generation."""

    request_id: str
    route: str = Field(description="The route that ran, e.g. `POST /stories/segments`.")
    status: Literal["succeeded", "failed"]
    status_code: int = Field(description="The status the request was answered with.")
    created_at: int = Field(description="When the result was stored, Unix epoch seconds.")
    result: dict[str, Any] | None = Field(None, description="The route's success body, when succeeded.")
    error: dict[str, Any] | None = Field(None, description="The error body, when failed.")
