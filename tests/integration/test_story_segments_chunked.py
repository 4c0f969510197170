"""POST /stories/segments/chunked over the wire: one continuous story, chunk by chunk."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Invoke, Stack, assert_refused

pytestmark = pytest.mark.integration

FUNCTION = "StorySegmentsChunkedFunction"
SKIP = {"kind": "latency", "ms": 0}  # lets one request through untouched


def user_message(request: dict[str, Any]) -> str:
    content: str = request["body"]["messages"][-1]["content"]
    return content


def scripted_chunk(count: int, tag: str) -> str:
    segments = [
        {
            "text": f"{tag} beat {n}: Mara hides the brass key under floorboard {n}.",
            "visual_prompt": "vertical shot",
        }
        for n in range(1, count + 1)
    ]
    return json.dumps({"segments": segments, "story_so_far": f"{tag}: Mara has hidden the key."})


def test_long_story_in_exactly_the_segments_asked_for(stack: Stack, invoke: Invoke) -> None:
    status, answer = invoke(
        FUNCTION, {"prompt": "A heist at a lighthouse", "segment_count": 23, "chunk_size": 10}
    )

    assert status == 200
    assert [segment["index"] for segment in answer["segments"]] == list(range(1, 24))
    outline, *chunks = stack.provider.requests()
    assert outline["body"]["response_format"]["json_schema"]["name"] == "StoryOutline"
    assert (
        outline["body"]["response_format"]["json_schema"]["schema"]["properties"]["chunks"]["minItems"] == 3
    )
    pinned = [
        c["body"]["response_format"]["json_schema"]["schema"]["properties"]["segments"]["maxItems"]
        for c in chunks
    ]
    assert pinned == [10, 10, 3]


def test_each_chunk_carries_text_from_the_chunk_before(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults(SKIP, {"kind": "reply", "content": scripted_chunk(5, "FIRST")})

    status, answer = invoke(
        FUNCTION, {"prompt": "A heist at a lighthouse", "segment_count": 15, "chunk_size": 5}
    )

    assert status == 200
    _, first, second, third = stack.provider.requests()
    assert "segments 1 to 5 of 15" in user_message(first)
    assert "FIRST: Mara has hidden the key." in user_message(second)
    for n in (3, 4, 5):
        assert f"FIRST beat {n}: Mara hides the brass key under floorboard {n}." in user_message(second)
    assert "FIRST beat 2:" not in user_message(second), "only the last segments go verbatim"
    for segment in answer["segments"][7:10]:
        assert segment["text"] in user_message(third)
    assert answer["segments"][0]["text"].startswith("FIRST beat 1")
    assert '"title"' in user_message(third), "every chunk sees the outline"


def test_short_story_takes_a_single_request(stack: Stack, invoke: Invoke) -> None:
    status, answer = invoke(FUNCTION, {"prompt": "x", "segment_count": 4, "chunk_size": 10})

    assert status == 200
    assert len(answer["segments"]) == 4
    assert len(stack.provider.requests()) == 1


def test_a_chunk_that_fails_validation_is_reasked_alone(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults(SKIP, SKIP, {"kind": "wrong_size"})

    status, answer = invoke(FUNCTION, {"prompt": "x", "segment_count": 9, "chunk_size": 3})

    assert status == 200
    assert len(answer["segments"]) == 9
    names = [r["body"]["response_format"]["json_schema"]["name"] for r in stack.provider.requests()]
    assert names == ["StoryOutline", "ChunkReply", "ChunkReply", "ChunkReply", "ChunkReply"]
    reasked = stack.provider.requests()[3]["body"]["messages"]
    assert "expected exactly 3 items, got 4" in reasked[-1]["content"]
    assert "segments 4 to 6 of 9" in reasked[1]["content"], "the same chunk is asked again"


def test_a_chunk_that_keeps_failing_returns_the_paid_chunks(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults(SKIP, SKIP, {"kind": "malformed", "count": 2})

    status, answer = invoke(FUNCTION, {"prompt": "x", "segment_count": 9, "chunk_size": 3})

    assert status == 502
    assert answer["code"] == "invalid_model_output"
    assert [segment["index"] for segment in answer["partial"]["segments"]] == [1, 2, 3]
    assert answer["partial"]["completed_chunks"] == 1
    assert answer["partial"]["title"]


@pytest.mark.slow  # runs to a 6 s gateway deadline
def test_over_http_it_answers_within_api_gateways_wait_with_what_is_done(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 6 s, less the 1.5 s margin: room for the outline and a few chunks even on a loaded machine.
    monkeypatch.setenv("API_GATEWAY_TIMEOUT_SECONDS", "6")
    stack.provider.configure(latency_ms=700)

    status, answer = invoke(
        FUNCTION, {"prompt": "x", "segment_count": 40, "chunk_size": 4}, timeout_seconds=300
    )

    assert status == 504
    assert answer["code"] == "deadline_exceeded"
    assert 0 < len(answer["partial"]["segments"]) < 40  # stopped by the gateway's deadline, not done


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "x"}, "segment_count"),
        ({"prompt": "x", "segment_count": 0}, "segment_count"),
        ({"prompt": "x", "segment_count": 201}, "segment_count"),
        ({"prompt": "x", "segment_count": 10, "chunk_size": 0}, "chunk_size"),
        ({"prompt": "x", "segment_count": 10, "chunk_size": 26}, "chunk_size"),
        ({"prompt": "", "segment_count": 10}, "prompt"),
        ({"prompt": "x", "segment_count": 10, "language": "??"}, "language"),
    ],
)
def test_invalid_input_names_the_field(
    stack: Stack, invoke: Invoke, body: dict[str, Any], field: str
) -> None:
    assert_refused(invoke, stack, FUNCTION, body, field)
