"""Probe of issue 21 item 5's container memory ("remembered by the container (not asked again for
a while)") when the "gone" answer was not a retirement.

Two of the wordings `model_gone` treats as "gone" are also answered for conditions that pass:
- Vertex AI's 404 "Publisher Model `...` was not found or your project does not have access to
  it" is also its answer for a region/access problem (the product's own comment in
  `connectors/model_gone.py`; https://github.com/genkit-ai/genkit/issues/4688);
- OpenRouter's 404 "No endpoints found for X." is also what it answers when the endpoints the
  request may use are out of capacity (https://github.com/anomalyco/opencode/issues/1558:
  "No endpoints found for moonshotai/kimi-k2" ... "this is because groq is out of capacity").

When every model of the chain meets such an answer once, the container stops asking Google for
`MODEL_UNAVAILABLE_TTL_SECONDS` (default 3600): every request of that container is 502
`model_unavailable` for an hour with NO provider request, even after the provider serves the
models again. Expected: when the memory would leave no model to ask, ask anyway (the remembered
models are a preference, not a ban), so a passing condition costs one failed request, not an
hour of outage per warm container.
"""

from __future__ import annotations

import pytest

from contentgen.catalog import default_chain
from tests.integration.conftest import Invoke, Stack

pytestmark = pytest.mark.integration

THUMBNAIL = "GenerateThumbnailFunction"
IMAGE, IMAGE_FALLBACK = default_chain("image")[:2]


def test_a_chain_remembered_wholly_gone_still_asks_once_the_provider_serves_it_again(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("IMAGE_FALLBACK_MODELS", IMAGE_FALLBACK)
    stack.provider.configure(
        retired=[IMAGE, IMAGE_FALLBACK]
    )  # Vertex: "Publisher Model ... was not found or ..."
    first = invoke(THUMBNAIL, {"prompt": "x"})
    assert first[0] == 502, first

    stack.provider.configure(retired=[])  # access restored / capacity back: both models serve again
    before = len(stack.provider.requests())
    status, answer = invoke(THUMBNAIL, {"prompt": "y"})

    assert len(stack.provider.requests()) > before, (
        "no provider request: the container refused on memory alone"
    )
    assert status == 200, answer
