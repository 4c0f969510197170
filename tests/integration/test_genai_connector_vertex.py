"""Probe of issue 21 item 3 ("Vertex AI (Veo 3.1 GA) stays a supported backend") against how Vertex
AI really serves Veo to an API key.

The template's default backend is Vertex AI in express mode: `genai.Client(api_key=...)` with
`GOOGLE_GENAI_USE_VERTEXAI=true` and no project. google-genai then calls the project-less
express path `.../v1beta1/publishers/google/models/{veo}:predictLongRunning`. Public reports:

- https://github.com/googleapis/dotnet-genai/issues/305 (2026-05-05): Veo and Imagen are
  *project-scoped* endpoints; with an express API key what works is
  `POST https://us-central1-aiplatform.googleapis.com/v1beta1/projects/{p}/locations/us-central1/publishers/google/models/veo-3.1-generate-001:predictLongRunning`
  with `x-goog-api-key`; the SDK's project-less express mode "prevents SDK users from accessing
  project-scoped endpoints (e.g. Veo video generation, Imagen)".
- https://github.com/googleapis/java-genai/issues/570: express mode (apiKey + vertexAI) and a Veo
  id: `400. Invalid resource field value in the request.` (the same key makes images).

docs/configuration.md and genai_connector's docstring say `GOOGLE_CLOUD_PROJECT` /
`GOOGLE_CLOUD_LOCATION` are honoured "as the SDK reads them"; but google-genai 3.4.0
(`_api_client.py`: "Explicit api_key takes precedence over implicit project/location") drops them
because the connector passes `api_key=` explicitly. So a deployer cannot reach the project-scoped
Veo endpoint at all. Expected: with GOOGLE_CLOUD_PROJECT/LOCATION set, the Veo start names
`projects/{p}/locations/{l}/publishers/google/models/...`. Measured: it never does.
"""

from __future__ import annotations

import pytest

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

    starts = [r["path"] for r in stack.provider.requests() if r["path"].endswith(":predictLongRunning")]
    assert starts, [r["path"] for r in stack.provider.requests()]
    assert all("/projects/my-project/locations/us-central1/" in path for path in starts), starts
