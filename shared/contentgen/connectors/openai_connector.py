"""The OpenRouter client: the official `openai` SDK pointed at `OPENROUTER_BASE_URL`.

Importing this module imports the SDK (during Lambda's init phase); the client itself is built on
first use with the key from SSM. The SDK's own retries are off (`max_retries=0`): the
layer's retry policy (`contentgen.core.retry`) owns retries so that they honour `Retry-After` and
the Lambda's deadline. Every request gets its own timeout from that policy; the client's default
timeout is the ceiling for a single attempt. The connection pool is `contentgen.connectors.http`'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace

import httpx2
import openai
from openai import OpenAI

from contentgen.clients.lazy import LazySingleton
from contentgen.clients.secrets import OPENROUTER_API_KEY, read_ahead, read_api_key
from contentgen.config import get_settings
from contentgen.connectors.http import pooled_transport
from contentgen.connectors.transport import transport_failure
from contentgen.core.retry import FailureKind, ProviderCaller, ProviderFailure
from contentgen.core.waits import rate_limit_reset, retry_after_from_headers
from contentgen.errors import ContentgenError
from contentgen.observability import logger

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

    Raised by the chat adapter (`contentgen.generation.completions`), classified below like the HTTP
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


class OpenRouterMalformedReply(Exception):
    """An HTTP 200 whose body is not a chat completion: not JSON (an HTML page from a proxy, which
    the `openai` SDK hands back as the body's text: `openai._response.BaseAPIResponse._parse`
    returns `response.text` for a non-JSON Content-Type), or JSON of another shape. Classified as
    a provider server error (retried, counted by the breaker, fallen back on). `message` quotes the
    start of what was received."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# How much of an unreadable body is quoted (log line and, clipped again, the caller's message).
_RECEIVED_CHARS = 200


def malformed_reply(received: object) -> OpenRouterMalformedReply:
    """The error for a 200 whose parsed body (`received`) is not a chat completion."""
    if isinstance(received, str):
        return OpenRouterMalformedReply(
            f"the HTTP 200 reply is not JSON: {received.strip()[:_RECEIVED_CHARS]}"
        )
    return OpenRouterMalformedReply(
        f"the HTTP 200 reply is not a chat completion: {str(received)[:_RECEIVED_CHARS]}"
    )


def _error_fields(body: object) -> tuple[str | None, dict[str, object]]:
    """The `message` and `metadata` of an OpenRouter error object (the SDK hands over `error`)."""
    if not isinstance(body, dict):
        return None, {}
    message = body.get("message")
    metadata = body.get("metadata")
    fields: dict[str, object] = dict(metadata) if isinstance(metadata, dict) else {}
    if isinstance(body.get("code"), str):  # OpenAI's own error code (`invalid_image_url`)
        fields.setdefault("code", body["code"])
    return (str(message) if message else None), fields


# A 403 is a moderation flag when it carries what OpenRouter's moderation errors carry
# (`metadata.reasons`, `metadata.flagged_input`) or says so; a 403 naming a key's credit limit
# ("Key limit exceeded (monthly limit). Manage it using https://openrouter.ai/settings/keys",
# https://github.com/gptme/gptme/issues/1449, RooCodeInc/Roo-Code#515) is the account's money.
_MODERATION_WORDS = ("moderation", "flagged")
_CREDIT_LIMIT_WORDS = ("key limit", "credit limit", "limit exceeded", "credits")


def _forbidden(message: str | None, metadata: dict[str, object]) -> ProviderFailure:
    """OpenRouter's 403: moderation (`metadata.reasons`; 422 naming them), a key over its credit
    limit (the insufficient-credits path), or, when it says neither, a refusal of our request."""
    text = (message or "").lower()
    raw_reasons = metadata.get("reasons")
    reasons = tuple(str(r) for r in raw_reasons) if isinstance(raw_reasons, list) else ()
    if reasons or "flagged_input" in metadata or any(word in text for word in _MODERATION_WORDS):
        return ProviderFailure(FailureKind.MODERATED, 403, message=message, reasons=reasons)
    if any(word in text for word in _CREDIT_LIMIT_WORDS):
        return ProviderFailure(FailureKind.INSUFFICIENT_CREDITS, 403, message=message)
    return ProviderFailure(FailureKind.REJECTED, 403, message=message)


# How much of an upstream provider's raw error is kept (before the caller's and the log's bounds).
_RAW_CHARS = 2000


def upstream_error(metadata: dict[str, object]) -> tuple[str | None, str | None]:
    """(`provider_name`, the upstream provider's own message) of OpenRouter's "Provider returned
    error" (`error.metadata.provider_name`, `error.metadata.raw`).

    `raw` is what the upstream sent: JSON text (`{"error": {"message": ...}}`, OpenAI's shape), a
    JSON object, or plain text ("z-ai/glm is temporarily rate-limited upstream ..."). The message
    is its `error.message` / `message` / `detail` when it has one, else the text itself.
    Sources (read 2026-12-06): https://openrouter.ai/docs/api-reference/errors ("metadata ...
    provider_name, raw"); public reports of the shape: diegosouzapw/OmniRoute#3044,
    reVrost/go-openrouter#21, open-webui/computer#293, OpenRouterTeam/ai-sdk-provider#428."""
    name = metadata.get("provider_name")
    raw = metadata.get("raw")
    text: str | None = None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            text = raw
    if text is None and isinstance(raw, dict):
        inner = raw.get("error", raw)
        if isinstance(inner, dict):
            found = inner.get("message") or inner.get("detail") or inner.get("msg")
            text = str(found) if found else json.dumps(inner)[:_RAW_CHARS]
        elif inner:
            text = str(inner)
    elif text is None and raw is not None:
        text = str(raw)
    return (str(name)[:100] if name else None), (text[:_RAW_CHARS] if text else None)


def _raw_code(metadata: dict[str, object]) -> str | None:
    """The upstream error's `code` inside `metadata.raw` (`invalid_image_url`), when it has one."""
    raw = metadata.get("raw")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    inner = raw.get("error", raw) if isinstance(raw, dict) else None
    code = inner.get("code") if isinstance(inner, dict) else None
    return str(code) if code else None


# The provider could not fetch a URL the request gave it (an `image_url`): OpenAI's 400s
# "Error while downloading <url>." / "Timeout while downloading <url>." with code
# `invalid_image_url`, "Failed to download image from <url>" (`invalid_image`), and the same
# relayed by OpenRouter inside `metadata.raw`. Sources (read 2026-12-06): crmne/ruby_llm#135,
# riverscuomo/cuomputer#95 (`{'message': 'Timeout while downloading 2025....jpg.', 'type':
# 'invalid_request_error', 'param': None, 'code': 'invalid_image_url'}`), vercel/ai#8857,
# danny-avila/LibreChat#5101, get-convex/agent#166 ("Error while downloading").
#
# The provider downloaded the URL and what it got is not an image it can read (an HTML page, a
# login redirect, a 404 page, an unsupported format): the same fault, the caller's URL. Each
# wording as the providers send it (read 2026-12-07):
# - Gemini 400 INVALID_ARGUMENT "Provided image is not valid" (AmberSahdev/Open-Interface#64),
#   relayed by OpenRouter as "Provider returned error" with it in `metadata.raw`
#   (musistudio/claude-code-router#845);
# - OpenAI 400 "You uploaded an unsupported image. Please make sure your image is below 20 MB in
#   size and is of one the following formats: ['png', 'jpeg', 'gif', 'webp']." with code
#   `invalid_image_format` (STranslate/STranslate#277, CosmosShadow/gptpdf#6);
# - Anthropic 400 invalid_request_error "Could not process image" (anthropics/claude-code#8646).
_INPUT_CODES = frozenset({"invalid_image_url", "invalid_image", "invalid_image_format"})
_INPUT_WORDS = re.compile(
    r"(?:error|timeout|timed out) while downloading|failed to download|could not download"
    r"|unable to download"
    r"|provided image is not valid|uploaded an unsupported image|could not process image",
    re.IGNORECASE,
)


def is_input_url_failure(code: object, *texts: str | None) -> bool:
    """True when an error says a URL the request gave the provider could not be used: not
    downloaded (`invalid_image_url`, "Error while downloading ...") or not an image it can read
    ("Provided image is not valid", "You uploaded an unsupported image", "Could not process
    image"). Matched on the error's `code` and on each of `texts` (message, upstream message)."""
    if isinstance(code, str) and code in _INPUT_CODES:
        return True
    return any(text and _INPUT_WORDS.search(text) for text in texts)


def failure_for_status(
    status: int,
    *,
    retry_after: float | None,
    message: str | None,
    metadata: dict[str, object],
    headers: object = None,
) -> ProviderFailure:
    """OpenRouter's status codes as its docs define them (https://openrouter.ai/docs/api-reference/errors):
    401 invalid key (the key-rotation path), 402 out of credits (final, no key reset), 403 input
    flagged by moderation (`metadata.reasons`; final, no key reset) or a key over its credit limit
    (see `_forbidden`), 408 timeout, 429 rate limited, 502 model down, 503 no provider meets the
    routing requirements; a 400 "X is not a valid model ID" or a 404 "No endpoints found for X."
    is MODEL_GONE (`contentgen.connectors.model_gone`: the next model of the chain, X remembered); a
    4xx saying the model's endpoints cannot take the request as sent (404 "No endpoints found that can
    handle the requested parameters." / "... that support tool use", a 400 relaying "Unsupported
    parameter: ..." from the upstream; `model_gone.REFUSALS`) is MODEL_REFUSED (the next model of the
    chain, nothing remembered); other 4xx: our request.

    A 429's wait is `retry_after` (`Retry-After` / `retry-after-ms`), else the `X-RateLimit-Reset`
    of the response `headers` or of the body's `metadata.headers` (`contentgen.core.waits`). A 429
    from OpenRouter's own limiter (no `metadata.provider_name`: free-model and per-key limits,
    "we govern capacity globally", https://openrouter.ai/docs/api-reference/limits) covers the
    whole account, so a wait the deadline cannot meet is not sent to the next model; a 429 naming
    the upstream provider (`metadata.provider_name`) is that model's, and the next model is tried.

    Every failure carries the upstream provider's name and own words when OpenRouter relays them
    (`upstream_error`). A 400 saying the provider could not download a URL the request gave
    or that what it fetched is not an image it can read (`is_input_url_failure`) is the caller's
    URL: `INPUT_UNREACHABLE` (422 naming `image_url`).
    """
    # Cold start: the wordings load with the first failure, not in every container.
    from contentgen.connectors.model_gone import refused_model

    upstream, upstream_message = upstream_error(metadata)
    failure = _failure_for_status(
        status, retry_after=retry_after, message=message, metadata=metadata, headers=headers
    )
    if status in (400, 422) and is_input_url_failure(
        _raw_code(metadata) or metadata.get("code"), message, upstream_message
    ):
        failure = ProviderFailure(FailureKind.INPUT_UNREACHABLE, status, message=message)
    elif failure.kind is FailureKind.REJECTED and refused_model(
        "openrouter", status, message, upstream_message
    ):
        # The model's endpoints cannot take this request as sent ("No endpoints found that can
        # handle the requested parameters.", an upstream's "Unsupported parameter: ..."): another
        # model of the chain may; the same one is not asked again for this request.
        failure = ProviderFailure(FailureKind.MODEL_REFUSED, status, message=message)
    return replace(failure, upstream=upstream, upstream_message=upstream_message)


def _failure_for_status(
    status: int,
    *,
    retry_after: float | None,
    message: str | None,
    metadata: dict[str, object],
    headers: object = None,
) -> ProviderFailure:
    if status == 429:
        wait = retry_after
        if wait is None:
            wait = rate_limit_reset(headers)
        if wait is None:
            wait = rate_limit_reset(metadata.get("headers"))
        account_wide = not metadata.get("provider_name")
        return ProviderFailure(FailureKind.RATE_LIMITED, status, wait, message, account_wide=account_wide)
    if status == 401:
        return ProviderFailure(FailureKind.AUTH, status, message=message)
    if status == 402:
        return ProviderFailure(FailureKind.INSUFFICIENT_CREDITS, status, message=message)
    if status == 403:
        return _forbidden(message, metadata)
    if status in (408, 409) or status >= 500:
        kind = FailureKind.TIMEOUT if status in (408, 504) else FailureKind.SERVER_ERROR
        return ProviderFailure(kind, status, retry_after, message)
    from contentgen.connectors.model_gone import gone_model  # cold start: the first failure loads it

    gone = gone_model("openrouter", status, message)
    if gone is not None:
        return ProviderFailure(FailureKind.MODEL_GONE, status, message=message, model=gone.model)
    return ProviderFailure(FailureKind.REJECTED, status, message=message)


def classify_openai_error(exc: BaseException) -> ProviderFailure | None:
    """Map what a request to OpenRouter raised to a failure kind. Total: None only for our own
    decisions (`ContentgenError`, e.g. a decline), so nothing a provider sends becomes a 500.

    - the SDK's status errors by status (`failure_for_status`), in-body errors of a 200 likewise;
    - timeouts and dropped connections (the SDK's, or httpx's when raised while reading a body);
    - a 200 that is not a chat completion (`OpenRouterMalformedReply`) or is broken JSON (the SDK's
      `response.json()` raises `json.JSONDecodeError`): a server error quoting what was received;
    - anything else: a server error naming the exception (logged with its traceback).
    Waits come from `retry-after-ms` / `Retry-After` (and, for a 429, `X-RateLimit-Reset`).
    """
    if isinstance(exc, ContentgenError) or not isinstance(exc, Exception):
        return None
    if isinstance(exc, OpenRouterBodyError):
        return failure_for_status(exc.status, retry_after=None, message=exc.message, metadata=exc.metadata)
    if isinstance(exc, openai.APIConnectionError):
        # The SDK wraps httpx's exception (`raise APIConnectionError(...) from err`): how far the
        # request got decides (`contentgen.connectors.transport`); unknown counts as sent.
        transport = transport_failure(exc.__cause__) if exc.__cause__ is not None else None
        if transport is not None:
            return transport
        kind = FailureKind.TIMEOUT if isinstance(exc, openai.APITimeoutError) else FailureKind.DROPPED
        return ProviderFailure(kind)
    transport = transport_failure(exc)  # httpx's own, raised while a body is read
    if transport is not None:
        return transport
    if isinstance(exc, openai.APIStatusError):
        message, metadata = _error_fields(exc.body)
        return failure_for_status(
            exc.status_code,
            retry_after=retry_after_from_headers(exc.response.headers),
            message=message,
            metadata=metadata,
            headers=exc.response.headers,
        )
    if isinstance(exc, OpenRouterMalformedReply):
        return ProviderFailure(FailureKind.SERVER_ERROR, message=exc.message)
    if isinstance(exc, json.JSONDecodeError):
        received = exc.doc.strip()[:_RECEIVED_CHARS]
        return ProviderFailure(
            FailureKind.SERVER_ERROR,
            message=f"the HTTP 200 reply is not valid JSON ({exc.msg} at position {exc.pos}): {received}",
        )
    logger.warning("unexpected exception from an OpenRouter request", exc_info=exc)
    return ProviderFailure(
        FailureKind.SERVER_ERROR, message=f"unexpected reply ({type(exc).__name__}: {exc})"
    )


class _Connector:
    """Adapts the module-level functions to the retry policy's `Connector` protocol."""

    def get(self) -> OpenAI:
        return get_openai_client()

    def reset(self) -> None:
        reset_openai_client()

    def read_ahead(self) -> Callable[[], None] | None:
        """The key's SSM read started now when the client is not built yet (`secrets.read_ahead`)."""
        return None if _client.built else read_ahead(OPENROUTER_API_KEY)


openrouter = ProviderCaller(PROVIDER, _Connector(), classify_openai_error)
