"""The catalog's video durations are the ones the APIs take (issue 21 items 1 and 4: capabilities in
the catalog decide what is refused before any paid call).

Gemini Omni on the Interactions API takes any whole number of seconds in its range
(`response_format.duration`): TanStack/ai#886 (2026-07-02, "any value in the 3-10 second range
... verified against the live API ... a 3s request returns a 3.008s MP4") and TanStack/ai#1272 for
the GA `gemini-omni-1.1-flash` ("Duration stays 3-10s per call"), read 2026-12-07. The catalog
listed 1.1 as 4/6/8/10 (a reseller's menu), so on the Gemini API backend the fallback of the video
chain was dropped for 3, 5, 7 and 9 s (`capable_video_models`). Veo 3.x takes 4, 6 or 8 only (its
400 for 5, sources in the catalog).
"""

from __future__ import annotations

import pytest

from contentgen.catalog import find_model, load_catalog, video_violations

OMNI_1_1 = "gemini-omni-1.1-flash"  # named on purpose: the entry whose facts were wrong


@pytest.mark.parametrize("seconds", [3, 5, 7, 9])
def test_omni_1_1_makes_every_whole_second_from_3_to_10(seconds: int) -> None:
    assert video_violations(OMNI_1_1, duration_seconds=seconds, aspect_ratio="9:16") == []


def test_omni_1_1_refuses_outside_3_to_10_with_the_allowed_values() -> None:
    [problem] = video_violations(OMNI_1_1, duration_seconds=11, aspect_ratio="9:16")
    assert problem.field == "duration_seconds"
    assert list(problem.allowed) == list(range(3, 11))


def test_every_interactions_video_model_takes_every_whole_second_of_its_range() -> None:
    """The kind: an Interactions (Omni) video entry lists every whole second between its bounds."""
    entries = [
        entry
        for entry in load_catalog().models
        if entry.video is not None and entry.surface == "interactions"
    ]
    assert entries
    for entry in entries:
        assert entry.video is not None
        low, high = entry.video.duration_bounds
        assert entry.video.durations == list(range(low, high + 1)), entry.id
        assert low <= entry.video.default_duration <= high, entry.id


def test_every_veo_model_takes_4_6_or_8_seconds() -> None:
    entries = [
        entry
        for entry in load_catalog().models
        if entry.video is not None and entry.surface == "predict_long_running"
    ]
    assert entries
    for entry in entries:
        assert entry.video is not None
        assert entry.video.durations == [4, 6, 8], entry.id
        assert entry.video.duration_bounds == (4, 8), entry.id
    assert find_model(OMNI_1_1) is not None
