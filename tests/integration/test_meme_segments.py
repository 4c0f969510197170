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


def test_beats_out_of_order_are_reasked(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults({"kind": "reply", "content": beats("punchline", "setup", "escalation")})

    status, answer = invoke(FUNCTION, {"prompt": "x", "segment_count": 3})

    assert status == 200
    assert [segment["beat"] for segment in answer["segments"]] == ["setup", "escalation", "punchline"]
    assert (
        "last beat must be the punchline" in stack.provider.requests()[1]["body"]["messages"][-1]["content"]
    )


def test_caption_too_long_twice_is_502(stack: Stack, invoke: Invoke) -> None:
    long_caption = beats("setup", "punchline", caption="x" * 81)
    stack.provider.faults({"kind": "reply", "content": long_caption, "count": 2})

    status, answer = invoke(FUNCTION, {"prompt": "x", "segment_count": 2})

    assert status == 502
    assert "caption" in answer["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "x", "segment_count": 21}, "segment_count"),
        ({"prompt": "x", "segment_count": 0}, "segment_count"),
        ({"prompt": "x", "language": "not a language"}, "language"),
        ({}, "prompt"),
    ],
)
def test_invalid_input_names_the_field(
    stack: Stack, invoke: Invoke, body: dict[str, Any], field: str
) -> None:
    assert_refused(invoke, stack, FUNCTION, body, field)
