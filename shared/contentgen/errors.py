"""The layer's error hierarchy.

Every failure a caller can see is one of these; `contentgen.entrypoints.api` turns them into responses in
one place, by `status_code`. Messages are written for the caller: they name fields and SSM
parameters, never values of secrets, prompts or stack traces.
"""

from __future__ import annotations

from typing import Any


class ContentgenError(Exception):
    """Base class: an error with an HTTP status and a stable machine-readable code."""

    status_code = 500
    code = "internal_error"
    # True when paid provider work may have started and its result is unknown (a timed-out start
    # that was not retried): the answer says so and is kept under its key (contentgen.stores.idempotency).
    unconfirmed_paid_work = False
    # True when the request was refused before it was sent (nothing paid) for a reason time cures:
    # no request slot free in this container (contentgen.core.limiter). A durable job waits and
    # tries again (contentgen.services.durable.unsent_wait); so does any `CircuitOpenError`.
    not_sent = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        # What was already generated (and paid for) before the failure, returned with the error.
        self.partial: dict[str, Any] | None = None
        # What the invocation's provider requests cost when they were paid for (contentgen.entrypoints.spend).
        self.usage: dict[str, Any] | None = None

    def with_partial(self, partial: dict[str, Any]) -> ContentgenError:
        self.partial = partial
        return self


class InvalidRequestError(ContentgenError):
    """The request cannot be served as asked (checked after schema validation)."""

    status_code = 422
    code = "invalid_request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFoundError(ContentgenError):
    status_code = 404
    code = "not_found"


class ConflictError(ContentgenError):
    """An idempotency key reused for another request, or a request with that key still running."""

    status_code = 409
    code = "conflict"


class BadRequestError(ContentgenError):
    """The body cannot be read: not JSON, not UTF-8, invalid base64, or past the parsing bounds
    (`contentgen.entrypoints.request_body`). `code` says which (`invalid_json`, `invalid_encoding`)."""

    status_code = 400
    code = "invalid_json"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class PayloadTooLargeError(ContentgenError):
    """The body is over `contentgen.entrypoints.request_body.MAX_BODY_BYTES`."""

    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(ContentgenError):
    """The Content-Type is not JSON (application/json or a `+json` type)."""

    status_code = 415
    code = "unsupported_media_type"


class ConfigurationError(ContentgenError):
    """The function's environment is missing or malformed (names the variable)."""

    status_code = 503
    code = "configuration_error"


class SecretUnavailableError(ContentgenError):
    """An API key could not be read; names the SSM parameter or variable, never the value."""

    status_code = 503
    code = "secret_unavailable"


class ProviderError(ContentgenError):
    """A model provider failed in a way retries did not fix."""

    status_code = 502
    code = "provider_error"


class ProviderRateLimitedError(ProviderError):
    status_code = 503
    code = "provider_rate_limited"


class ProviderQuotaExhaustedError(ProviderRateLimitedError):
    """The provider's quota for a period longer than a retry can wait is used up (a Gemini 429
    RESOURCE_EXHAUSTED whose `google.rpc.QuotaFailure` names a per-day quota): 503 with a
    `Retry-After` until the quota resets. Not retried, not counted by the circuit breaker."""

    code = "provider_quota_exhausted"


class ProviderUnavailableError(ProviderError):
    """5xx answers or dropped connections."""

    status_code = 502
    code = "provider_unavailable"


class ProviderBusyError(ProviderUnavailableError):
    """A 5xx from the provider that named a wait (`Retry-After`, e.g. OpenRouter's 503 "no
    available provider"): 503 with that `Retry-After`, so callers come back after it."""

    status_code = 503


class ProviderTimeoutError(ProviderError):
    status_code = 504
    code = "provider_timeout"


class ModelUnavailableError(ProviderError):
    """The provider no longer serves the model (or never did): Google's 404 NOT_FOUND for a model
    ("Publisher Model ... was not found", "models/X is not found for API version v1beta"),
    OpenRouter's "No endpoints found for X." or "X is not a valid model ID". Not retried; the call
    policy moves to the next model of the chain and remembers the model for a while
    (`contentgen.core.retry`). When no model of the chain is left: 502 quoting the provider."""

    status_code = 502
    code = "model_unavailable"


class ProviderAuthError(ProviderError):
    """The provider rejected the API key, even after re-reading it from SSM."""

    status_code = 502
    code = "provider_rejected_credentials"


class ProviderRequestRejectedError(ProviderError):
    """The provider refused our request (a non-retryable 4xx other than auth)."""

    status_code = 502
    code = "provider_rejected_request"


class ModelRefusedRequestError(ProviderRequestRejectedError):
    """The model (every endpoint of it) cannot do this request as sent, though the model exists
    and another model may: OpenRouter's 404 "No endpoints found that can handle the requested
    parameters." or "... that support tool use", a 400 relaying the upstream's "Unsupported
    parameter: 'temperature' is not supported with this model." (`contentgen.connectors.model_gone`,
    `REFUSALS`). Not retried; the call policy moves to the next model of the chain (the model is
    not remembered: it serves other requests). When no model is left: 502 quoting the provider."""


class ModelNotAvailableToKeyError(ProviderError):
    """The provider serves the model, but not to this API key: a Gemini API free-tier key asking a
    paid-only model (429 "... doesn't have a free quota tier", a free-tier quota of `limit: 0`, or
    a 404 "is not found ... or is not supported for predictLongRunning" for a model that
    `models.get` lists; `contentgen.connectors.model_gone`, `REFUSALS`). Not retried and not
    remembered as gone (no `ModelUnavailable` count); the next model of the chain is tried. When
    none is left: 503 quoting the provider, final (no `Retry-After`: no wait helps until someone
    enables billing on the key's project or configures a model the key may use)."""

    status_code = 503
    code = "model_not_available_to_key"


class ContentFilteredError(ContentgenError):
    """The model or the provider's safety filter declined (422); the message carries the
    provider's own words. Retrying the same prompt will not help, so it is never retried."""

    status_code = 422
    code = "content_filtered"


class ContentModeratedError(ContentFilteredError):
    """OpenRouter's moderation flagged the input (HTTP 403 with `error.metadata.reasons`); the
    message names the reasons. Source: https://openrouter.ai/docs/api-reference/errors."""

    code = "content_moderated"


class ProviderInsufficientCreditsError(ProviderError):
    """The provider account is out of credits (OpenRouter HTTP 402), or the API key is over its
    credit limit (OpenRouter HTTP 403 "Key limit exceeded"): nothing is retried until someone adds
    credits or raises the limit; it carries no `Retry-After`. Sources:
    https://openrouter.ai/docs/api-reference/errors, https://openrouter.ai/docs/api-reference/limits
    ("Credit limits ... per-key credit caps")."""

    status_code = 503
    code = "provider_insufficient_credits"


# Server errors (5xx) that no retry fixes until a person acts (adds credits, raises a key's
# limit): the API's callers and the queues treat them as final.
FINAL_SERVER_ERROR_CODES = frozenset(
    {ProviderInsufficientCreditsError.code, ModelNotAvailableToKeyError.code}
)


class ModelOutputError(ProviderError):
    """The model's reply did not satisfy the schema, even after one re-ask."""

    status_code = 502
    code = "invalid_model_output"


class DeadlineExceededError(ProviderError):
    """Not enough of the Lambda's time was left to (re)try the provider."""

    status_code = 504
    code = "deadline_exceeded"


class CircuitOpenError(ProviderError):
    """A model's circuit breaker is open: the call was not made. `retry_after` is the cooldown left."""

    status_code = 503
    code = "provider_circuit_open"


class InputUnreachableError(ContentgenError):
    """The provider could not fetch an input the caller named by URL (OpenAI / OpenRouter 400
    "Error while downloading ...", code `invalid_image_url`; or what it fetched is not an image:
    "Provided image is not valid", "You uploaded an unsupported image"):
    422 naming the field (`image_url`), in the provider's words. The caller's URL, not the
    provider, is what failed, so it is neither retried nor counted by the circuit breaker."""

    status_code = 422
    code = "input_unreachable"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ForbiddenError(ContentgenError):
    """The request needs a valid API key (x-api-key) that it did not present."""

    status_code = 403
    code = "forbidden"


class IdempotencyUnavailableError(ContentgenError):
    """The idempotency table (DynamoDB) could not be read or written (throttling, an outage, a
    denied permission) before anything ran: no provider was called. A 503 with `Retry-After`
    over HTTP; an event's record fails and its queue delivers it again."""

    status_code = 503
    code = "idempotency_unavailable"
