"""Probe of issue 21's "Done when": "a 404 'model gone' on the primary gives 200 from the fallback
with the retired model asked ONCE per container".

A container asks a provider from several threads at once: the shorts pipeline draws each
segment's image in a durable `context.map` with `max_concurrency=SHORT_PARALLEL_SEGMENTS`
(`services/short_pipeline.py`), and `contentgen.core.parallel` fans out sets and chunks. The
container's "gone" memory (`core/retry.py` `_gone_models`) is consulted before a request and
written only after the 404 comes back, with no in-flight marker: every thread that starts while
the first 404 is on the wire asks the retired model too.

Source of the expectation: issue 21 item 5 ("is remembered by the container (not asked again for
a while)") and its Done-when ("the retired model asked once per container"). Here, 4 concurrent
images with a retired primary: expected 1 request to it, measured one per thread.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from contentgen.catalog import default_chain
from contentgen.generation.images import generate_image
from tests.integration.conftest import Stack
from tests.integration.test_model_gone import asked

pytestmark = pytest.mark.integration

IMAGE, IMAGE_FALLBACK = default_chain("image")[:2]


def test_concurrent_requests_of_one_container_ask_a_retired_model_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    # The retired model answers its 404 after 500 ms, as a real round trip to Google takes time.
    stack.provider.configure(retired=[IMAGE], latency_ms=500)

    def draw(n: int) -> str:
        return generate_image(
            f"segment {n}: a fox", aspect_ratio="9:16", models=[IMAGE, IMAGE_FALLBACK]
        ).model

    with ThreadPoolExecutor(max_workers=4) as pool:
        answered = list(pool.map(draw, range(4)))

    assert answered == [IMAGE_FALLBACK] * 4
    assert asked(stack, IMAGE) == 1, (
        f"the retired model was asked {asked(stack, IMAGE)} times by one container"
    )
