"""`language` on memes, free content and ideas; a `character` kept in every visual_prompt."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Invoke, Stack

pytestmark = pytest.mark.integration

LOOK = "a small round copper robot with one big blue camera eye and a paint-stained apron"
CHARACTER = {"name": "Pip", "visual_prompt": LOOK}
# What POST /characters/analyze answers is accepted as it is.
ANALYZED = {
    "name": None,
    "appearance": "round copper body, one blue camera eye",
    "clothing": "paint-stained apron",
    "personality_cues": ["curious", "gentle"],
    "art_style": "soft 3D render, warm light",
    "visual_prompt": LOOK,
}


def _messages(stack: Stack) -> str:
    return "\n".join(
        str(message["content"])
        for request in stack.provider.requests()
        for message in request["body"]["messages"]
    )


@pytest.mark.parametrize(
    ("function", "body"),
    [
        ("MemeSegmentsFunction", {"prompt": "mondays", "segment_count": 3, "language": "es-MX"}),
        ("FreeContentFunction", {"prompt": "a caption for a sunrise", "language": "es-MX"}),
        ("TrendingIdeasFunction", {"niche": "home cooking", "idea_count": 3, "language": "es-MX"}),
    ],
)
def test_language_reaches_the_prompt(
    stack: Stack, invoke: Invoke, function: str, body: dict[str, Any]
) -> None:
    status, answer = invoke(function, body)

    assert status == 200, answer
    assert "(BCP 47): es-MX" in _messages(stack)


@pytest.mark.parametrize("character", [CHARACTER, ANALYZED])
@pytest.mark.parametrize(
    ("function", "body", "segments_of"),
    [
        ("StorySegmentsFunction", {"prompt": "a robot learns to paint", "segment_count": 3}, "segments"),
        ("MemeSegmentsFunction", {"prompt": "wet paint", "segment_count": 3}, "segments"),
        ("StorySegmentsInSetsFunction", {"prompt": "a robot", "set_count": 2, "segments_per_set": 2}, "sets"),
        (
            "StorySegmentsChunkedFunction",
            {"prompt": "a robot", "segment_count": 4, "chunk_size": 2},
            "segments",
        ),
    ],
)
def test_character_look_is_in_every_visual_prompt(
    stack: Stack,
    invoke: Invoke,
    function: str,
    body: dict[str, Any],
    segments_of: str,
    character: dict[str, Any],
) -> None:
    status, answer = invoke(function, {**body, "character": character})

    assert status == 200, answer
    segments = (
        [segment for story_set in answer["sets"] for segment in story_set["segments"]]
        if segments_of == "sets"
        else answer["segments"]
    )
    assert segments
    assert all(LOOK in segment["visual_prompt"] for segment in segments)
    assert f"word for word: {LOOK}" in _messages(stack)


def test_thumbnail_draws_the_character(stack: Stack, invoke: Invoke) -> None:
    status, answer = invoke(
        "GenerateThumbnailFunction", {"prompt": "Pip at the easel", "character": CHARACTER}
    )

    assert status == 200, answer
    (request,) = [
        request
        for request in stack.provider.requests()
        if "predict" in request["path"] or "generate" in request["path"]
    ]
    assert LOOK in str(request["body"])


@pytest.mark.parametrize(
    "character",
    [{"name": "Pip"}, {"visual_prompt": ""}, {"visual_prompt": LOOK, "mood": "happy"}, "Pip"],
)
def test_a_malformed_character_is_refused(stack: Stack, invoke: Invoke, character: Any) -> None:
    status, answer = invoke("StorySegmentsFunction", {"prompt": "x", "character": character})

    assert status == 422, answer
    assert any(error["field"].startswith("character") for error in answer["errors"])
    assert stack.provider.requests() == []
