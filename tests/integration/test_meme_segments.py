"""POST /memes/segments over the wire."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Invoke, Stack, assert_refused

pytestmark = pytest.mark.integration

FUNCTION = "MemeSegmentsFunction"


def beats(*names: str, caption: str = "Me at 3 a.m.") -> str:
    return json.dumps(
        {
            "segments": [
                {"beat": b, "text": f"{b} line", "caption": caption, "visual_prompt": "shot"} for b in names
            ]
        }
    )


def test_beats_from_setup_to_punchline_with_short_captions(stack: Stack, invoke: Invoke) -> None:
    status, answer = invoke(FUNCTION, {"prompt": "When the code works on the first try"})

    assert status == 200
    segments = answer["segments"]
    assert [segment["index"] for segment in segments] == [1, 2, 3, 4]
    assert segments[0]["beat"] == "setup"
    assert segments[-1]["beat"] == "punchline"
    assert all(len(segment["caption"]) <= 80 for segment in segments)
    schema = stack.provider.requests()[0]["body"]["response_format"]["json_schema"]["schema"]
    caption = schema["$defs"]["MemeBeatReply"]["properties"]["caption"]
    assert "at most 80 characters" in caption["description"]


def test_beats_follow_from_position_whatever_the_model_labels_them(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults({"kind": "reply", "content": beats("punchline", "setup", "escalation")})

    status, answer = invoke(FUNCTION, {"prompt": "x", "segment_count": 3})

    assert status == 200
    assert [segment["beat"] for segment in answer["segments"]] == ["setup", "escalation", "punchline"]
    assert [segment["text"] for segment in answer["segments"]] == [
        "punchline line",
        "setup line",
        "escalation line",
    ]
    assert len(stack.provider.requests()) == 1, "a label is never a reason to ask again"
    schema = stack.provider.requests()[0]["body"]["response_format"]["json_schema"]["schema"]
    assert "beat" not in schema["$defs"]["MemeBeatReply"]["properties"], "position says which beat it is"


def test_a_single_beat_is_the_punchline(stack: Stack, invoke: Invoke) -> None:
    status, answer = invoke(FUNCTION, {"prompt": "x", "segment_count": 1})

    assert status == 200
    assert [segment["beat"] for segment in answer["segments"]] == ["punchline"]


def test_a_caption_over_its_limit_is_trimmed_at_a_word_not_reasked(stack: Stack, invoke: Invoke) -> None:
    caption = "When the build passes on the first try and you do not trust it one bit, so you run it again"
    stack.provider.faults({"kind": "reply", "content": beats("setup", "punchline", caption=caption)})

    status, answer = invoke(FUNCTION, {"prompt": "x", "segment_count": 2})

    assert status == 200
    assert len(stack.provider.requests()) == 1
    for segment in answer["segments"]:
        assert len(segment["caption"]) <= 80
        assert caption.startswith(segment["caption"])
        assert caption[len(segment["caption"])] == " ", "cut at a word boundary"


def test_a_blank_caption_twice_is_502(stack: Stack, invoke: Invoke) -> None:
    blank_caption = beats("setup", "punchline", caption=" ")
    stack.provider.faults({"kind": "reply", "content": blank_caption, "count": 2})

    status, answer = invoke(FUNCTION, {"prompt": "x", "segment_count": 2})

    assert status == 502
    assert "caption" in answer["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "x", "segment_count": 21}, "segment_count"),
        ({"prompt": "x", "segment_count": 0}, "segment_count"),
        ({"prompt": "x", "language": "en"}, "language"),
        ({}, "prompt"),
    ],
)
def test_invalid_input_names_the_field(
    stack: Stack, invoke: Invoke, body: dict[str, Any], field: str
) -> None:
    assert_refused(invoke, stack, FUNCTION, body, field)
