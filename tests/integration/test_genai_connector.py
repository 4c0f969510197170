"""The google-genai SDK over the wire to the emulator's generateContent, under the retry policy.

The media functions build on this; here it shows that the connector honours the SDK's base-URL
switch, and that the layer's one retry policy classifies the SDK's errors.
"""

from __future__ import annotations

import json

import pytest
from google.genai import types

from contentgen.catalog import models_of
from contentgen.connectors.genai_connector import get_genai_client, google_genai
from contentgen.core.deadline import Deadline, deadline_scope
from contentgen.core.retry import Attempt
from contentgen.errors import ProviderUnavailableError
from local.emulator import EmulatorControl, EmulatorServer

pytestmark = pytest.mark.integration

# A text model the Gemini API serves through generateContent, from the catalog.
TEXT_ON_GEMINI = models_of("text", backend="gemini_api")[0].id

SCHEMA = {
    "type": "object",
    "properties": {"ideas": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "string"}}},
    "required": ["ideas"],
}


@pytest.fixture
def gemini(
    monkeypatch: pytest.MonkeyPatch, emulator: EmulatorServer, provider: EmulatorControl
) -> EmulatorControl:
    monkeypatch.setenv("GOOGLE_API_KEY", "it-google-key")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.url)
    return provider


def ask() -> types.GenerateContentResponse:
    def attempt(client: object, call: Attempt) -> types.GenerateContentResponse:
        return get_genai_client().models.generate_content(
            model=TEXT_ON_GEMINI,
            contents="three ideas for a cooking short",
            config=types.GenerateContentConfig(
                response_mime_type="application/json",
                response_json_schema=SCHEMA,
                http_options=types.HttpOptions(timeout=int(call.timeout * 1000)),
            ),
        )

    with deadline_scope(Deadline.after(20)):
        return google_genai.call(attempt, models=[TEXT_ON_GEMINI], name="generate_content")


def test_generate_content_with_a_json_schema(gemini: EmulatorControl) -> None:
    response = ask()

    assert len(json.loads(response.text or "")["ideas"]) == 3
    (request,) = gemini.requests()
    assert request["path"].endswith(f"/models/{TEXT_ON_GEMINI}:generateContent")
    assert request["headers"]["x-goog-api-key"] == "it-google-key"


def test_429_then_success_is_retried_by_the_layer(gemini: EmulatorControl) -> None:
    gemini.faults({"kind": "rate_limit", "retry_after": 0.2, "target": "gemini"})

    assert json.loads(ask().text or "")["ideas"]
    assert len(gemini.requests()) == 2


def test_persistent_5xx_becomes_a_502_error(gemini: EmulatorControl) -> None:
    gemini.faults({"kind": "server_error", "status": 503, "count": 3, "target": "gemini"})

    with pytest.raises(ProviderUnavailableError):
        ask()

    assert len(gemini.requests()) == 3
