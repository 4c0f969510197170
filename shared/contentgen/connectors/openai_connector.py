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


def _retry_after(headers: object) -> float | None:
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = get(name)
        if raw:
            try:
                return float(raw) / scale
            except ValueError:
                continue  # an HTTP date: fall back to our own backoff
    return None


def classify_openai_error(exc: BaseException) -> ProviderFailure | None:
    """Map the SDK's exceptions to failure kinds; None for anything that is not a provider error."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderFailure(FailureKind.TIMEOUT)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderFailure(FailureKind.CONNECTION)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retry_after = _retry_after(exc.response.headers)
        if status == 429:
            return ProviderFailure(FailureKind.RATE_LIMITED, status, retry_after)
        if status in (401, 403):
            return ProviderFailure(FailureKind.AUTH, status)
        if status in (408, 409) or status >= 500:
            kind = FailureKind.TIMEOUT if status in (408, 504) else FailureKind.SERVER_ERROR
            return ProviderFailure(kind, status, retry_after)
        return ProviderFailure(FailureKind.REJECTED, status)
    return None


class _Connector:
    """Adapts the module-level functions to the retry policy's `Connector` protocol."""

    def get(self) -> OpenAI:
        return get_openai_client()

    def reset(self) -> None:
        reset_openai_client()


openrouter = ProviderCaller(PROVIDER, _Connector(), classify_openai_error)
