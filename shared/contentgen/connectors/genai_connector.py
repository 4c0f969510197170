"""The Google GenAI client (`google-genai`), for images and videos.

The SDK reads its own switches `GOOGLE_GENAI_USE_VERTEXAI`, `GOOGLE_GEMINI_BASE_URL` and
`GOOGLE_VERTEX_BASE_URL`. The key comes from SSM (`GOOGLE_API_KEY_PARAM`; `GOOGLE_API_KEY`
locally) and is sent as `x-goog-api-key` on both backends.

On Vertex AI the project and location (`GOOGLE_CLOUD_PROJECT`, `GOOGLE_CLOUD_LOCATION`, from the
settings) are passed to the SDK WITH the key: google-genai 3.4.0 (`_api_client.BaseApiClient`)
drops the environment's project/location whenever a key is passed explicitly ("Explicit api_key
takes precedence over implicit project/location") and then calls express mode's project-less
`aiplatform.googleapis.com/v1beta1/publishers/google/models/X:method`. Express mode serves only
`generateContent`, `streamGenerateContent` and `countTokens`
(https://cloud.google.com/vertex-ai/generative-ai/docs/start/express-mode/vertex-ai-express-mode-api-reference,
read 2026-12-07): no Veo `predictLongRunning` (a Veo id there is 400 "Invalid resource field
value in the request.", https://github.com/googleapis/java-genai/issues/570, 2025-09-27, read
2026-12-07). Given both explicitly with the key, the SDK builds the project-scoped
`https://{location}-aiplatform.googleapis.com/v1beta1/projects/{project}/locations/{location}/publishers/google/models/X:method`
and authenticates it with the key alone (no ADC: `_request_once` fetches a token only when there
is no key), the request shape reported to work for Veo 3.1 with a Google Cloud API key in
https://github.com/googleapis/dotnet-genai/issues/305 (2026-05-05, read 2026-12-07). The key is
then a Google Cloud API key of that project (bound to a service account with the Vertex AI User
role: https://cloud.google.com/vertex-ai/generative-ai/docs/start/api-keys, read 2026-12-07).

Retry options are set to a single attempt on purpose: the SDK does not read `Retry-After` nor know
the Lambda's deadline, so the layer's retry policy (`contentgen.core.retry`) does the retrying.
The connection pool is `contentgen.connectors.http`'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx2
from google import genai
from google.genai import _interactions as interactions_errors
from google.genai import errors, types

from contentgen.clients.lazy import LazySingleton
from contentgen.clients.secrets import GOOGLE_API_KEY, read_ahead, read_api_key
from contentgen.config import Settings, get_settings
from contentgen.connectors.http import pooled_transport
from contentgen.connectors.model_gone import gone_model, refused_model
from contentgen.connectors.transport import transport_failure
from contentgen.core.retry import FailureKind, ProviderCaller, ProviderFailure
from contentgen.core.waits import (
    per_day_quota,
    retry_after_from_headers,
    retry_delay_from_google_error,
    seconds_until_pacific_midnight,
)
from contentgen.errors import ContentgenError

PROVIDER = "Google GenAI"


def _build_genai_client() -> genai.Client:
    settings = get_settings()
    http_options = types.HttpOptions(
        timeout=int(settings.provider_timeout_seconds * 1000),
        retry_options=types.HttpRetryOptions(attempts=1),
        client_args={"transport": pooled_transport(settings)},
    )
    scope = vertex_project_scope(settings)
    if scope is not None:
        project, location = scope
        return genai.Client(
            vertexai=True,
            api_key=read_api_key(GOOGLE_API_KEY),
            project=project,
            location=location,
            http_options=http_options,
        )
    return genai.Client(api_key=read_api_key(GOOGLE_API_KEY), http_options=http_options)


def vertex_project_scope(settings: Settings) -> tuple[str, str] | None:
    """The `(project, location)` Vertex AI calls are scoped to: both set with
    `GOOGLE_GENAI_USE_VERTEXAI=true`; None otherwise (the Gemini Developer API, or Vertex AI in
    express mode, which serves no Veo: see the module's docstring)."""
    if not settings.google_use_vertexai:
        return None
    if settings.google_cloud_project and settings.google_cloud_location:
        return settings.google_cloud_project, settings.google_cloud_location
    return None


_client: LazySingleton[genai.Client] = LazySingleton(_build_genai_client)


def get_genai_client() -> genai.Client:
    """The container's google-genai client (built, and its key read, on first call)."""
    return _client.get()


def reset_genai_client() -> None:
    """Drop the client; the next `get_genai_client()` reads the key again and rebuilds."""
    _client.reset()


# The support codes Google's safety filters put in their messages ("Support codes: 61493863"),
# as listed under "Safety filter code categories" in Vertex AI's Responsible AI guides for Imagen,
# Veo and Gemini image generation
# (https://cloud.google.com/vertex-ai/generative-ai/docs/video/responsible-ai-and-usage-guidelines,
# https://cloud.google.com/vertex-ai/generative-ai/docs/image/responsible-ai-imagen,
# https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/gemini-image-responsible-ai):
# child, celebrity, dangerous content, hate, other, people/face, personal information,
# prohibited content, sexual, toxic, violence; prompt and output codes alike.
SAFETY_SUPPORT_CODES = frozenset(
    {
        "58061214", "17301594",  # child
        "29310472", "15236754",  # celebrity
        "62263041",  # dangerous content
        "57734940", "22137204",  # hate
        "74803281", "29578790", "42876398",  # other
        "39322892",  # people / face
        "92201652",  # personal information
        "89371032", "49114662", "72817394",  # prohibited content
        "90789179", "63429089", "43188360",  # sexual
        "78610348",  # toxic
        "61493863", "56562880",  # violence
    }
)  # fmt: skip
# "Support codes: 61493863" (current wording), "Error Code: 58061214" (Imagen 2024,
# epam/ai-dial-adapter-vertexai#48).
_SUPPORT_CODES = re.compile(r"(?:support|error) codes?:\s*((?:\d+[,\s]*)+)", re.IGNORECASE)
# The guides' wording for a prompt a safety filter stopped: "If the model responds ... with an error
# message such as 'The prompt couldn't be submitted' or 'it might violate our policies', then the
# input is triggering a safety filter."
_SAFETY_WORDING = re.compile(
    r"prompt (?:could not|couldn't|cannot|can't) be submitted|(?:may|might) violate our policies"
    r"|violates? (?:Vertex AI's usage guidelines|Google's Responsible AI practices)",
    re.IGNORECASE,
)
# How much of an unreadable answer is quoted back (the caller's message and the log line).
_RECEIVED_CHARS = 120


def is_safety_block(message: str | None) -> bool:
    """True when a Google error message says a safety filter stopped the request: it carries a
    documented safety support code (`SAFETY_SUPPORT_CODES`) or the guides' wording for it."""
    if not message:
        return False
    for match in _SUPPORT_CODES.finditer(message):
        if SAFETY_SUPPORT_CODES.intersection(re.findall(r"\d+", match.group(1))):
            return True
    return _SAFETY_WORDING.search(message) is not None


def _unreadable(exc: Exception) -> ProviderFailure:
    """An answer the SDK could not turn into its types, quoting what was received when known."""
    what = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, json.JSONDecodeError):
        what = f"not JSON ({exc.msg} at char {exc.pos}), received {exc.doc[:_RECEIVED_CHARS]!r}"
    elif isinstance(exc, httpx2.DecodingError):
        what = f"the body could not be decoded as its Content-Encoding says ({exc})"
    return ProviderFailure(FailureKind.UNREADABLE, message=what[: _RECEIVED_CHARS * 2])


def _zero_quota(details: object) -> bool:
    """True when a `google.rpc.QuotaFailure` in `details` names a quota of 0 (`quotaValue: "0"`): the
    key has no quota at all for the model (a free-tier key and a paid-only model,
    googleapis/js-genai#1322), which no wait changes."""
    if isinstance(details, dict):  # the SDK's `details` is the whole body, or its `error`
        error = details.get("error", details)
        details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return False
    for detail in details:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.QuotaFailure"):
            for violation in detail.get("violations") or []:
                if isinstance(violation, dict) and str(violation.get("quotaValue", "")).strip() == "0":
                    return True
    return False


# A request made to a model itself (not to an operation, a file or a listing): Gemini API / Vertex AI
# `models/X:generateContent` (and stream), `:predict`, `:predictLongRunning`, the Interactions
# API's `POST .../interactions`.
_MODEL_REQUEST = re.compile(
    r"/models/[^/:]+:(?:generateContent|streamGenerateContent|predict|predictLongRunning)$|/interactions$"
)


def _is_model_request(response: object) -> bool:
    """Whether the answer `response` (httpx) is to a request made to a model (`_MODEL_REQUEST`)."""
    try:
        request = getattr(response, "request", None)
    except RuntimeError:  # httpx: a response built without its request
        return False
    url = getattr(request, "url", None)
    path = getattr(url, "path", None)
    method = str(getattr(request, "method", "POST")).upper()
    return isinstance(path, str) and method == "POST" and _MODEL_REQUEST.search(path) is not None


def _failure_for_status(
    status: int, message: str | None, details: object, headers: object, *, model_request: bool = True
) -> ProviderFailure:
    """A Google error answer (`{"error": {"code", "message", "status", "details"}}`) by status."""
    retry_after = retry_delay_from_google_error(details)
    if retry_after is None:
        retry_after = retry_after_from_headers(headers)
    declined = refused_model("google", status, message)
    if declined is not None or (status == 429 and _zero_quota(details)):
        # A free-tier key and a paid-only model ("doesn't have a free quota tier", a quota of
        # `limit: 0`): no wait helps; the model is live, so it is not "gone" either.
        return ProviderFailure(FailureKind.KEY_DECLINED, status, message=message)
    if status == 429:
        quota = per_day_quota(details)
        if quota is not None:
            # A per-day quota: nothing before its reset (Pacific midnight) can succeed, and it
            # says nothing about the model's health (no retry, not counted by the breaker).
            wait = seconds_until_pacific_midnight()
            return ProviderFailure(
                FailureKind.QUOTA_EXHAUSTED, status, wait, f"{message or 'quota exceeded'} ({quota})"
            )
        return ProviderFailure(FailureKind.RATE_LIMITED, status, retry_after, message)
    if status in (401, 403):
        return ProviderFailure(FailureKind.AUTH, status, message=message)
    if status in (408, 504):
        return ProviderFailure(FailureKind.TIMEOUT, status, message=message)
    if status >= 500:
        return ProviderFailure(FailureKind.SERVER_ERROR, status, retry_after, message)
    gone = gone_model("google", status, message, model_request=model_request)
    if gone is not None:
        return ProviderFailure(
            FailureKind.MODEL_GONE,
            status,
            message=message,
            model=gone.model,
            unconfirmed=gone.wording.ambiguous is not None,
        )
    if is_safety_block(message):
        return ProviderFailure(FailureKind.DECLINED, status, message=message)
    return ProviderFailure(FailureKind.REJECTED, status, message=message)


def _interactions_failure(exc: interactions_errors.APIError) -> ProviderFailure:
    """The Interactions API's errors (`client.interactions`, google-genai's generated client:
    `google.genai._gaos.lib.compat_errors`, re-exported by `google.genai._interactions`): a status
    error carries the HTTP status and Google's error body; a connection error wraps httpx's
    exception (`__cause__`); a body not of the API's shape is a response validation error."""
    if isinstance(exc, interactions_errors.APIConnectionError):
        transport = transport_failure(exc.__cause__) if exc.__cause__ is not None else None
        if transport is not None:
            return transport
        kind = (
            FailureKind.TIMEOUT
            if isinstance(exc, interactions_errors.APITimeoutError)
            else FailureKind.DROPPED
        )
        return ProviderFailure(kind, message=str(exc)[: _RECEIVED_CHARS * 2])
    if isinstance(exc, interactions_errors.APIStatusError):
        body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
        error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
        message = str(error.get("message") or exc.message)
        status = exc.status_code if exc.status_code is not None else exc.response.status_code
        return _failure_for_status(
            status,
            message,
            error.get("details"),
            exc.response.headers,
            model_request=_is_model_request(exc.response),
        )
    return _unreadable(exc)


def classify_genai_error(exc: BaseException) -> ProviderFailure | None:
    """Map google-genai and transport exceptions to failure kinds; None only for the layer's own
    errors (`ContentgenError`, raised by the adapter) and for what is not an `Exception`.

    Google's error body (https://cloud.google.com/apis/design/errors) is `{"error": {"code",
    "message", "status", "details"}}`: the wait is the `google.rpc.RetryInfo` `retryDelay` in
    `details` (Gemini API 429s carry it, e.g. "36s") or a `Retry-After` / `retry-after-ms` header.
    401/403 are the key (rotation path); a 404 in one of Google's wordings for a model it does not serve
    (`contentgen.connectors.model_gone`, every documented or reported wording)
    is MODEL_GONE (the next model of the chain, remembered; the ambiguous Gemini API wording is confirmed
    with `models.get` first, `model_listed_gone`); a free-tier key refused a paid-only model (429 "doesn't
    have a free quota tier", `limit: 0`) is KEY_DECLINED (the next model; 503 when none is left); a 4xx whose message is a safety filter's
    (`is_safety_block`, e.g. Imagen's 400 INVALID_ARGUMENT "The prompt could not be submitted ...
    Support codes: 61493863") is DECLINED (422 content_filtered); 400 INVALID_ARGUMENT /
    FAILED_PRECONDITION and other 4xx are our request. The message (`error.message`) is the
    provider's words. Anything else a call raises is a provider failure too: a body that is
    truncated, HTML, not what its `Content-Encoding` says (`httpx.DecodingError`) or not of the
    SDK's shape (pydantic `ValidationError`) is UNREADABLE (retried like a server error, final for
    a call that is not idempotent); never an unhandled 500. httpx's transport errors are split by
    whether the request may have been sent (`contentgen.connectors.transport`): a connection that
    dropped after it (DROPPED) is final for a Veo start, one never made (CONNECTION) is retried.
    The SDK's own retries (`HttpRetryOptions`, tenacity) are off (`attempts=1`): they would send a
    start again after a `TimeoutException` or `ConnectError` (`_api_client.retry_args`).
    """
    if isinstance(exc, ContentgenError) or not isinstance(exc, Exception):
        return None
    if isinstance(exc, errors.APIError):
        headers = getattr(getattr(exc, "response", None), "headers", None)
        message = str(exc.message) if exc.message else None
        response = getattr(exc, "response", None)
        return _failure_for_status(
            exc.code, message, exc.details, headers, model_request=_is_model_request(response)
        )
    if isinstance(exc, interactions_errors.APIError):
        return _interactions_failure(exc)
    transport = transport_failure(exc)  # a request never sent, timed out, or dropped once sent
    if transport is not None:
        return transport
    return _unreadable(exc)


# Seconds for the `models.get` that settles an ambiguous "not found" (free metadata, no generation).
_MODEL_CHECK_TIMEOUT_SECONDS = 5.0


def model_listed_gone(client: genai.Client, model: str) -> bool | None:
    """Whether Google no longer serves `model`, from its own metadata (`models.get`, free): a 404
    means gone (True); an answer means the model exists (False), so the 404 "is not found ... or is
    not supported for predictLongRunning" that asked this was Google declining the key (a
    free-tier key and a paid-only model, google-gemini/cookbook#706); another failure: None (not
    known). Sources: https://ai.google.dev/api/models#method:-models.get (read 2026-12-07)."""
    try:
        client.models.get(
            model=model,
            config=types.GetModelConfig(
                http_options=types.HttpOptions(timeout=int(_MODEL_CHECK_TIMEOUT_SECONDS * 1000))
            ),
        )
    except errors.APIError as exc:
        return True if exc.code == 404 else None
    return False


class _Connector:
    def get(self) -> genai.Client:
        return get_genai_client()

    def reset(self) -> None:
        reset_genai_client()

    def read_ahead(self) -> Callable[[], None] | None:
        """The key's SSM read started now when the client is not built yet (`secrets.read_ahead`)."""
        return None if _client.built else read_ahead(GOOGLE_API_KEY)


# Seconds a request waits for another request's first contact with a model (`ProviderCaller`): a
# fan-out of images or starts asks a retired model once per container, and a live model's fan-out
# waits at most this, once per container. Google answers a model it does not serve at once (a
# 404, no generation), well within it. OpenRouter needs none: it walks its `models` list itself.
FIRST_CONTACT_WAIT_SECONDS = 3.0

google_genai = ProviderCaller(
    PROVIDER,
    _Connector(),
    classify_genai_error,
    confirm_gone=model_listed_gone,
    first_contact_wait=FIRST_CONTACT_WAIT_SECONDS,
)
