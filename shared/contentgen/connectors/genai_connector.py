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
    """Map google-genai and transport exceptions to failure kinds; None if not a provider error."""
    if isinstance(exc, errors.APIError):
        status = exc.code
        headers = getattr(getattr(exc, "response", None), "headers", None)
        raw = headers.get("retry-after") if headers is not None else None
        try:
            retry_after = float(raw) if raw else None
        except ValueError:
            retry_after = None
        if status == 429:
            return ProviderFailure(FailureKind.RATE_LIMITED, status, retry_after)
        if status in (401, 403):
            return ProviderFailure(FailureKind.AUTH, status)
        if status in (408, 504):
            return ProviderFailure(FailureKind.TIMEOUT, status)
        if status >= 500:
            return ProviderFailure(FailureKind.SERVER_ERROR, status, retry_after)
        return ProviderFailure(FailureKind.REJECTED, status)
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
