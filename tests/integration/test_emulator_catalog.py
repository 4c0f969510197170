"""The emulator serves the model catalog: a retired, unknown or wrong-API model gets the provider's
real 404 (OpenRouter: 400 for an unknown id), a Veo duration the model does not take gets Veo's real
400, through the real SDKs and raw HTTP. Bodies and sources: local/emulator_catalog.py."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from contentgen.catalog import default_chain, find_model
from local.emulator import EmulatorControl, EmulatorServer

pytestmark = pytest.mark.integration

TEXT, TEXT_FALLBACK = default_chain("text")[:2]
IMAGE = default_chain("image")[0]
VIDEO = default_chain("video")[0]
RETIRED_IMAGE = "gemini-2.5-flash-image"  # shut down 2026-10-02
RETIRED_VEO = "veo-3.0-generate-001"  # shut down 2026-06-30
RETIRED_TEXT = "google/gemini-2.5-flash"  # shut down 2026-06-17
VERTEX_MODELS = "v1beta1/projects/p/locations/us-central1/publishers/google/models"


def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def google(emulator: EmulatorServer, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return post(f"{emulator.url}/{path}", body, {"x-goog-api-key": "k"})


def chat(emulator: EmulatorServer, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body = {"messages": [{"role": "user", "content": "hello"}], **body}
    return post(f"{emulator.url}/api/v1/chat/completions", body, {"Authorization": "Bearer k"})


def test_a_retired_gemini_model_is_googles_404_through_the_sdk(
    emulator: EmulatorServer, provider: EmulatorControl
) -> None:
    client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emulator.url))

    with pytest.raises(genai_errors.ClientError) as raised:
        client.models.generate_content(model=RETIRED_IMAGE, contents="a fox")

    assert raised.value.code == 404
    assert raised.value.status == "NOT_FOUND"
    # The version is the request's: google-genai 3.4.0 talks to the Gemini API's v1 by default.
    assert raised.value.message == (
        f"models/{RETIRED_IMAGE} is not found for API version v1, or is not supported for generateContent. "
        "Call ListModels to see the list of available models and their supported methods."
    )
    answer = client.models.generate_content(
        model=IMAGE,
        contents="a fox",
        config=types.GenerateContentConfig(response_modalities=["IMAGE"]),
    )
    assert answer.candidates


def test_a_retired_or_unknown_vertex_model_is_the_publisher_model_404(
    emulator: EmulatorServer, provider: EmulatorControl
) -> None:
    for model in (RETIRED_VEO, "veo-9-unreleased"):
        status, body = google(emulator, f"{VERTEX_MODELS}/{model}:predictLongRunning", {"instances": [{}]})

        assert status == 404
        assert body["error"]["status"] == "NOT_FOUND"
        assert body["error"]["message"].startswith(
            f"Publisher Model `projects/p/locations/us-central1/publishers/google/models/{model}` was not found "
            "or your project does not have access to it."
        )


def test_a_vertex_only_veo_is_not_served_by_the_gemini_api(
    emulator: EmulatorServer, provider: EmulatorControl
) -> None:
    entry = find_model(VIDEO)
    assert entry is not None
    assert entry.backends == ["vertex_ai"]

    status, body = google(emulator, f"v1beta/models/{VIDEO}:predictLongRunning", {"instances": [{}]})

    assert status == 404
    assert "is not supported for predictLongRunning" in body["error"]["message"]
    status, _ = google(emulator, f"{VERTEX_MODELS}/{VIDEO}:predictLongRunning", {"instances": [{}]})
    assert status == 200


@pytest.mark.parametrize("seconds", [5, 10, 3])
def test_a_veo_duration_it_does_not_take_is_veos_400(
    emulator: EmulatorServer, provider: EmulatorControl, seconds: int
) -> None:
    body = {"instances": [{"prompt": "a boat"}], "parameters": {"durationSeconds": seconds}}

    status, answer = google(emulator, f"{VERTEX_MODELS}/{VIDEO}:predictLongRunning", body)

    assert status == 400
    assert answer["error"] == {
        "code": 400,
        "message": "The number value for `durationSeconds` is out of bound. "
        "Please provide a value between 4 and 8, inclusive.",
        "status": "INVALID_ARGUMENT",
    }
    assert provider.requests()[-1]["body"] == body, "recorded as received"


def test_the_catalog_is_judged_on_the_configured_day(
    emulator: EmulatorServer, provider: EmulatorControl
) -> None:
    path = f"{VERTEX_MODELS}/{RETIRED_VEO}:predictLongRunning"
    provider.configure(today="2026-06-01")
    assert google(emulator, path, {"instances": [{}]})[0] == 200, "served before its shutdown"
    provider.configure(today="2026-06-30")
    assert google(emulator, path, {"instances": [{}]})[0] == 404
    provider.reset()
    assert google(emulator, path, {"instances": [{}]})[0] == 404


def test_openrouter_unknown_id_is_400_and_retired_id_is_404(
    emulator: EmulatorServer, provider: EmulatorControl
) -> None:
    client = openai.OpenAI(api_key="k", base_url=f"{emulator.url}/api/v1", max_retries=0)

    with pytest.raises(openai.BadRequestError) as unknown:
        client.chat.completions.create(
            model="vendor/no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert unknown.value.status_code == 400
    assert unknown.value.body == {"message": "vendor/no-such-model is not a valid model ID", "code": 400}

    with pytest.raises(openai.NotFoundError) as retired:
        client.chat.completions.create(model=RETIRED_TEXT, messages=[{"role": "user", "content": "hi"}])
    assert retired.value.status_code == 404
    assert retired.value.body == {"message": f"No endpoints found for {RETIRED_TEXT}.", "code": 404}


def test_openrouter_serves_a_chain_from_its_first_live_model(
    emulator: EmulatorServer, provider: EmulatorControl
) -> None:
    status, answer = chat(emulator, {"model": RETIRED_TEXT, "models": [RETIRED_TEXT, TEXT_FALLBACK]})

    assert status == 200
    assert answer["model"] == TEXT_FALLBACK
    status, answer = chat(emulator, {"model": TEXT, "models": [TEXT, "vendor/no-such-model"]})
    assert (status, answer["error"]["message"]) == (400, "vendor/no-such-model is not a valid model ID")


def test_strict_parameters_refuse_what_no_endpoint_of_the_chain_takes(
    emulator: EmulatorServer, provider: EmulatorControl
) -> None:
    entry = find_model(TEXT)
    assert entry is not None
    assert not entry.accepts("temperature")
    request = {"model": TEXT, "temperature": 0.9, "provider": {"require_parameters": True}}
    provider.configure(strict_parameters=False)
    assert chat(emulator, request)[0] == 200, "off when configured so"

    provider.reset()  # on by default

    status, answer = chat(emulator, request)
    assert status == 404
    assert answer["error"]["message"].startswith(
        "No endpoints found that can handle the requested parameters."
    )
    assert chat(emulator, {**request, "models": [TEXT, TEXT_FALLBACK]})[1]["model"] == TEXT_FALLBACK
    assert chat(emulator, {"model": TEXT, "temperature": 0.9})[0] == 200, "without require_parameters"
