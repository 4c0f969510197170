"""What providers really answer, replayed verbatim over the wire, and what contentgen answers.

Each case is a provider answer shape written from the provider's documentation (cited per case),
sent by the emulator's `raw` fault exactly as scripted (status, headers, body) to the real SDKs
(`openai` for OpenRouter, `google-genai` for Gemini / Imagen / Veo). Each case asserts what the
caller gets (status, code, the provider's words in the message, `Retry-After`), how many provider
requests were made, and whether the API key was re-read from SSM.
"""

from __future__ import annotations

import base64
import io
import json
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.utils import formatdate
from typing import Any

import pytest

from contentgen.catalog import default_chain, find_model, today
from local.params_extension import ParametersExtension
from tests.conftest import log_records
from tests.integration.conftest import Invoke, Stack

pytestmark = pytest.mark.integration

CONTENT = "FreeContentFunction"  # POST /content: free text, no schema
STORY = "StorySegmentsFunction"  # POST /story-segments: structured output (json_schema, strict)
THUMBNAIL = "GenerateThumbnailFunction"  # POST /thumbnails: Gemini image or Imagen
VIDEO = "GenerateVideoFunction"  # POST /videos: starts a Veo operation (paid, not idempotent)
TEXT_MODEL, *_TEXT_FALLBACKS = default_chain("text")
TEXT_FALLBACKS = ",".join(_TEXT_FALLBACKS)
IMAGE_MODEL, THINKING_IMAGE_MODEL = default_chain("image")[:2]
VIDEO_MODEL, VIDEO_FALLBACK = default_chain("video")[:2]

GEMINI_IMAGE = {"GOOGLE_GENAI_USE_VERTEXAI": "false", "IMAGE_MODEL": IMAGE_MODEL}
GEMINI_IMAGE_VERTEX = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "IMAGE_MODEL": IMAGE_MODEL}
# Imagen's `:predict` answers, kept for the records and routes of a line shut down on 2026-08-17:
# these cases run on a day the provider still served it (`_served_day`).
IMAGEN = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "IMAGE_MODEL": "imagen-4.0-generate-001"}
IMAGEN_WITH_FALLBACK = {**IMAGEN, "IMAGE_FALLBACK_MODELS": "imagen-4.0-fast-generate-001"}
VEO_WITH_FALLBACK = {
    "GOOGLE_GENAI_USE_VERTEXAI": "true",
    "VIDEO_FALLBACK_MODELS": VIDEO_FALLBACK,
}
VEO_OPERATION = f"projects/p/locations/us-central1/publishers/google/models/{VIDEO_MODEL}/operations/op-x"

REQUESTS = {
    CONTENT: {"prompt": "Three hooks for a video about lighthouses"},
    STORY: {"prompt": "A lighthouse keeper finds a map", "segment_count": 3},
    THUMBNAIL: {"prompt": "A fox in a lighthouse, stormy night"},
    VIDEO: {"prompt": "A paper boat on a rainy street", "duration_seconds": 6},
}


def raw(target: str, status: int, body: Any, *, headers: dict[str, str] | None = None, count: int = 1) -> Any:
    return {
        "kind": "raw",
        "target": target,
        "status": status,
        "body": body,
        "headers": headers or {},
        "count": count,
    }


def completion(message: dict[str, Any], finish_reason: str, **extra: Any) -> dict[str, Any]:
    """An OpenRouter chat completion (https://openrouter.ai/docs/api-reference/overview, "Responses")."""
    return {
        "id": "gen-conformance",
        "object": "chat.completion",
        "created": 1764500000,
        "model": TEXT_MODEL,
        "provider": "OpenAI",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish_reason, **extra}
        ],
        "usage": {"prompt_tokens": 40, "completion_tokens": 7, "total_tokens": 47, "cost": 0.00001},
    }


def gemini_answer(candidates: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A Gemini `GenerateContentResponse` (https://ai.google.dev/api/generate-content#generatecontentresponse)."""
    return {"candidates": candidates, "modelVersion": IMAGE_MODEL, **extra}


def google_error(code: int, status: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """Google's error model (https://cloud.google.com/apis/design/errors#http_mapping)."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return {"error": error}


def retry_info(delay: str) -> dict[str, Any]:
    """`google.rpc.RetryInfo` (googleapis google/rpc/error_details.proto), as Gemini API 429s carry it
    (https://ai.google.dev/gemini-api/docs/rate-limits; https://ai.google.dev/gemini-api/docs/troubleshooting)."""
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


@dataclass(frozen=True)
class Case:
    function: str
    faults: list[Any]
    status: int
    code: str | None
    requests: int
    quotes: tuple[str, ...] = ()  # words of the provider (or ours) the caller's message must hold
    env: dict[str, str] = field(default_factory=dict)
    key_reads: int | None = None  # reads of the provider's key (SSM through the extension)
    retry_after: str | None = None  # the Retry-After header the caller must get
    wait: float | None = None  # the provider's wait (s) the first attempt's log line must name
    # OpenRouter answered with a fallback: one free `GET /models/{primary}/endpoints` (is the primary
    # gone?), not counted in `requests` (the paid ones).
    lookups: int = 0


IN_BODY_502 = {
    "error": {
        "code": 502,
        "message": "Upstream provider returned an invalid response",
        "metadata": {"provider_name": "OpenAI", "raw": "bad gateway"},
    }
}
MID_GENERATION = completion(
    {"content": ""},
    "error",
    error={"code": "server_error", "message": "Provider disconnected unexpectedly"},
)
NO_CHOICES = {
    "id": "gen-empty",
    "object": "chat.completion",
    "created": 1764500000,
    "model": TEXT_MODEL,
    "choices": [],
}

HTML_502 = "<html><body>502 Bad Gateway</body></html>"
TRUNCATED = '{"id":"gen-1","choices":[{"index":0,"message":{"role":"assistant","content":"hel'
FREE_MODELS_PER_DAY = {
    "error": {
        "message": "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day",
        "code": 429,
        "metadata": {
            "headers": {
                "X-RateLimit-Limit": "50",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": "@epoch-ms+3600",
            }
        },
    }
}


def native_stop(reason: str) -> dict[str, Any]:
    """A safety stop OpenRouter labels "stop", the provider's reason in `native_finish_reason`
    (https://github.com/reVrost/go-openrouter/pull/43)."""
    return {
        "id": "gen-1",
        "object": "chat.completion",
        "created": 1764500000,
        "model": _TEXT_FALLBACKS[0],
        "provider": "Google",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "native_finish_reason": reason,
                "message": {"role": "assistant", "content": "", "refusal": None},
            }
        ],
        "usage": {"prompt_tokens": 40, "completion_tokens": 0, "total_tokens": 40, "cost": 0.000004},
    }


CASES: dict[str, Case] = {
    # 1. Failures inside HTTP 200. OpenRouter "Errors" (https://openrouter.ai/docs/api-reference/errors):
    # once the model started, the status is 200 and a later error is emitted in the body.
    "200-error-object-persisting-is-502": Case(
        STORY,
        [raw("openai", 200, IN_BODY_502, count=3)],
        502,
        "provider_unavailable",
        3,
        quotes=("Upstream provider returned an invalid response",),
    ),
    "200-error-object-once-is-retried": Case(CONTENT, [raw("openai", 200, IN_BODY_502)], 200, None, 2),
    "200-error-object-429-is-rate-limited": Case(
        CONTENT,
        [
            raw(
                "openai",
                200,
                {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-min"}},
                count=3,
            )
        ],
        503,
        "provider_rate_limited",
        3,
        quotes=("free-models-per-min",),
    ),
    # OpenRouter "Streaming" page, "Handling Errors During Streaming": finish_reason "error" and an
    # `error` object whose code may be a string.
    "200-finish-reason-error-is-502": Case(
        STORY,
        [raw("openai", 200, MID_GENERATION, count=3)],
        502,
        "provider_unavailable",
        3,
        quotes=("Provider disconnected unexpectedly",),
    ),
    # OpenRouter "Errors", "When No Content is Generated": empty choices, retry.
    "200-empty-choices-is-502-after-retries": Case(
        STORY,
        [raw("openai", 200, NO_CHOICES, count=3)],
        502,
        "provider_unavailable",
        3,
        quotes=("no choices",),
    ),
    "200-in-body-failure-falls-back-to-the-next-model": Case(
        STORY,
        [raw("openai", 200, IN_BODY_502, count=3)],
        200,
        None,
        4,
        env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
        lookups=1,
    ),
    # 2. Declines. OpenAI structured outputs, "Refusals"
    # (https://platform.openai.com/docs/guides/structured-outputs#refusals): content null, refusal set.
    "strict-schema-refusal-is-422": Case(
        STORY,
        [
            raw(
                "openai",
                200,
                completion(
                    {"content": None, "refusal": "I'm sorry, I can't help with that request."}, "stop"
                ),
            )
        ],
        422,
        "content_filtered",
        1,
        quotes=("I'm sorry, I can't help with that request.",),
        env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
    ),
    # OpenAI chat object: finish_reason "content_filter" = content omitted by the filter
    # (https://platform.openai.com/docs/api-reference/chat/object); OpenRouter normalises to it.
    "content-filter-finish-on-content-is-422-not-cut-text": Case(
        CONTENT,
        [
            raw(
                "openai",
                200,
                completion(
                    {"content": "Here are three hooks: 1. The"},
                    "content_filter",
                    native_finish_reason="SAFETY",
                ),
            )
        ],
        422,
        "content_filtered",
        1,
        quotes=("content_filter", "SAFETY"),
        env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
    ),
    "content-filter-finish-on-structured-is-422-no-reask": Case(
        STORY,
        [raw("openai", 200, completion({"content": '{"segments": ['}, "content_filter"))],
        422,
        "content_filtered",
        1,
        quotes=("content_filter",),
    ),
    # 3. OpenRouter status codes ("Errors" page, "Error Codes").
    "401-rereads-the-key-once": Case(
        CONTENT,
        [raw("openai", 401, {"error": {"code": 401, "message": "No auth credentials found"}})],
        200,
        None,
        2,
        key_reads=2,
    ),
    "402-insufficient-credits-is-503-not-retried": Case(
        CONTENT,
        [
            raw(
                "openai",
                402,
                {
                    "error": {
                        "code": 402,
                        "message": "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
                    }
                },
                count=5,
            )
        ],
        503,
        "provider_insufficient_credits",
        1,
        quotes=("out of credits", "Insufficient credits"),
        key_reads=1,
        env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
    ),
    # "Moderation Errors": error.metadata = {reasons, flagged_input, provider_name, model_slug}.
    "403-moderation-is-422-naming-the-reasons": Case(
        STORY,
        [
            raw(
                "openai",
                403,
                {
                    "error": {
                        "code": 403,
                        "message": "Your chosen model requires moderation and your input was flagged",
                        "metadata": {
                            "reasons": ["violence", "harassment/threatening"],
                            "flagged_input": "A lighthouse keeper...",
                            "provider_name": "OpenAI",
                            "model_slug": TEXT_MODEL,
                        },
                    }
                },
                count=5,
            )
        ],
        422,
        "content_moderated",
        1,
        quotes=("violence", "harassment/threatening", "requires moderation"),
        key_reads=1,
        env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
    ),
    # 1b. A 200 that is not a chat completion. The openai SDK hands back a non-JSON body as its text
    # and lets broken JSON raise `json.JSONDecodeError` (openai/_response.py `BaseAPIResponse._parse`);
    # proxies in front of OpenRouter answer HTML (https://github.com/HKUDS/nanobot/issues/2289). A
    # provider server error: retried, counted, fallen back on; if it persists 502 quoting it.
    "200-html-body-persisting-is-502-quoting-it": Case(
        CONTENT,
        [raw("openai", 200, HTML_502, headers={"Content-Type": "text/html"}, count=3)],
        502,
        "provider_unavailable",
        3,
        quotes=("not JSON", "502 Bad Gateway"),
    ),
    "200-html-body-once-is-retried": Case(
        CONTENT, [raw("openai", 200, HTML_502, headers={"Content-Type": "text/html"})], 200, None, 2
    ),
    "200-truncated-json-persisting-is-502-quoting-it": Case(
        STORY,
        [raw("openai", 200, TRUNCATED, headers={"Content-Type": "application/json"}, count=3)],
        502,
        "provider_unavailable",
        3,
        quotes=("not valid JSON", '"content":"hel'),
    ),
    "200-truncated-json-falls-back-to-the-next-model": Case(
        STORY,
        [raw("openai", 200, TRUNCATED, headers={"Content-Type": "application/json"}, count=3)],
        200,
        None,
        4,
        env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
    ),
    "200-json-that-is-not-a-completion-is-502": Case(
        CONTENT,
        [raw("openai", 200, ["not", "a", "completion"], count=3)],
        502,
        "provider_unavailable",
        3,
        quotes=("not a chat completion",),
    ),
    # 3b. A 403 that is a key's credit limit, not moderation: no `metadata.reasons`
    # (https://github.com/gptme/gptme/issues/1449, RooCodeInc/Roo-Code#515; per-key credit caps:
    # https://openrouter.ai/docs/api-reference/limits). The insufficient-credits path: 503, one
    # request, no fallback, no key re-read.
    "403-key-limit-is-insufficient-credits-not-moderation": Case(
        CONTENT,
        [
            raw(
                "openai",
                403,
                {
                    "error": {
                        "message": "Key limit exceeded (monthly limit). Manage it using https://openrouter.ai/settings/keys",
                        "code": 403,
                    }
                },
                count=5,
            )
        ],
        503,
        "provider_insufficient_credits",
        1,
        quotes=("credit limit", "Key limit exceeded (monthly limit)"),
        key_reads=1,
        env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
    ),
    # 2b. A safety stop labelled `finish_reason: "stop"`, the provider's reason in
    # `native_finish_reason` (https://github.com/reVrost/go-openrouter/pull/43; Gemini FinishReason:
    # https://ai.google.dev/api/generate-content#FinishReason): 422 after one request, no re-ask.
    **{
        f"native-finish-{reason.lower()}-labelled-stop-is-422-no-reask": Case(
            STORY,
            [raw("openai", 200, native_stop(reason), count=3)],
            422,
            "content_filtered",
            1,
            quotes=(reason,),
            env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
        )
        for reason in ("PROHIBITED_CONTENT", "SAFETY", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY")
    },
    "native-finish-safety-labelled-stop-on-content-is-422": Case(
        CONTENT, [raw("openai", 200, native_stop("SAFETY"))], 422, "content_filtered", 1, quotes=("SAFETY",)
    ),
    # 4b. OpenRouter's `X-RateLimit-Reset` (epoch ms), in the 429 body's `error.metadata.headers`
    # (https://github.com/Gitlawb/openclaude/issues/936) or as a response header ("X-RateLimit-*
    # headers on the error response", https://openrouter.ai/docs/api-reference/limits). OpenRouter's
    # own limiter covers the account ("we govern capacity globally"): a wait the deadline cannot meet
    # is 503 with Retry-After at once, and no fallback model is sent a request inside it.
    "429-x-ratelimit-reset-in-the-body-is-503-at-once-no-fallback": Case(
        CONTENT,
        [raw("openai", 429, FREE_MODELS_PER_DAY, count=9)],
        503,
        "provider_rate_limited",
        1,
        quotes=("free-models-per-day",),
        env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
        retry_after="3600",
        wait=3600.0,
    ),
    "429-x-ratelimit-reset-header-is-503-at-once": Case(
        CONTENT,
        [
            raw(
                "openai",
                429,
                {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-min"}},
                headers={
                    "X-RateLimit-Limit": "20",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": "@epoch-ms+600",
                },
                count=9,
            )
        ],
        503,
        "provider_rate_limited",
        1,
        env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
        retry_after="600",
        wait=600.0,
    ),
    "429-account-wide-retry-after-is-not-sent-to-fallback-models": Case(
        CONTENT,
        [
            raw(
                "openai",
                429,
                {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-min"}},
                headers={"Retry-After": "120"},
                count=9,
            )
        ],
        503,
        "provider_rate_limited",
        1,
        env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
        retry_after="120",
    ),
    # A 429 naming the upstream provider (`metadata.provider_name`) is that model's own limit:
    # "different rate limits for different models" (https://openrouter.ai/docs/api-reference/limits),
    # so the next model is tried.
    "429-upstream-provider-wait-falls-back-to-the-next-model": Case(
        CONTENT,
        [
            raw(
                "openai",
                429,
                {
                    "error": {
                        "code": 429,
                        "message": "Provider returned error",
                        "metadata": {
                            "raw": f"{_TEXT_FALLBACKS[0]} is temporarily rate-limited upstream",
                            "provider_name": "Google AI Studio",
                        },
                    }
                },
                headers={"Retry-After": "120"},
            )
        ],
        200,
        None,
        2,
        env={"TEXT_FALLBACK_MODELS": TEXT_FALLBACKS},
        lookups=1,
    ),
    # OpenRouter 503 "no available model provider meets your routing requirements" with a
    # Retry-After the deadline cannot meet: 503 (not 502) with that Retry-After, one request.
    "503-retry-after-beyond-the-deadline-is-503-with-it": Case(
        CONTENT,
        [
            raw(
                "openai",
                503,
                {
                    "error": {
                        "code": 503,
                        "message": "No available model provider that meets your routing requirements",
                    }
                },
                headers={"Retry-After": "120"},
                count=5,
            )
        ],
        503,
        "provider_unavailable",
        1,
        quotes=("No available model provider",),
        retry_after="120",
        wait=120.0,
    ),
    # 4. Waits. RFC 9110 §10.2.3 Retry-After as an HTTP-date; OpenRouter "Errors", "Retry-After header".
    "429-retry-after-http-date-beyond-the-deadline-is-503-at-once": Case(
        CONTENT,
        [
            raw(
                "openai",
                429,
                {"error": {"code": 429, "message": "Rate limit exceeded"}},
                headers={"Retry-After": "@date+120"},
                count=5,
            )
        ],
        503,
        "provider_rate_limited",
        1,
        quotes=("Rate limit exceeded",),
        retry_after="120",
        wait=120.0,
    ),
    # `retry-after-ms`, read by the openai SDK (`_parse_retry_after_header`).
    "429-retry-after-ms-beyond-the-deadline-is-503-at-once": Case(
        CONTENT,
        [
            raw(
                "openai",
                429,
                {"error": {"code": 429, "message": "Rate limit exceeded"}},
                headers={"retry-after-ms": "90000"},
                count=5,
            )
        ],
        503,
        "provider_rate_limited",
        1,
        retry_after="90",
        wait=90.0,
    ),
    # Gemini API 429 RESOURCE_EXHAUSTED with RetryInfo in details.
    "gemini-429-retryinfo-beyond-the-deadline-is-503-at-once": Case(
        THUMBNAIL,
        [
            raw(
                "gemini",
                429,
                google_error(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "You exceeded your current quota, please check your plan and billing details.",
                    [retry_info("36s")],
                ),
                count=5,
            )
        ],
        503,
        "provider_rate_limited",
        1,
        quotes=("exceeded your current quota",),
        env=GEMINI_IMAGE,
        retry_after="36",
    ),
    "gemini-429-retryinfo-short-wait-then-answers": Case(
        THUMBNAIL,
        [
            raw(
                "gemini",
                429,
                google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", [retry_info("0.05s")]),
            )
        ],
        200,
        None,
        2,
        env=GEMINI_IMAGE,
        wait=0.05,
    ),
    # Google 401/403 stay the key path; 400 INVALID_ARGUMENT / FAILED_PRECONDITION are our request
    # (https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes).
    "gemini-403-permission-denied-rereads-the-key": Case(
        THUMBNAIL,
        [
            raw(
                "gemini",
                403,
                google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers"),
                count=2,
            )
        ],
        502,
        "provider_rejected_credentials",
        2,
        env=GEMINI_IMAGE,
    ),
    "gemini-400-failed-precondition-is-rejected-quoting-google": Case(
        THUMBNAIL,
        [
            raw(
                "gemini",
                400,
                google_error(400, "FAILED_PRECONDITION", "User location is not supported for the API use."),
            )
        ],
        502,
        "provider_rejected_request",
        1,
        quotes=("User location is not supported",),
        env=GEMINI_IMAGE,
    ),
    "gemini-400-invalid-argument-is-rejected-quoting-google": Case(
        THUMBNAIL,
        [raw("gemini", 400, google_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument."))],
        502,
        "provider_rejected_request",
        1,
        quotes=("invalid argument",),
        env=GEMINI_IMAGE,
    ),
    # 2. Gemini image declines: promptFeedback.blockReason (+ blockReasonMessage)
    # (https://ai.google.dev/api/generate-content#PromptFeedback).
    "gemini-prompt-blocked-is-422": Case(
        THUMBNAIL,
        [
            raw(
                "gemini",
                200,
                {
                    "promptFeedback": {
                        "blockReason": "PROHIBITED_CONTENT",
                        "blockReasonMessage": "The prompt was blocked for prohibited content.",
                    },
                    "modelVersion": IMAGE_MODEL,
                },
            )
        ],
        422,
        "content_filtered",
        1,
        quotes=("PROHIBITED_CONTENT", "blocked for prohibited content"),
        env=GEMINI_IMAGE,
    ),
    # An answer with only text and no image: the model's text is its reason
    # (https://ai.google.dev/gemini-api/docs/image-generation: the model may answer in text).
    "gemini-text-only-answer-is-422-with-the-models-words": Case(
        THUMBNAIL,
        [
            raw(
                "gemini",
                200,
                gemini_answer(
                    [
                        {
                            "content": {
                                "role": "model",
                                "parts": [{"text": "I can't generate images of that person."}],
                            },
                            "finishReason": "STOP",
                            "index": 0,
                        }
                    ]
                ),
            )
        ],
        422,
        "content_filtered",
        1,
        quotes=("I can't generate images of that person.",),
        env=GEMINI_IMAGE,
    ),
    # Imagen `raiFilteredReason` (Vertex AI Imagen API, includeRaiReason:
    # https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/imagen-api).
    "imagen-rai-filtered-is-422": Case(
        THUMBNAIL,
        [
            raw(
                "gemini",
                200,
                {
                    "predictions": [
                        {
                            "raiFilteredReason": "Your current safety filter threshold filtered out the generated image. 58061214"
                        }
                    ]
                },
            )
        ],
        422,
        "content_filtered",
        1,
        quotes=("safety filter threshold", "58061214"),
        env=IMAGEN,
    ),
}

# Candidate finish reasons that decline (google-genai `types.FinishReason`;
# https://ai.google.dev/api/generate-content#FinishReason), with the candidate's `finishMessage`.
# Replayed on Vertex AI: google-genai 3.4's Developer API converter (`_Candidate_from_mldev`) drops
# `finishMessage`, so there the finish reason alone is the provider's word (last case).
for _reason in (
    "SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT", "BLOCKLIST", "SPII",
    "RECITATION", "IMAGE_RECITATION", "IMAGE_OTHER", "NO_IMAGE",
):  # fmt: skip
    CASES[f"gemini-finish-{_reason.lower()}-is-422"] = Case(
        THUMBNAIL,
        [raw("gemini", 200, gemini_answer([{"content": {"role": "model", "parts": []}, "finishReason": _reason, "finishMessage": f"Unable to show the generated image ({_reason}).", "index": 0}]))],
        422, "content_filtered", 1, quotes=(_reason, "Unable to show the generated image"), env=GEMINI_IMAGE_VERTEX,
    )  # fmt: skip
CASES["gemini-developer-api-finish-image-safety-is-422"] = Case(
    THUMBNAIL,
    [raw("gemini", 200, gemini_answer([{"content": {"role": "model", "parts": []}, "finishReason": "IMAGE_SAFETY", "index": 0}]))],
    422, "content_filtered", 1, quotes=("IMAGE_SAFETY",), env=GEMINI_IMAGE,
)  # fmt: skip


# F1. A 200 whose body the SDK cannot read: truncated JSON (a connection cut mid-body), an HTML page
# from a proxy, a `Content-Encoding: gzip` on a body that is not gzip (RFC 9110 §8.4: the coding
# the body has), or JSON not of the API's shape. A provider failure (UNREADABLE): retried, counted
# by the breaker, fallen back on; 502 quoting what was received if it persists; never a 500.
TRUNCATED_IMAGEN = '{"predictions": [{"bytesBase64Encoded": "iVBORw0KGgo'
JSON_TYPE = {"Content-Type": "application/json"}
CASES["200-truncated-json-persisting-is-502-quoting-it"] = Case(
    THUMBNAIL, [raw("gemini", 200, TRUNCATED_IMAGEN, headers=JSON_TYPE, count=3)],
    502, "provider_unavailable", 3, quotes=("could not be read", "iVBORw0KGgo"), env=IMAGEN,
)  # fmt: skip
CASES["200-truncated-json-once-is-retried"] = Case(
    THUMBNAIL, [raw("gemini", 200, TRUNCATED_IMAGEN, headers=JSON_TYPE)], 200, None, 2, env=IMAGEN,
)  # fmt: skip
CASES["200-truncated-json-falls-back-to-the-next-model"] = Case(
    THUMBNAIL, [raw("gemini", 200, TRUNCATED_IMAGEN, headers=JSON_TYPE, count=3)], 200, None, 4,
    env=IMAGEN_WITH_FALLBACK,
)  # fmt: skip
CASES["200-html-page-is-502-quoting-it"] = Case(
    THUMBNAIL,
    [raw("gemini", 200, "<html><body><h1>502 Bad Gateway</h1></body></html>", headers={"Content-Type": "text/html"}, count=3)],
    502, "provider_unavailable", 3, quotes=("<html>",), env=GEMINI_IMAGE,
)  # fmt: skip
CASES["200-gzip-encoding-on-a-plain-body-is-502"] = Case(
    THUMBNAIL, [raw("gemini", 200, {"predictions": []}, headers={"Content-Encoding": "gzip"}, count=3)],
    502, "provider_unavailable", 3, quotes=("Content-Encoding",), env=IMAGEN,
)  # fmt: skip
CASES["200-json-not-of-the-apis-shape-is-502"] = Case(
    THUMBNAIL, [raw("gemini", 200, {"candidates": [{"content": 5}]}, count=3)],
    502, "provider_unavailable", 3, quotes=("could not be read",), env=GEMINI_IMAGE,
)  # fmt: skip
# The Veo start's answer shapes run inside the durable video job: see the Veo section below.
# F3. A safety filter reported as an error: Imagen 400 INVALID_ARGUMENT with the filter's words and
# support code (google-marketing-solutions/adios#62; the 2024 "Error Code" form:
# epam/ai-dial-adapter-vertexai#48); the codes are the Responsible AI guides' "Safety filter code
# categories". 422 content_filtered in Google's words, one request, no fallback.
ADIOS_62 = (
    "Image generation failed with the following error: The prompt could not be submitted. Your current "
    "safety filter threshold prohibited one or more words in this prompt. If you think this was an "
    "error, send feedback. Support codes: 61493863"
)
CASES["imagen-400-safety-filter-is-422-with-the-support-code"] = Case(
    THUMBNAIL, [raw("gemini", 400, google_error(400, "INVALID_ARGUMENT", ADIOS_62), count=3)],
    422, "content_filtered", 1, quotes=("could not be submitted", "61493863"), env=IMAGEN_WITH_FALLBACK,
)  # fmt: skip
CASES["imagen-400-error-code-form-is-422"] = Case(
    THUMBNAIL,
    [raw("gemini", 400, google_error(400, "INVALID_ARGUMENT", "Image generation failed with the following error: The response is blocked, as it may violate our policies. If you believe this is an error, please send feedback to your account team. Error Code: 58061214"))],
    422, "content_filtered", 1, quotes=("58061214",), env=IMAGEN,
)  # fmt: skip
CASES["gemini-image-400-support-code-alone-is-422"] = Case(
    THUMBNAIL,
    [raw("gemini", 400, google_error(400, "INVALID_ARGUMENT", "Unable to process the request. Support codes: 90789179"))],
    422, "content_filtered", 1, quotes=("90789179",), env=GEMINI_IMAGE_VERTEX,
)  # fmt: skip
# Not a filter: an unsupported safety setting (epam/ai-dial-adapter-vertexai#264) is our request.
CASES["imagen-400-invalid-rai-level-stays-a-rejected-request"] = Case(
    THUMBNAIL,
    [raw("gemini", 400, google_error(400, "FAILED_PRECONDITION", "Image generation failed with the following error: Invalid rai level from the request"))],
    502, "provider_rejected_request", 1, quotes=("Invalid rai level",), env=IMAGEN,
)  # fmt: skip
# F4. No image and no reason. Imagen / Veo RAI guides: "If fewer images than requested are returned,
# then some generated output is being blocked": a decline after one request.
CASES["imagen-200-without-an-image-is-422"] = Case(
    THUMBNAIL, [raw("gemini", 200, {})], 422, "content_filtered", 1, quotes=("no image",), env=IMAGEN_WITH_FALLBACK,
)  # fmt: skip
# Gemini image candidates with no parts: `MODEL_ARMOR` (google-genai `FinishReason`, Vertex AI),
# `OTHER` (decided a decline: IMAGE_OTHER's twin), `STOP` with neither image nor words (the
# refusal the Gemini image RAI page describes, minimaxir/gemimg#5).
for _reason in ("STOP", "OTHER", "MODEL_ARMOR"):
    CASES[f"gemini-empty-parts-finish-{_reason.lower()}-is-422"] = Case(
        THUMBNAIL,
        [raw("gemini", 200, gemini_answer([{"content": {"role": "model", "parts": []}, "finishReason": _reason, "index": 0}]))],
        422, "content_filtered", 1, quotes=(_reason,), env=GEMINI_IMAGE_VERTEX,
    )  # fmt: skip
# MAX_TOKENS without an image is not a decline: the model ran out of room.
CASES["gemini-empty-parts-finish-max-tokens-stays-502"] = Case(
    THUMBNAIL,
    [raw("gemini", 200, gemini_answer([{"content": {"role": "model", "parts": []}, "finishReason": "MAX_TOKENS", "index": 0}]))],
    502, "invalid_model_output", 1, quotes=("MAX_TOKENS",), env=GEMINI_IMAGE_VERTEX,
)  # fmt: skip


def _resolve(fault: Any) -> Any:
    """`@date+N` in a header: an HTTP-date N seconds from now (RFC 9110 IMF-fixdate); `@epoch-ms+N`
    in a header or anywhere in the body: epoch milliseconds N seconds from now."""
    headers = {
        name: formatdate(time.time() + int(value.removeprefix("@date+")), usegmt=True)
        if value.startswith("@date+")
        else value
        for name, value in fault["headers"].items()
    }
    return _epoch_ms({**fault, "headers": headers})


def _epoch_ms(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _epoch_ms(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_epoch_ms(item) for item in value]
    if isinstance(value, str) and value.startswith("@epoch-ms+"):
        return str(int((time.time() + int(value.removeprefix("@epoch-ms+"))) * 1000))
    return value


def _served_day(env: dict[str, str]) -> date | None:
    """For a case that configures shut-down models (Imagen): the day before the first of them shut
    down, so the emulator (which serves the model catalog) still answers for them."""
    shutdowns = [
        entry.lifecycle.shutdown
        for value in env.values()
        for model in value.split(",")
        if (entry := find_model(model.strip())) is not None and entry.lifecycle.shutdown is not None
        if entry.lifecycle.status_on(today()) == "shut_down"
    ]
    return min(shutdowns) - timedelta(days=1) if shutdowns else None


def provider_calls(log_output: io.StringIO) -> list[dict[str, Any]]:
    return [record for record in log_records(log_output) if record["message"] == "provider call"]


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_provider_answer_shape(
    case: Case,
    stack: Stack,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    log_output: io.StringIO,
    params_extension: ParametersExtension,
) -> None:
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    served = _served_day(case.env)
    if served is not None:
        stack.provider.configure(today=served.isoformat())
    # Keys are read as the template deploys it: through the Parameters and Secrets extension.
    reads_before = len(params_extension.requests)
    stack.provider.faults(*(_resolve(fault) for fault in case.faults))

    status, response = invoke(case.function, REQUESTS[case.function], raw=True)

    answer = json.loads(response["body"])
    assert status == case.status, answer
    if case.code is not None:
        assert answer["code"] == case.code
    for words in case.quotes:
        assert words.lower() in answer["message"].lower(), answer["message"]
    if case.function == VIDEO and status == 202:
        assert answer["status"] == "pending"
    target = "openai" if case.function in (CONTENT, STORY) else "gemini"
    sent = [request for request in stack.provider.requests() if request["target"] == target]
    lookups = [request["path"] for request in sent if request["path"].endswith("/endpoints")]
    assert lookups == [f"/api/v1/models/{TEXT_MODEL}/endpoints"] * case.lookups, "at most one, of the primary"
    paid = [request for request in sent if not request["path"].endswith("/endpoints")]
    assert len(paid) == case.requests, [request["path"] for request in sent]
    if case.key_reads is not None:
        reads = len(params_extension.requests) - reads_before
        assert reads == case.key_reads, "the key is re-read only on 401"
    if case.retry_after is not None:
        (header,) = response["multiValueHeaders"]["Retry-After"]
        assert abs(int(header) - int(case.retry_after)) <= 2, header  # an HTTP-date has 1 s resolution
    calls = [call for call in provider_calls(log_output) if call["operation"] != "models.endpoints"]
    assert len(calls) == case.requests, "one log line per provider request"
    if case.status >= 400:
        assert calls[-1]["outcome"] != "ok"
    if case.wait is not None:
        assert calls[0]["retry_after_s"] == pytest.approx(
            case.wait, abs=min(30.0, case.wait / 2)
        )  # the header was written before a loaded run


def test_a_provider_message_is_in_each_attempts_log_line(
    stack: Stack, invoke: Invoke, log_output: io.StringIO
) -> None:
    # OpenRouter "Errors": the in-body error of a 200 (https://openrouter.ai/docs/api-reference/errors).
    stack.provider.faults(raw("openai", 200, IN_BODY_502, count=3))

    status, _ = invoke(STORY, REQUESTS[STORY])

    assert status == 502
    calls = provider_calls(log_output)
    assert [call["outcome"] for call in calls] == ["server_error"] * 3
    assert all(call["provider_message"] == "Upstream provider returned an invalid response" for call in calls)
    assert all(call["http_status"] == 502 for call in calls)
    assert not any(record["message"] == "model output invalid" for record in log_records(log_output)), (
        "never sent to JSON parsing or the re-ask"
    )


def test_a_decline_is_logged_once_as_declined(stack: Stack, invoke: Invoke, log_output: io.StringIO) -> None:
    refusal = completion({"content": None, "refusal": "I can't help with that."}, "stop")
    stack.provider.faults(raw("openai", 200, refusal))

    status, _ = invoke(STORY, REQUESTS[STORY])

    assert status == 422
    (call,) = provider_calls(log_output)
    assert call["outcome"] == "declined"
    assert "I can't help with that." in call["provider_message"]
    assert call["completion_tokens"] == 7, "the paid attempt's usage is recorded"


def test_structured_requests_require_parameters_and_free_text_does_not(stack: Stack, invoke: Invoke) -> None:
    # OpenRouter provider routing, `require_parameters`
    # (https://openrouter.ai/docs/features/provider-routing#requiring-providers-to-support-all-parameters).
    assert invoke(STORY, REQUESTS[STORY])[0] == 200
    assert invoke(CONTENT, REQUESTS[CONTENT])[0] == 200

    structured, free = stack.provider.requests()
    assert structured["body"]["response_format"]["type"] == "json_schema"
    assert structured["body"]["provider"] == {"require_parameters": True}
    assert "response_format" not in free["body"]
    assert "provider" not in free["body"]


def _reasoning_used_the_budget() -> dict[str, Any]:
    """A reasoning model that spent `max_tokens` thinking: finish_reason "length", native
    MAX_TOKENS, empty content, the thought in `reasoning`
    (https://openrouter.ai/docs/use-cases/reasoning-tokens; Gemini FinishReason MAX_TOKENS)."""
    body = completion({"content": "", "reasoning": "Let me think about lighthouses..."}, "length")
    body["choices"][0]["native_finish_reason"] = "MAX_TOKENS"
    return body


def test_content_cut_at_the_callers_max_tokens_before_any_text_is_422_naming_it(
    stack: Stack, invoke: Invoke
) -> None:
    stack.provider.faults(raw("openai", 200, _reasoning_used_the_budget(), count=3))

    status, answer = invoke(
        CONTENT, {"prompt": "Three hooks for a video about lighthouses", "max_tokens": 16}
    )

    assert status == 422, answer
    assert answer["code"] == "invalid_request"
    assert "max_tokens=16" in answer["message"]
    assert len(stack.provider.requests()) == 1


def test_content_cut_at_the_models_own_limit_before_any_text_is_502_naming_it(
    stack: Stack, invoke: Invoke
) -> None:
    stack.provider.faults(raw("openai", 200, _reasoning_used_the_budget(), count=3))

    status, answer = invoke(CONTENT, REQUESTS[CONTENT])

    assert status == 502, answer
    assert "token limit" in answer["message"]
    assert len(stack.provider.requests()) == 1


def test_a_key_in_the_providers_message_is_redacted_for_the_caller(
    stack: Stack, invoke: Invoke, log_output: io.StringIO
) -> None:
    key = "sk-or-v1-" + "9f" * 32
    # OpenRouter 400 "Bad Request (invalid or missing params, CORS)"
    # (https://openrouter.ai/docs/api-reference/errors); a message that echoes a key.
    stack.provider.faults(
        raw("openai", 400, {"error": {"code": 400, "message": f"Invalid key format {key}: expected a model"}})
    )

    status, answer = invoke(CONTENT, REQUESTS[CONTENT])

    assert status == 502
    assert answer["code"] == "provider_rejected_request"
    assert "expected a model" in answer["message"]
    assert key not in answer["message"]
    assert "sk-or-v1-9f9f" not in answer["message"]
    assert key not in log_output.getvalue()


# -- Veo: the durable video job's checks -------------------------------------------------------
# Each case runs a whole job: POST /videos, the durable execution on the testing SDK's runner
# (tests/durable_jobs.py); the first Google request (the start) passes, the faults hit the checks.

PASS_START = {"kind": "latency", "ms": 0, "target": "gemini"}


@dataclass
class VideoJobs:
    stack: Stack
    invoke: Invoke
    delays: list[int] = field(default_factory=list)

    def run(self, *faults: dict[str, Any], video_polls: int = 1, start: dict[str, Any] = PASS_START) -> Any:
        """Start a job with `faults` queued after `start` (the start's own answer: by default it
        passes); the finished job's row."""
        from contentgen.stores.jobs import get_job
        from local.runtime import load_handler
        from local.template import functions
        from tests.durable_jobs import running

        self.stack.provider.configure(video_polls=video_polls)
        self.stack.provider.faults(start, *faults)
        with running(load_handler(functions()["VideoJobFunction"])) as jobs:
            status, accepted = self.invoke(VIDEO, {"prompt": "a paper boat", "duration_seconds": 6})
            assert status == 202, accepted
            jobs.wait_all()
        starts = [r for r in self.stack.provider.requests() if r["path"].endswith(":predictLongRunning")]
        assert len(starts) == 1, "one paid start"
        job = get_job(accepted["job_id"])
        assert job is not None
        return job

    def checks(self) -> int:
        return len([r for r in self.stack.provider.requests() if ":fetchPredictOperation" in r["path"]])


@pytest.fixture
def video_jobs(stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> VideoJobs:
    from aws_durable_execution_sdk_python.waits import WaitForConditionDecision

    from contentgen.services import durable

    monkeypatch.setenv("VIDEO_POLL_DELAY_SECONDS", "1")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    jobs = VideoJobs(stack, invoke)

    class Recorded(WaitForConditionDecision):
        @classmethod
        def continue_waiting(cls, delay: Any) -> WaitForConditionDecision:
            jobs.delays.append(delay.to_seconds())
            return WaitForConditionDecision.continue_waiting(delay)

    monkeypatch.setattr(durable, "WaitForConditionDecision", Recorded)
    return jobs


def test_veo_filtered_video_fails_the_job_with_content_filtered_and_the_reason(video_jobs: VideoJobs) -> None:
    # Veo on Vertex AI: a finished operation whose video the filter withheld carries
    # `raiMediaFilteredCount` and `raiMediaFilteredReasons`
    # (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/veo-video-generation).
    reason = "Unable to generate videos because the prompt violates Vertex AI's usage guidelines. Support codes: 90789179"
    answer = {
        "done": True,
        "response": {
            "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
            "raiMediaFilteredCount": 1,
            "raiMediaFilteredReasons": [reason],
        },
    }

    job = video_jobs.run(raw("gemini", 200, answer))

    assert (job.status, job.error_code) == ("failed", "content_filtered")
    assert reason in (job.error or "")


def test_a_rate_limited_video_check_waits_the_providers_wait(video_jobs: VideoJobs) -> None:
    # Vertex AI 429 RESOURCE_EXHAUSTED with RetryInfo (https://cloud.google.com/apis/design/errors).
    job = video_jobs.run(
        raw(
            "gemini",
            429,
            google_error(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for aiplatform.googleapis.com",
                [retry_info("240s")],
            ),
        )
    )

    assert job.status == "succeeded", job.error
    assert video_jobs.delays[0] >= 240, "the next check is not sooner than the provider's wait"
    # One request per check (no attempt inside the provider's window), and one more by the store
    # step, which reads the finished operation's bytes again rather than checkpoint them.
    assert video_jobs.checks() == 3


def test_veo_operation_error_from_the_safety_filter_fails_the_job_with_content_filtered(
    video_jobs: VideoJobs,
) -> None:
    # A prompt Veo's safety filter stopped ends the operation with a google.rpc.Status (code 3) whose
    # message carries the support code (Veo Responsible AI guide, "Safety filter code categories":
    # 29310472 is a prompt code; https://cloud.google.com/vertex-ai/generative-ai/docs/video/responsible-ai-and-usage-guidelines).
    message = (
        "The prompt could not be submitted. This prompt contains sensitive words that violate Google's "
        "Responsible AI practices. Try rephrasing the prompt. If you think this was an error, send "
        "feedback. Support codes: 29310472"
    )

    job = video_jobs.run(raw("gemini", 200, {"done": True, "error": {"code": 3, "message": message}}))

    assert (job.status, job.error_code) == ("failed", "content_filtered")
    assert message in (job.error or ""), "Google's words, support code included"


def test_veo_operation_error_that_is_not_a_filter_stays_a_provider_error(video_jobs: VideoJobs) -> None:
    job = video_jobs.run(
        raw("gemini", 200, {"done": True, "error": {"code": 13, "message": "Internal error encountered."}})
    )

    assert (job.status, job.error_code) == ("failed", "provider_error")
    assert "Internal error encountered." in (job.error or "")


def test_veo_done_with_no_video_and_no_reason_is_content_filtered(video_jobs: VideoJobs) -> None:
    # googleapis/python-genai#1560: done, a response, no videos. Veo RAI guide: "If fewer videos than
    # requested are returned, then some generated output is being blocked".
    answer = {
        "done": True,
        "response": {"@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"},
    }

    job = video_jobs.run(raw("gemini", 200, answer))

    assert (job.status, job.error_code) == ("failed", "content_filtered")
    assert "no video" in (job.error or "")
    assert video_jobs.checks() == 1, "after one request"


@pytest.mark.parametrize(
    "answer",
    [
        # Retry-After on a 503 (RFC 9110 §10.2.3: "how long the service is expected to be unavailable").
        raw("gemini", 503, google_error(503, "UNAVAILABLE", "The service is currently unavailable."), headers={"Retry-After": "200"}),
        # RetryInfo in a 503's details (https://cloud.google.com/apis/design/errors#error_details).
        raw("gemini", 503, google_error(503, "UNAVAILABLE", "Try again later.", [retry_info("200s")])),
    ],
    ids=["retry-after-header", "retry-info"],
)  # fmt: skip
def test_a_5xx_video_check_naming_a_wait_is_checked_again_after_it(
    video_jobs: VideoJobs, answer: dict[str, Any]
) -> None:
    job = video_jobs.run(answer)

    assert job.status == "succeeded", job.error
    assert video_jobs.delays[0] >= 200
    assert video_jobs.checks() == 3  # two checks, and the store's read of the finished operation


def test_an_unreadable_video_check_is_checked_again_later_like_a_server_error(video_jobs: VideoJobs) -> None:
    job = video_jobs.run(
        raw("gemini", 200, "<html><body>Bad Gateway</body></html>", headers={"Content-Type": "text/html"})
    )

    assert job.status == "succeeded", job.error
    assert video_jobs.checks() == 3  # two checks, and the store's read of the finished operation


def test_a_thinking_image_models_final_image_is_stored_not_its_thought_images(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local.aws import client
    from local.fake_media import png
    from local.template import physical_name

    for name, value in {**GEMINI_IMAGE, "IMAGE_MODEL": THINKING_IMAGE_MODEL}.items():
        monkeypatch.setenv(name, value)
    draft, final = png("draft"), png("final")
    # Gemini image generation, "Thinking process": interim images are parts with `thought: true`;
    # the last image (not a thought) is the final one (https://ai.google.dev/gemini-api/docs/image-generation).
    parts = [
        {"text": "Sketching the composition...", "thought": True},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(draft).decode()}, "thought": True},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(final).decode()}},
    ]
    stack.provider.faults(
        raw(
            "gemini",
            200,
            gemini_answer(
                [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}]
            ),
        )
    )

    status, answer = invoke(THUMBNAIL, REQUESTS[THUMBNAIL])

    assert status == 200, answer
    bucket = physical_name("MediaBucket")
    stored = client("s3", stack.aws_url).get_object(Bucket=bucket, Key=answer["s3_key"])["Body"].read()
    assert stored == final


@pytest.mark.parametrize(
    "header", [{"Retry-After": "1e999"}, {"Retry-After": "inf"}, {"retry-after-ms": "1e400"}]
)
@pytest.mark.parametrize("status", [429, 503])
def test_a_wait_that_is_not_a_number_is_no_wait_not_a_crash(
    stack: Stack, invoke: Invoke, header: dict[str, str], status: int
) -> None:
    """A `Retry-After` no clock can wait (RFC 9110 §10.2.3 allows only delay-seconds or an
    HTTP-date) is treated as no wait named: the request is retried and answered 5xx, never a 500."""
    stack.provider.faults(
        raw("openai", status, {"error": {"code": status, "message": "slow down"}}, headers=header, count=5)
    )

    code, answer = invoke(CONTENT, REQUESTS[CONTENT])

    assert code in (502, 503), answer
    assert answer["code"] in ("provider_rate_limited", "provider_unavailable")


# -- Veo: the start's answers, inside the job (paid, not idempotent: never retried) -------------


@pytest.fixture
def veo_with_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in VEO_WITH_FALLBACK.items():
        monkeypatch.setenv(name, value)


def test_veo_start_unreadable_answer_ends_the_job_unconfirmed_and_is_never_sent_again(
    video_jobs: VideoJobs, veo_with_fallback: None
) -> None:
    """An unreadable answer may stand for a started (billed) operation: final, one request, no
    retry, no fallback model; the job fails unconfirmed_paid_work, charged the upper bound."""
    unreadable = raw(
        "gemini",
        200,
        '{"name": "projects/p/locations/us-central1/publishers/google/models/veo-3',
        headers=JSON_TYPE,
    )

    job = video_jobs.run(start=unreadable)

    assert (job.status, job.error_code) == ("failed", "unconfirmed_paid_work")
    assert "could not be read" in (job.error or "")
    assert "may have started" in (job.error or "")
    assert job.cost_usd is not None


def test_veo_start_cut_after_its_operation_name_keeps_the_operation(
    video_jobs: VideoJobs, veo_with_fallback: None
) -> None:
    cut = raw(
        "gemini", 200, '{"name": "' + VEO_OPERATION + '", "metadata": {"@type": "type.goo', headers=JSON_TYPE
    )

    ended = {
        "name": VEO_OPERATION,
        "done": True,
        "error": {"code": 13, "message": "Internal error encountered."},
    }

    job = video_jobs.run(raw("gemini", 200, ended), start=cut)

    checks = [r for r in video_jobs.stack.provider.requests() if ":fetchPredictOperation" in r["path"]]
    assert [check["body"]["operationName"] for check in checks] == [VEO_OPERATION], "kept and followed"
    assert (job.status, job.error_code) == ("failed", "provider_error")
    assert "Internal error encountered." in (job.error or "")


def test_veo_start_400_safety_filter_ends_the_job_content_filtered(
    video_jobs: VideoJobs, veo_with_fallback: None
) -> None:
    # Veo Responsible AI guide: "Veo could not generate videos because the input image violates Vertex
    # AI's usage guidelines. If you think this was an error, send feedback. Support codes: 15236754".
    words = (
        "Veo could not generate videos because the input image violates Vertex AI's usage guidelines. "
        "If you think this was an error, send feedback. Support codes: 15236754"
    )

    job = video_jobs.run(start=raw("gemini", 400, google_error(400, "INVALID_ARGUMENT", words)))

    assert (job.status, job.error_code) == ("failed", "content_filtered")
    assert "15236754" in (job.error or "")
    assert "usage guidelines" in (job.error or "")
