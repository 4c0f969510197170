"""A short's clips are planned from the model catalog (issue 25): the segment's length against the
durations the video models make (Veo 3.1: 4, 6 or 8 s; Gemini Omni 1.2: 3 to 15 s), at the
aspect ratio they make; the estimate holds the most a clip can cost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contentgen.billing.prices import video_cost
from contentgen.catalog import default_chain
from contentgen.config import get_settings
from contentgen.models.shorts import ShortRequest
from contentgen.services.shorts import clip_bound, clip_plan, estimate

VEO = default_chain("video")  # Vertex AI: veo-3.1-fast-generate-001, then veo-3.1-generate-001
OMNI = default_chain("video_gemini_api")


@pytest.mark.parametrize(("seconds", "planned"), [(2.5, 4), (4.0, 4), (4.2, 6), (5.9, 6), (7.1, 8), (8.0, 8)])
def test_a_segment_gets_the_shortest_veo_clip_that_covers_it(seconds: float, planned: int) -> None:
    plan = clip_plan(seconds, "9:16", VEO)
    assert plan.seconds == planned
    assert plan.models == VEO  # both Veo models make it, in the chain's order
    assert plan.reason is None


def test_a_segment_longer_than_any_veo_clip_keeps_its_still() -> None:
    plan = clip_plan(8.4, "9:16", VEO)
    assert plan.seconds is None
    assert plan.reason is not None
    assert "8.4 s" in plan.reason
    assert "(8 s)" in plan.reason


def test_omni_makes_longer_clips_by_the_second() -> None:
    plan = clip_plan(8.4, "16:9", OMNI)
    assert plan.seconds == 9  # any whole second: both Omni models make 9 s
    assert plan.models == OMNI
    longer = clip_plan(11.4, "16:9", OMNI)
    assert longer.seconds == 12
    assert longer.models == (OMNI[0],)  # Omni 1.1 makes 3 to 10 s only: not 12


def test_an_aspect_ratio_no_video_model_makes_keeps_the_stills() -> None:
    plan = clip_plan(3.0, "1:1", VEO)
    assert plan.seconds is None
    assert plan.reason is not None
    assert "1:1" in plan.reason
    assert "16:9, 9:16" in plan.reason


def test_the_estimate_holds_one_clip_per_segment_at_its_most() -> None:
    with_clips = estimate(ShortRequest(prompt="a kite", segment_count=4, clips=True))
    stills = estimate(ShortRequest(prompt="a kite", segment_count=4))
    most, _ = clip_bound("9:16", get_settings().video_models)
    veo_most, basis = clip_bound("9:16", VEO)
    assert veo_most == Decimal(str(max(video_cost(model, 8) or 0 for model in VEO))) > 0
    assert basis is not None
    assert basis.startswith("8 s of ")
    assert with_clips["video"] == pytest.approx(float(most * 4))
    assert with_clips["total"] == pytest.approx(stills["total"] + float(most * 4))
    assert "4 clips x up to" in with_clips["basis"]
    assert stills["video"] == 0
    assert (
        estimate(ShortRequest(prompt="a kite", segment_count=4, clips=True, aspect_ratio="1:1"))["video"] == 0
    )
