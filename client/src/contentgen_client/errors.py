"""Typed errors: each carries the API's `code`, `status_code`, `message` and `request_id`.

| class | when |
| --- | --- |
| `InvalidRequestError` | 400 / 415 / 422 `invalid_request`: fix the request (`errors` names the fields) |
| `ContentFilteredError` | 422 `content_filtered`: the model or safety filter declined |
| `AuthenticationError` | 403: missing or unknown API key |
| `NotFoundError` | 404: no such job, result or route |
| `ConflictError` | 409: the Idempotency-Key was used for another request |
| `RateLimitedError` | 429 from the gateway, after the client's own retries |
| `ServerError` | 5xx: the provider failed (502), is unavailable (503) or timed out (504) |
| `ConnectionFailedError` | the API could not be reached |
| `JobFailedError`, `WaitTimeoutError` | `wait_for_video`: the job failed / did not finish in time |
"""

from __future__ import annotations

from typing import Any


class ContentgenError(Exception):
    """Base class of every error the client raises."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        partial: dict[str, Any] | None = None,
        retry_after: float | None = None,
        retry_at: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # Seconds to wait before sending again (`Retry-After`), and when that is (epoch seconds)
        # once the client has decided not to wait it.
        self.retry_after = retry_after
        self.retry_at = retry_at
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.errors = errors or []
        self.partial = partial

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.append(f"(HTTP {self.status_code}{', ' + self.code if self.code else ''})")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)


class ApiError(ContentgenError):
    """The API answered with an error status."""


class ClientError(ApiError):
    """4xx: the request needs to change."""


class InvalidRequestError(ClientError):
    pass


class ContentFilteredError(ClientError):
    pass


class AuthenticationError(ClientError):
    pass


class NotFoundError(ClientError):
    pass


class ConflictError(ClientError):
    pass


class RateLimitedError(ClientError):
    pass


class ServerError(ApiError):
    """5xx: the provider or the service failed; retrying later may succeed."""


class ConnectionFailedError(ContentgenError):
    """The API could not be reached (DNS, refused, reset, timeout)."""


class JobFailedError(ContentgenError):
    """A video job ended `failed`."""


class WaitTimeoutError(ContentgenError):
    """A video job did not finish within the wait."""


def error_for(status: int, body: Any, retry_after: float | None) -> ApiError:
    """The typed error for an error answer (`body` is the decoded JSON, or text)."""
    data = body if isinstance(body, dict) else {}
    message = str(data.get("message") or body or f"HTTP {status}")
    code = data.get("code")
    kwargs: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "request_id": data.get("request_id"),
        "errors": data.get("errors"),
        "partial": data.get("partial"),
        "retry_after": retry_after,
    }
    if status >= 500:
        return ServerError(message, **kwargs)
    if code == "content_filtered":
        return ContentFilteredError(message, **kwargs)
    kind: type[ApiError] = {
        401: AuthenticationError,
        403: AuthenticationError,
        404: NotFoundError,
        409: ConflictError,
        429: RateLimitedError,
    }.get(status, InvalidRequestError if status in (400, 413, 415, 422) else ClientError)
    return kind(message, **kwargs)
