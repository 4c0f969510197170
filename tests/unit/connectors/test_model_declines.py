"""How each provider declines a model that exists, apart from "model gone" (issue 21): classification
of the public wordings (`contentgen.connectors.model_gone.REFUSALS`) and the ambiguous Gemini API
404 that also means a free-tier key (google-gemini/cookbook#706)."""

from __future__ import annotations

import httpx2
import pytest
from google.genai import errors as genai_errors

from contentgen.connectors.genai_connector import classify_genai_error
from contentgen.connectors.model_gone import REFUSALS, refused_model
from contentgen.connectors.openai_connector import failure_for_status
from contentgen.core.retry import FailureKind


def _google(status: int, message: str, reason: str) -> genai_errors.APIError:
    body = {"error": {"code": status, "message": message, "status": reason}}
    request = httpx2.Request(
        "POST", "https://generativelanguage.googleapis.com/v1beta/models/m:generateContent"
    )
    return genai_errors.APIError(status, body, httpx2.Response(status, request=request, json=body))


def test_the_free_tier_404_is_gone_only_once_confirmed() -> None:
    failure = classify_genai_error(
        _google(
            404,
            "models/veo-2.0-generate-001 is not found for API version v1beta, or is not supported for "
            "predictLongRunning. Call ListModels to see the list of available models and their supported methods.",
            "NOT_FOUND",
        )
    )
    retired = classify_genai_error(
        _google(404, "This model models/gemini-2.0-flash is no longer available to new users.", "NOT_FOUND")
    )

    assert failure is not None
    assert (failure.kind, failure.model, failure.unconfirmed) == (
        FailureKind.MODEL_GONE,
        "veo-2.0-generate-001",
        True,
    )
    assert retired is not None
    assert (retired.kind, retired.unconfirmed) == (FailureKind.MODEL_GONE, False)


@pytest.mark.parametrize(
    "message",
    [
        "Gemini 2.5 Pro Preview doesn't have a free quota tier. Please use Gemini 2.5 Pro Experimental "
        "(models/gemini-2.5-pro-exp-03-25) instead.",
        "You exceeded your current quota, please check your plan and billing details. \n* Quota exceeded for "
        "metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: "
        "gemini-2.5-flash-preview-image",
    ],
)
def test_a_free_tier_key_refused_a_paid_model_is_key_declined_not_a_wait(message: str) -> None:
    failure = classify_genai_error(_google(429, message, "RESOURCE_EXHAUSTED"))

    assert failure is not None
    assert failure.kind is FailureKind.KEY_DECLINED
    error = failure.to_error("Google GenAI", attempts=1)
    assert (error.status_code, error.code, error.retry_after) == (503, "model_not_available_to_key", None)


def test_a_quota_failure_of_zero_in_the_details_is_key_declined() -> None:
    body = {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                            "quotaDimensions": {"location": "global", "model": "gemini-3-pro-image"},
                            "quotaValue": "0",
                        }
                    ],
                }
            ],
        }
    }
    request = httpx2.Request(
        "POST", "https://generativelanguage.googleapis.com/v1beta/models/m:generateContent"
    )
    failure = classify_genai_error(
        genai_errors.APIError(429, body, httpx2.Response(429, request=request, json=body))
    )

    assert failure is not None
    assert failure.kind is FailureKind.KEY_DECLINED


def test_a_free_tier_quota_that_is_only_used_up_is_still_a_wait() -> None:
    failure = classify_genai_error(
        _google(
            429,
            "Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, "
            "limit: 20, model: gemini-2.5-flash-lite",
            "RESOURCE_EXHAUSTED",
        )
    )

    assert failure is not None
    assert failure.kind in (FailureKind.RATE_LIMITED, FailureKind.QUOTA_EXHAUSTED)


@pytest.mark.parametrize(
    ("status", "message", "metadata"),
    [
        (404, "No endpoints found that can handle the requested parameters.", {}),
        (404, 'No endpoints found that support tool use. Try disabling "question".', {}),
        (
            400,
            "Provider returned error",
            {
                "raw": '{"error": {"message": "Unsupported parameter: \'temperature\' is not supported with '
                'this model.", "type": "invalid_request_error", "param": "temperature"}}',
                "provider_name": "OpenAI",
            },
        ),
        (400, "Unsupported value: 'temperature' does not support 0.1 with this model.", {}),
        (
            400,
            "This endpoint's maximum context length is 32768 tokens. However, you requested about 40000 tokens.",
            {},
        ),
    ],
)
def test_openrouters_model_specific_refusals_move_to_the_next_model(
    status: int, message: str, metadata: dict[str, object]
) -> None:
    failure = failure_for_status(status, retry_after=None, message=message, metadata=metadata)

    assert failure.kind is FailureKind.MODEL_REFUSED
    assert not failure.kind.retryable
    error = failure.to_error("OpenRouter", attempts=1)
    assert (error.status_code, error.code) == (502, "provider_rejected_request")


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (400, "openai/gpt-9 is not a valid model ID", FailureKind.MODEL_GONE),
        (404, "No endpoints found for anthropic/claude-3.5-haiku.", FailureKind.MODEL_GONE),
        (400, "Invalid JSON in request body", FailureKind.REJECTED),
    ],
)
def test_other_openrouter_4xx_keep_their_meaning(status: int, message: str, kind: FailureKind) -> None:
    assert failure_for_status(status, retry_after=None, message=message, metadata={}).kind is kind


def test_every_refusal_names_its_source_and_recognises_its_own_example() -> None:
    for refusal in REFUSALS:
        assert refusal.source.startswith("https://"), refusal.name
        assert refusal.read == "2026-12-07"
        example = refusal.example("some-model")
        assert refused_model(refusal.provider, refusal.statuses[0], example) is refusal, refusal.name


@pytest.mark.parametrize(
    ("message", "model"),
    [
        # truefoundry/models#946 (2026): a model asked in `locations/global`.
        (
            "Publisher Model `projects/truefoundry-devtest/locations/global/publishers/google/models/gemma4` was not "
            "found or your project does not have access to it. Please ensure you are using a valid model version.",
            "gemma4",
        ),
        # googleapis/python-aiplatform#3574: the project-less (express) path.
        ("Publisher Model `publishers/google/models/claude-3-sonnet` is not found.", "claude-3-sonnet"),
    ],
)
def test_vertex_not_found_wordings_are_gone_once_confirmed(message: str, model: str) -> None:
    failure = classify_genai_error(_google(404, message, "NOT_FOUND"))

    assert failure is not None
    assert (failure.kind, failure.model, failure.unconfirmed) == (FailureKind.MODEL_GONE, model, True)
