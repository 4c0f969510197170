"""Veo on Vertex AI reaches the project-scoped endpoint with the API key (issue 21 item 3: "Vertex AI
(Veo 3.1 GA) stays a supported backend").

Vertex AI express mode (an API key and no project: the project-less
`.../v1beta1/publishers/google/models/{veo}:predictLongRunning`) serves `generateContent`,
`streamGenerateContent` and `countTokens` only
(https://cloud.google.com/vertex-ai/generative-ai/docs/start/express-mode/vertex-ai-express-mode-api-reference,
read 2026-12-07); a Veo id there is 400 "Invalid resource field value in the request."
(https://github.com/googleapis/java-genai/issues/570). What works with a key is the project-scoped
`/v1beta1/projects/{p}/locations/us-central1/publishers/google/models/{veo 3.1 GA id}:predictLongRunning`
(https://github.com/googleapis/dotnet-genai/issues/305, 2026-05-05). google-genai 3.4.0 drops
`GOOGLE_CLOUD_PROJECT` / `GOOGLE_CLOUD_LOCATION` when a key is passed explicitly ("Explicit api_key
takes precedence over implicit project/location"), so the connector passes them with the key.
"""

from __future__ import annotations

import pytest
from google import genai
from google.genai import errors, types

from contentgen.catalog import default_chain
from tests.durable_jobs import RunnerStarter
from tests.integration.conftest import Stack
from tests.integration.test_model_gone import video_api, video_runs  # noqa: F401 (fixtures)
from tests.integration.test_video_jobs import Api, finish

pytestmark = pytest.mark.integration


def test_a_veo_start_on_vertex_uses_the_configured_project_and_location(
    stack: Stack,
    video_api: Api,  # noqa: F811
    video_runs: RunnerStarter,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
    stack.provider.configure(video_polls=1)

    video_api.start(prompt="A paper boat", duration_seconds=8)
    finish(video_runs)

    requests = stack.provider.requests()
    starts = [r for r in requests if r["path"].endswith(":predictLongRunning")]
    assert starts, [r["path"] for r in requests]
    assert all("/projects/my-project/locations/us-central1/" in r["path"] for r in starts), starts
    checks = [r["path"] for r in requests if r["path"].endswith(":fetchPredictOperation")]
    assert checks
    assert all("/projects/my-project/locations/us-central1/" in path for path in checks)
    # The key from SSM authenticates the project-scoped call: no OAuth token (no ADC) is sent.
    assert all(r["headers"].get("x-goog-api-key") == stack.google_key for r in starts)
    assert not any("authorization" in r["headers"] for r in starts)


def test_veo_on_vertex_without_a_project_is_refused_before_any_request(
    stack: Stack,
    video_api: Api,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Express mode serves no Veo: without GOOGLE_CLOUD_PROJECT the start is a 503 naming what to
    set, no job started, nothing asked of (or paid to) the provider."""
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)

    status, answer = video_api.call("POST", "/videos", {"prompt": "A paper boat", "duration_seconds": 8})

    assert status == 503, answer
    assert "GOOGLE_CLOUD_PROJECT" in answer["message"], answer
    assert "GoogleCloudProject" in answer["message"], answer
    assert stack.provider.requests() == []


def test_the_emulator_answers_a_veo_start_in_express_mode_as_vertex_does(stack: Stack) -> None:
    """The real SDK in express mode (a key, no project) against the emulator: the project-less
    path, and Vertex AI's 400 for a Veo id there (java-genai#570), in the provider's words."""
    client = genai.Client(
        vertexai=True,
        api_key=stack.google_key,
        http_options=types.HttpOptions(
            base_url=stack.provider.url, retry_options=types.HttpRetryOptions(attempts=1)
        ),
    )
    veo = default_chain("video")[0]

    with pytest.raises(errors.ClientError) as refused:
        client.models.generate_videos(
            model=veo,
            source=types.GenerateVideosSource(prompt="A paper boat"),
            config=types.GenerateVideosConfig(duration_seconds=8),
        )

    assert refused.value.code == 400
    assert refused.value.status == "INVALID_ARGUMENT"
    assert refused.value.message == "Invalid resource field value in the request."
    [request] = stack.provider.requests()
    assert request["path"] == f"/v1beta1/publishers/google/models/{veo}:predictLongRunning"
