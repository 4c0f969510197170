"""Probe of issue 21 item 5 ("model gone" is its own failure): provider answers that mean "this
model does not exist / is not served" in wordings that public reports show, but that
`contentgen.connectors.model_gone.WORDINGS` does not know. Each is answered verbatim by the
emulator (`raw` fault) for the PRIMARY model only; the configured fallback is live.

Expected (issue 21, "Done when"): "a 404 'model gone' on the primary gives 200 from the fallback".
Measured: the answer is classified REJECTED, so the call ends after ONE attempt with 502 and the
fallback is never asked: the exact symptom issue 21 was filed for.
"""

from __future__ import annotations

from typing import Any

import pytest

from contentgen.catalog import default_chain
from tests.integration.conftest import Invoke, Stack
from tests.integration.test_model_gone import asked
from tests.integration.test_provider_conformance import raw

pytestmark = pytest.mark.integration

THUMBNAIL = "GenerateThumbnailFunction"
IMAGE, IMAGE_FALLBACK = default_chain("image")[:2]
TEXT, TEXT_FALLBACK = default_chain("text")[:2]


@pytest.mark.parametrize("vertex", ["true", "false"], ids=["vertex-ai", "gemini-api"])
def test_googles_plain_404_requested_entity_was_not_found_on_the_primary_moves_to_the_fallback(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, vertex: str
) -> None:
    """Google answers a model id it does not serve with the bare 404 NOT_FOUND
    "Requested entity was not found." (no model named in it):
    https://github.com/google-gemini/gemini-cli/issues/7507 ("When you pass an invalid model ...
    404 Requested entity was not found."), google-gemini/gemini-cli#13553 (`-m
    gemini-3.0-pro-preview`, an id Google did not serve), google-gemini/gemini-cli#4764. Issue 21
    item 5 names "Google 404 NOT_FOUND for a model" as model gone. A 404 to a model's
    `:generateContent` is about that model (the request names nothing else that could be missing).
    Expected: 200 from the fallback; measured: 502 after one attempt, fallback never asked."""
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", vertex)
    monkeypatch.setenv("IMAGE_FALLBACK_MODELS", IMAGE_FALLBACK)
    body = {
        "error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "errors": [
                {"message": "Requested entity was not found.", "domain": "global", "reason": "notFound"}
            ],
            "status": "NOT_FOUND",
        }
    }
    stack.provider.faults(raw("gemini", 404, body))

    status, answer = invoke(THUMBNAIL, {"prompt": "A fox in a lighthouse"})

    assert status == 200, answer
    assert answer["model"] == IMAGE_FALLBACK
    assert asked(stack, IMAGE) == 1


def test_openrouters_model_is_not_available_404_on_the_primary_moves_to_the_fallback(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenRouter answers a model it no longer serves with 404 `{"error": {"message": "Model
    claude-3-sonnet is not available", "code": 404}}` (https://github.com/Pythagora-io/gpt-pilot/issues/883)
    and 400 "Model meta/meta-llama-3-8b-instruct is not available" (deeterbleater/deertick#13).
    Neither is in `model_gone.WORDINGS` ("No endpoints found for X." / "X is not a valid model ID"
    only). Expected: model gone, the next model of the chain answers (200); measured: 502
    `provider_rejected` after one attempt."""
    monkeypatch.setenv("TEXT_FALLBACK_MODELS", TEXT_FALLBACK)
    stack.provider.faults(
        raw("openai", 404, {"error": {"message": f"Model {TEXT} is not available", "code": 404}})
    )

    status, answer = invoke("StorySegmentsFunction", {"prompt": "A lighthouse keeper", "segment_count": 2})

    assert status == 200, answer
    models: list[Any] = [r["body"].get("model") for r in stack.provider.requests()]
    assert models[-1] != TEXT, f"the last request still asked the gone model: {models}"


def test_vertex_publisher_model_is_not_found_wording_on_the_primary_moves_to_the_fallback(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vertex AI's project-less wording (the path express mode, the template's default backend,
    calls): 404 "Publisher Model `publishers/google/models/claude-3-sonnet` is not found."
    (https://github.com/googleapis/python-aiplatform/issues/3574). `model_gone` only knows
    "... was not found or your project does not have access to it" (genkit#4688), so "is not
    found" is REJECTED. Expected: 200 from the fallback; measured: 502 after one attempt."""
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("IMAGE_FALLBACK_MODELS", IMAGE_FALLBACK)
    message = f"Publisher Model `publishers/google/models/{IMAGE}` is not found."
    stack.provider.faults(
        raw("gemini", 404, {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}})
    )

    status, answer = invoke(THUMBNAIL, {"prompt": "A fox in a lighthouse"})

    assert status == 200, answer
    assert answer["model"] == IMAGE_FALLBACK
    assert asked(stack, IMAGE) == 1
