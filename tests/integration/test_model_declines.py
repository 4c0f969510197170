"""A provider declining a model that EXISTS is not "model gone" (issue 21, items 5 and 4): over the
wire, the real SDKs against the emulator replaying the providers' public answers verbatim (`raw`).

- Gemini Developer API, a free-tier key: a live paid-only model answers 404 "models/X is not found
  for API version v1beta, or is not supported for predictLongRunning" (google-genai's own
  cookbook, google-gemini/cookbook#706: "I just tested with a free API key and got the same error
  message"), 429 "X doesn't have a free quota tier" (danny-avila/LibreChat#7283) or a free-tier
  quota of `limit: 0` (googleapis/js-genai#1322). The model is NOT remembered as retired, no
  `ModelUnavailable` is counted, the next model answers; with none left, 503
  `model_not_available_to_key` in Google's words (final: no wait helps).
- OpenRouter, a model whose endpoints cannot take the request as sent: 404 "No endpoints found
  that can handle the requested parameters." (block/buzz#3018) or a 400 relaying the upstream's
  "Unsupported parameter: 'temperature' is not supported with this model." (BerriAI/litellm#10957).
  The chain moves to the next model, the same model is not asked again for the request; any other
  400 stays our request's (502 `provider_rejected_request`, no fallback).
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from contentgen.catalog import default_chain
from tests.conftest import log_records
from tests.integration.conftest import Invoke, Stack
from tests.integration.test_model_gone import asked
from tests.integration.test_provider_conformance import raw
from tests.integration.test_resilience import emf

pytestmark = pytest.mark.integration

THUMBNAIL = "GenerateThumbnailFunction"
STORY = "StorySegmentsFunction"
IMAGE, IMAGE_FALLBACK = default_chain("image")[:2]
TEXT, TEXT_FALLBACK = default_chain("text")[:2]


def _google(status: int, message: str, reason: str) -> Any:
    return raw("gemini", status, {"error": {"code": status, "message": message, "status": reason}})


def test_a_free_tier_404_for_a_live_model_is_not_model_gone_and_the_fallback_answers(
    stack: Stack,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    log_output: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    monkeypatch.setenv("IMAGE_FALLBACK_MODELS", IMAGE_FALLBACK)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    stack.provider.faults(
        _google(
            404,
            f"models/{IMAGE} is not found for API version v1beta, or is not supported for generateContent. "
            "Call ListModels to see the list of available models and their supported methods.",
            "NOT_FOUND",
        )
    )

    first = invoke(THUMBNAIL, {"prompt": "A fox in a lighthouse"})
    second = invoke(THUMBNAIL, {"prompt": "A fox in a lighthouse, again"})

    assert first[0] == 200, first
    assert first[1]["model"] == IMAGE_FALLBACK
    # Not remembered as retired: the next request asks the primary again (and it answers).
    assert second[0] == 200, second
    assert second[1]["model"] == IMAGE
    assert asked(stack, IMAGE) == 2
    checks = [r for r in stack.provider.requests() if r["path"].endswith(f"/models/{IMAGE}")]
    assert len(checks) == 1, "one models.get settled the ambiguous 404"
    assert [r for r in log_records(log_output) if r["message"] == "model unavailable"] == []
    assert [blob for blob in emf(capsys.readouterr().out) if "ModelUnavailable" in blob] == []


@pytest.mark.parametrize(
    "message",
    [
        "{model} doesn't have a free quota tier. For more information on this error, head to: "
        "https://ai.google.dev/gemini-api/docs/rate-limits.",
        "You exceeded your current quota, please check your plan and billing details. For more information "
        "on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. \n* Quota exceeded for "
        "metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: {model}",
    ],
    ids=["no-free-quota-tier", "free-tier-limit-0"],
)
def test_a_chain_every_model_of_which_the_key_may_not_use_is_503_final_in_googles_words(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, message: str
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    monkeypatch.setenv("IMAGE_FALLBACK_MODELS", IMAGE_FALLBACK)
    stack.provider.faults(
        _google(429, message.format(model=IMAGE), "RESOURCE_EXHAUSTED"),
        _google(429, message.format(model=IMAGE_FALLBACK), "RESOURCE_EXHAUSTED"),
    )

    status, answer = invoke(THUMBNAIL, {"prompt": "A fox in a lighthouse"})

    assert status == 503, answer
    assert answer["code"] == "model_not_available_to_key"
    assert "free" in answer["message"]
    assert "retry_after" not in answer or answer["retry_after"] is None
    assert (asked(stack, IMAGE), asked(stack, IMAGE_FALLBACK)) == (1, 1), "neither retried nor waited for"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            404,
            {
                "error": {
                    "message": "No endpoints found that can handle the requested parameters.",
                    "code": 404,
                }
            },
        ),
        (
            400,
            {
                "error": {
                    "message": "Provider returned error",
                    "code": 400,
                    "metadata": {
                        "raw": '{\n "error": {\n "message": "Unsupported parameter: \'temperature\' is not '
                        'supported with this model.",\n "type": "invalid_request_error",\n "param": '
                        '"temperature",\n "code": null\n }\n}',
                        "provider_name": "OpenAI",
                    },
                }
            },
        ),
    ],
    ids=["no-endpoints-for-parameters", "unsupported-parameter"],
)
def test_a_model_specific_refusal_on_the_text_chain_moves_to_the_next_model(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, status: int, body: dict[str, object]
) -> None:
    monkeypatch.setenv("TEXT_FALLBACK_MODELS", TEXT_FALLBACK)
    stack.provider.faults(raw("openai", status, body))

    answer_status, answer = invoke(STORY, {"prompt": "A lighthouse keeper", "segment_count": 2})
    again = invoke(STORY, {"prompt": "A lighthouse keeper, again", "segment_count": 2})

    sent = [
        r["body"].get("model") for r in stack.provider.requests() if r["path"].endswith("/chat/completions")
    ]
    assert answer_status == 200, (answer, sent)
    assert sent[:2] == [TEXT, TEXT_FALLBACK], "the refusing model not retried; the next one asked"
    assert again[0] == 200
    assert sent[2] == TEXT, "not remembered: the model serves other requests"


def test_a_400_about_the_request_itself_is_not_sent_to_the_next_model(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXT_FALLBACK_MODELS", TEXT_FALLBACK)
    stack.provider.faults(
        raw("openai", 400, {"error": {"message": "Invalid JSON in request body", "code": 400}})
    )

    status, answer = invoke(STORY, {"prompt": "A lighthouse keeper", "segment_count": 2})

    sent = [
        r["body"].get("model") for r in stack.provider.requests() if r["path"].endswith("/chat/completions")
    ]
    assert status == 502, answer
    assert answer["code"] == "provider_rejected_request"
    assert sent == [TEXT]


def test_the_emulators_free_tier_key_is_declined_for_every_paid_model_and_says_so(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator answers the Gemini API as for a free-tier key (`{"free_tier": true}`): the
    whole image chain declined at once: 503 `model_not_available_to_key` in Google's words, each
    model asked once, no wait."""
    monkeypatch.setenv("IMAGE_FALLBACK_MODELS", IMAGE_FALLBACK)
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    stack.provider.configure(free_tier=True)

    status, answer = invoke(THUMBNAIL, {"prompt": "A fox in a lighthouse"})

    assert status == 503, answer
    assert answer["code"] == "model_not_available_to_key"
    assert "limit: 0" in answer["message"]
    assert (asked(stack, IMAGE), asked(stack, IMAGE_FALLBACK)) == (1, 1)
