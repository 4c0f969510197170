"""The Google GenAI client (`google-genai`), for images and videos.

The SDK's own switches are honoured as it reads them: `GOOGLE_GENAI_USE_VERTEXAI`,
`GOOGLE_CLOUD_PROJECT`, `GOOGLE_CLOUD_LOCATION`, `GOOGLE_GEMINI_BASE_URL`,
`GOOGLE_VERTEX_BASE_URL`. The key comes from SSM (Vertex AI takes it in express mode). Retry
options are set to a single attempt on purpose: the SDK does not read `Retry-After` nor know the
Lambda's deadline, so the layer's retry policy (`contentgen.core.retry`) does the retrying. The connection pool is
`contentgen.connectors.http`'s.
"""

from __future__ import annotations

import httpx2
from google import genai
from google.genai import errors, types

from contentgen.config import get_settings
from contentgen.connectors.http import pooled_transport
from contentgen.connectors.lazy import LazySingleton
from contentgen.core.retry import FailureKind, ProviderCaller, ProviderFailure
from contentgen.core.waits import retry_after_from_headers, retry_delay_from_google_error
from contentgen.secrets import GOOGLE_API_KEY, read_api_key

PROVIDER = "Google GenAI"


def _build_genai_client() -> genai.Client:
    settings = get_settings()
    return genai.Client(
        api_key=read_api_key(GOOGLE_API_KEY),
        http_options=types.HttpOptions(
            timeout=int(settings.provider_timeout_seconds * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
            client_args={"transport": pooled_transport(settings)},
        ),
    )


_client: LazySingleton[genai.Client] = LazySingleton(_build_genai_client)


def get_genai_client() -> genai.Client:
    """The container's google-genai client (built, and its key read, on first call)."""
    return _client.get()


def reset_genai_client() -> None:
    """Drop the client; the next `get_genai_client()` reads the key again and rebuilds."""
    _client.reset()


def classify_genai_error(exc: BaseException) -> ProviderFailure | None:
    """Map google-genai and transport exceptions to failure kinds; None if not a provider error.

    Google's error body (https://cloud.google.com/apis/design/errors) is `{"error": {"code",
    "message", "status", "details"}}`: the wait is the `google.rpc.RetryInfo` `retryDelay` in
    `details` (Gemini API 429s carry it, e.g. "36s") or a `Retry-After` / `retry-after-ms` header.
    401/403 are the key (rotation path); 400 INVALID_ARGUMENT / FAILED_PRECONDITION and other 4xx
    are our request. The message (`error.message`) is the provider's words.
    """
    if isinstance(exc, errors.APIError):
        status = exc.code
        headers = getattr(getattr(exc, "response", None), "headers", None)
        retry_after = retry_delay_from_google_error(exc.details)
        if retry_after is None:
            retry_after = retry_after_from_headers(headers)
        message = str(exc.message) if exc.message else None
        if status == 429:
            return ProviderFailure(FailureKind.RATE_LIMITED, status, retry_after, message)
        if status in (401, 403):
            return ProviderFailure(FailureKind.AUTH, status, message=message)
        if status in (408, 504):
            return ProviderFailure(FailureKind.TIMEOUT, status, message=message)
        if status >= 500:
            return ProviderFailure(FailureKind.SERVER_ERROR, status, retry_after, message)
        return ProviderFailure(FailureKind.REJECTED, status, message=message)
    if isinstance(exc, httpx2.TimeoutException):
        return ProviderFailure(FailureKind.TIMEOUT)
    if isinstance(exc, httpx2.TransportError):
        return ProviderFailure(FailureKind.CONNECTION)
    return None


class _Connector:
    def get(self) -> genai.Client:
        return get_genai_client()

    def reset(self) -> None:
        reset_genai_client()


google_genai = ProviderCaller(PROVIDER, _Connector(), classify_genai_error)
