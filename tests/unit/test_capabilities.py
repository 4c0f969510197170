"""Capabilities and parameters from the model catalog, checked before any paid call."""

from __future__ import annotations

import pytest

from contentgen.catalog import accepted_parameters, default_chain, find_model
from contentgen.config import Settings
from contentgen.errors import InvalidRequestError
from contentgen.models.media import VideoRequest
from contentgen.services.thumbnails import capable_image_models
from contentgen.services.videos import capable_video_models

VEO_CHAIN = default_chain("video")
OMNI_CHAIN = default_chain("video_gemini_api")


def test_a_duration_no_model_of_the_chain_makes_is_422_naming_the_allowed_values() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        capable_video_models(VideoRequest(prompt="x", duration_seconds=5), VEO_CHAIN)

    assert raised.value.field == "duration_seconds"
    assert raised.value.message.endswith("allowed: 4, 6, 8")
    # Omni 1.2 makes 3-15 s, its fallback Omni 1.1 3-10 s (catalog sources): 5 s both, 12 s the primary only.
    assert capable_video_models(VideoRequest(prompt="x", duration_seconds=5), OMNI_CHAIN) == list(OMNI_CHAIN)
    assert capable_video_models(VideoRequest(prompt="x", duration_seconds=12), OMNI_CHAIN) == [OMNI_CHAIN[0]]


def test_an_aspect_ratio_no_image_model_draws_is_422() -> None:
    chain = default_chain("image")
    assert capable_image_models("9:16", chain) == list(chain)
    with pytest.raises(InvalidRequestError) as raised:
        capable_image_models("7:3", chain)
    assert raised.value.field == "aspect_ratio"
    assert "16:9" in raised.value.message


def test_the_video_chain_follows_the_google_backend() -> None:
    veo = {"VIDEO_MODEL": VEO_CHAIN[0], "VIDEO_FALLBACK_MODELS": ",".join(VEO_CHAIN[1:])}
    on_vertex = Settings.model_validate({**veo, "GOOGLE_GENAI_USE_VERTEXAI": "true"})
    on_gemini_api = Settings.model_validate({**veo, "GOOGLE_GENAI_USE_VERTEXAI": "false"})

    assert on_vertex.video_models == VEO_CHAIN
    assert on_gemini_api.video_models == OMNI_CHAIN, "Veo is Vertex-only: the Gemini API's chain"
    omni = Settings.model_validate({"VIDEO_MODEL": OMNI_CHAIN[1], "GOOGLE_GENAI_USE_VERTEXAI": "false"})
    assert omni.video_models == (OMNI_CHAIN[1],), "a configured model the backend serves is kept"


def test_only_the_parameters_every_model_accepts_are_sent() -> None:
    # The primary and the Gemini 3 fallback take no temperature (catalog source gemini-3-sampling);
    # the last fallback does.
    text, fallback = default_chain("text")[0], default_chain("text")[-1]
    entry, other = find_model(text), find_model(fallback)
    assert entry is not None
    assert other is not None
    assert not entry.accepts("temperature")
    assert other.accepts("temperature")
    wanted = {"temperature": 0.9, "max_tokens": 100, "top_k": None}

    assert accepted_parameters(text, wanted) == {"max_tokens": 100}
    assert accepted_parameters(fallback, wanted) == {"temperature": 0.9, "max_tokens": 100}
    assert accepted_parameters([fallback, text], wanted) == {"max_tokens": 100}
    assert accepted_parameters("acme/not-in-the-catalog", wanted) == {"temperature": 0.9, "max_tokens": 100}
