"""POST /stories/segments/sets over the wire: different takes, requested concurrently (bounded)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Invoke, Stack, assert_refused

pytestmark = pytest.mark.integration

FUNCTION = "StorySegmentsInSetsFunction"


def test_sets_of_segments_each_a_different_take(stack: Stack, invoke: Invoke) -> None:
    status, answer = invoke(
        FUNCTION, {"prompt": "A robot learns to paint", "set_count": 3, "segments_per_set": 4}
    )

    assert status == 200
    assert [story_set["index"] for story_set in answer["sets"]] == [1, 2, 3]
    assert all([s["index"] for s in story_set["segments"]] == [1, 2, 3, 4] for story_set in answer["sets"])
    assert len({story_set["angle"] for story_set in answer["sets"]}) == 3
    prompts = [request["body"]["messages"][-1]["content"] for request in stack.provider.requests()]
    angles = {line for prompt in prompts for line in prompt.splitlines() if line.startswith("Your angle:")}
    assert len(angles) == 3, "each request names its own angle"
    assert all("take" in prompt and "of 3" in prompt for prompt in prompts)


@pytest.mark.parametrize(("bound", "sets"), [(2, 5), (5, 5)])
def test_requests_in_flight_never_exceed_the_bound(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, bound: int, sets: int
) -> None:
    monkeypatch.setenv("MAX_PARALLEL_REQUESTS", str(bound))
    stack.provider.configure(latency_ms=400)

    status, answer = invoke(FUNCTION, {"prompt": "x", "set_count": sets, "segments_per_set": 2})

    assert status == 200
    assert len(answer["sets"]) == sets
    assert stack.provider.stats()["max_in_flight"] == bound


def test_a_failing_set_returns_the_others_with_the_error(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_PARALLEL_REQUESTS", "1")  # the first set takes both bad replies
    stack.provider.faults({"kind": "malformed", "count": 2})

    status, answer = invoke(FUNCTION, {"prompt": "x", "set_count": 4, "segments_per_set": 2})

    assert status == 502
    assert answer["code"] == "invalid_model_output"
    assert [story_set["index"] for story_set in answer["partial"]["sets"]] == [2, 3, 4]
    assert len(stack.provider.requests()) == 5


def test_provider_down_for_every_set_is_502(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults({"kind": "server_error", "status": 503, "count": 6})

    status, answer = invoke(FUNCTION, {"prompt": "x", "set_count": 2, "segments_per_set": 2})

    assert status == 502
    assert answer["code"] == "provider_unavailable"
    assert answer["partial"]["sets"] == []


def test_wrong_sized_set_is_reasked(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults({"kind": "wrong_size"})

    status, answer = invoke(FUNCTION, {"prompt": "x", "set_count": 2, "segments_per_set": 3})

    assert status == 200
    assert all(len(story_set["segments"]) == 3 for story_set in answer["sets"])
    assert len(stack.provider.requests()) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "x", "segments_per_set": 2}, "set_count"),
        ({"prompt": "x", "set_count": 2}, "segments_per_set"),
        ({"prompt": "x", "set_count": 0, "segments_per_set": 2}, "set_count"),
        ({"prompt": "x", "set_count": 11, "segments_per_set": 2}, "set_count"),
        ({"prompt": "x", "set_count": 2, "segments_per_set": 21}, "segments_per_set"),
        ({"prompt": "x", "set_count": "2", "segments_per_set": 2}, "set_count"),
    ],
)
def test_invalid_input_names_the_field(
    stack: Stack, invoke: Invoke, body: dict[str, Any], field: str
) -> None:
    assert_refused(invoke, stack, FUNCTION, body, field)
