"""The OpenRouter client: the official `openai` SDK pointed at `OPENROUTER_BASE_URL`.

Importing this module imports the SDK (during Lambda's init phase); the client itself is built on
first use with the key from SSM. The SDK's own retries are off (`max_retries=0`): the
layer's retry policy (`contentgen.core.retry`) owns retries so that they honour `Retry-After` and
the Lambda's deadline. Every request gets its own timeout from that policy; the client's default
timeout is the ceiling for a single attempt. The connection pool is `contentgen.connectors.http`'s.
"""

from __future__ import annotations

import httpx2
import openai
from openai import OpenAI

from contentgen.config import get_settings
from contentgen.connectors.http import pooled_transport
from contentgen.connectors.lazy import LazySingleton
from contentgen.core.retry import FailureKind, ProviderCaller, ProviderFailure
from contentgen.core.waits import retry_after_from_headers
from contentgen.secrets import OPENROUTER_API_KEY, read_api_key

PROVIDER = "OpenRouter"


def _build_openai_client() -> OpenAI:
    settings = get_settings()
    timeout = httpx2.Timeout(
        settings.provider_timeout_seconds, connect=settings.provider_connect_timeout_seconds
    )
    return OpenAI(
        api_key=read_api_key(OPENROUTER_API_KEY),
        base_url=settings.openrouter_base_url,
        timeout=timeout,
        max_retries=0,
        http_client=openai.DefaultHttpxClient(transport=pooled_transport(settings), timeout=timeout),
        default_headers={
            "HTTP-Referer": settings.openrouter_app_url,
            "X-Title": settings.openrouter_app_title,
        },
    )


_client: LazySingleton[OpenAI] = LazySingleton(_build_openai_client)


def get_openai_client() -> OpenAI:
    """The container's OpenAI client for OpenRouter (built, and its key read, on first call)."""
    return _client.get()


def reset_openai_client() -> None:
    """Drop the client; the next `get_openai_client()` reads the key again and rebuilds."""
    _client.reset()


class OpenRouterBodyError(Exception):
    """A failure OpenRouter reported inside an HTTP 200: once a generation has started upstream,
    OpenRouter answers 200 and puts a later error in the body, as a top-level `error` object
    (`{"error": {"code": 502, "message": ..., "metadata": {...}}}`, no `choices`) or a choice with
    `finish_reason: "error"` and an `error` object (`code` may then be a string such as
    "server_error"); `choices` can also be empty. Source: https://openrouter.ai/docs/api-reference/errors
    ("Otherwise, the returned HTTP response status will be 200 and any error occurred while the LLM
    is producing the output will be emitted in the response body") and
    https://openrouter.ai/docs/api-reference/streaming ("Handling Errors During Streaming").

    Raised by the chat adapter (`contentgen.core.completions`), classified below like the HTTP
    status its `code` names, so the one call policy retries, counts and falls back on it.
    """

    def __init__(self, error: object, *, default_message: str) -> None:
        fields = error if isinstance(error, dict) else {}
        self.code: object = fields.get("code")
        message = fields.get("message")
        self.message = str(message) if message else default_message
        metadata = fields.get("metadata")
        self.metadata: dict[str, object] = metadata if isinstance(metadata, dict) else {}
        super().__init__(self.message)

    @property
    def status(self) -> int:
        """The HTTP status `code` stands for: a number as is; a string code ("server_error") or
        none at all is an upstream failure, 502 in OpenRouter's table."""
        code = self.code
        if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
            return code
        if isinstance(code, str) and code.isdigit() and 400 <= int(code) <= 599:
            return int(code)
        if isinstance(code, str) and "rate" in code.lower():
            return 429
        return 502


def _error_fields(body: object) -> tuple[str | None, dict[str, object]]:
    """The `message` and `metadata` of an OpenRouter error object (the SDK hands over `error`)."""
    if not isinstance(body, dict):
        return None, {}
    message = body.get("message")
    metadata = body.get("metadata")
    return (str(message) if message else None), (metadata if isinstance(metadata, dict) else {})


def failure_for_status(
    status: int, *, retry_after: float | None, message: str | None, metadata: dict[str, object]
) -> ProviderFailure:
    """OpenRouter's status codes as its docs define them (https://openrouter.ai/docs/api-reference/errors):
    401 invalid key (the key-rotation path), 402 out of credits (final, no key reset), 403 input
    flagged by moderation (`metadata.reasons`; final, no key reset), 408 timeout, 429 rate limited,
    502 model down, 503 no provider meets the routing requirements; other 4xx: our request."""
    if status == 429:
        return ProviderFailure(FailureKind.RATE_LIMITED, status, retry_after, message)
    if status == 401:
        return ProviderFailure(FailureKind.AUTH, status, message=message)
    if status == 402:
        return ProviderFailure(FailureKind.INSUFFICIENT_CREDITS, status, retry_after, message)
    if status == 403:
        raw_reasons = metadata.get("reasons")
        reasons = tuple(str(r) for r in raw_reasons) if isinstance(raw_reasons, list) else ()
        return ProviderFailure(FailureKind.MODERATED, status, message=message, reasons=reasons)
    if status in (408, 409) or status >= 500:
        kind = FailureKind.TIMEOUT if status in (408, 504) else FailureKind.SERVER_ERROR
        return ProviderFailure(kind, status, retry_after, message)
    return ProviderFailure(FailureKind.REJECTED, status, message=message)


def classify_openai_error(exc: BaseException) -> ProviderFailure | None:
    """Map the SDK's exceptions (and failures reported in a 200's body) to failure kinds; None for
    anything that is not a provider error. Waits come from `retry-after-ms` / `Retry-After`."""
    if isinstance(exc, OpenRouterBodyError):
        return failure_for_status(exc.status, retry_after=None, message=exc.message, metadata=exc.metadata)
    if isinstance(exc, openai.APITimeoutError):
        return ProviderFailure(FailureKind.TIMEOUT)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderFailure(FailureKind.CONNECTION)
    if isinstance(exc, openai.APIStatusError):
        message, metadata = _error_fields(exc.body)
        return failure_for_status(
            exc.status_code,
            retry_after=retry_after_from_headers(exc.response.headers),
            message=message,
            metadata=metadata,
        )
    return None


class _Connector:
    """Adapts the module-level functions to the retry policy's `Connector` protocol."""

    def get(self) -> OpenAI:
        return get_openai_client()

    def reset(self) -> None:
        reset_openai_client()


openrouter = ProviderCaller(PROVIDER, _Connector(), classify_openai_error)
