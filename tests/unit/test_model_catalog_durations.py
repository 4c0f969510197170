"""Probe of issue 21 item 1/4 (capabilities in the catalog decide what is refused before any paid
call): Gemini Omni 1.1 Flash's durations.

The catalog lists `gemini-omni-1.1-flash` durations as [4, 6, 8, 10] (with `duration_bounds`
[3, 10]). Public, live-verified sources: TanStack/ai#886 ("`duration` onto
`response_format.duration` - any value in the 3-10 second range (fractional seconds included) ...
verified against the live API ... a 3s request returns a 3.008s MP4") and TanStack/ai#1272 for the
GA id ("Duration stays 3-10s per call"). So on the Gemini API backend the fallback of the video
chain is wrongly dropped for 3, 5, 7 and 9 s (`capable_video_models`): with Omni 1.2 gone, such a
request fails `model_unavailable` although the fallback could make it.
"""

from __future__ import annotations

import pytest

from contentgen.catalog import video_violations


@pytest.mark.parametrize("seconds", [3, 5, 7, 9])
def test_omni_1_1_makes_every_whole_second_from_3_to_10(seconds: int) -> None:
    assert video_violations("gemini-omni-1.1-flash", duration_seconds=seconds, aspect_ratio="9:16") == []
