"""Domain rules that need no provider: planning, validators, fan-out."""

from __future__ import annotations

import threading

import pytest
from pydantic import ValidationError

from contentgen.core.deadline import Deadline, current_deadline, deadline_scope
from contentgen.core.parallel import run_bounded
from contentgen.models.characters import CharacterAnalysisRequest, sniff_image
from contentgen.models.ideas import IdeasReply
from contentgen.models.memes import CAPTION_MAX, MemeReply, beat_at
from contentgen.models.schema import SOFT_TRIMS, SoftTrim, trim_at_word
from contentgen.prompts.stories import SET_ANGLES, set_angle, set_user_prompt
from contentgen.services.stories import plan_chunks


@pytest.mark.parametrize(
    ("total", "size", "plan"),
    [
        (23, 10, [(1, 10), (11, 10), (21, 3)]),
        (10, 10, [(1, 10)]),
        (1, 25, [(1, 1)]),
        (200, 25, [(1 + 25 * n, 25) for n in range(8)]),
    ],
)
def test_chunks_cover_every_index_once(total: int, size: int, plan: list[tuple[int, int]]) -> None:
    assert plan_chunks(total, size) == plan
    covered = [first + offset for first, count in plan_chunks(total, size) for offset in range(count)]
    assert covered == list(range(1, total + 1))


def test_every_set_gets_its_own_angle_and_is_told_the_others() -> None:
    assert len({set_angle(index) for index in range(1, 11)}) == len(SET_ANGLES) == 10
    prompt = set_user_prompt(prompt="idea", segments=3, index=2, total=3, style=None, language="en")
    assert f"Your angle: {set_angle(2)}." in prompt
    assert set_angle(1) in prompt
    assert set_angle(3) in prompt


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xdb....", "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFX\x00\x00\x00\x00WEBPVP8 ", None),
        (b"GIF89a....", None),
        (b"", None),
    ],
)
def test_images_are_recognised_by_their_magic_bytes(data: bytes, mime: str | None) -> None:
    assert sniff_image(data) == mime


def test_a_data_url_is_accepted_for_base64() -> None:
    request = CharacterAnalysisRequest(image_base64="data:image/png;base64,iVBORw0KGgoAAAAA")

    assert request.image_reference() == "data:image/png;base64,iVBORw0KGgoAAAAA"


@pytest.mark.parametrize(
    ("count", "beats"),
    [
        (1, ["punchline"]),
        (2, ["setup", "punchline"]),
        (4, ["setup", "escalation", "escalation", "punchline"]),
    ],
)
def test_meme_beats_follow_from_position(count: int, beats: list[str]) -> None:
    assert [beat_at(position, count) for position in range(1, count + 1)] == beats


def test_a_meme_beat_label_the_model_adds_is_ignored() -> None:
    beat = {"text": "t", "caption": "c", "visual_prompt": "v"}
    reply = MemeReply.model_validate(
        {"segments": [{"beat": "punchline", **beat}, {"beat": "setup", **beat}, {"beat": "?", **beat}]}
    )

    assert len(reply.segments) == 3
    assert "beat" not in MemeReply.model_json_schema()["$defs"]["MemeBeatReply"]["properties"]


def test_duplicate_idea_titles_beyond_case_and_punctuation_are_a_soft_problem() -> None:
    idea = {"hook": "h", "why_now": "w", "format": "meme"}
    reply = IdeasReply.model_validate(
        {
            "ideas": [
                {"title": "Pantry Raid!", **idea},
                {"title": "pantry raid", **idea},
                {"title": "Other", **idea},
            ]
        }
    )

    assert len(reply.ideas) == 3
    assert reply.soft_problems() == ["duplicate idea title: 'pantry raid'"]


@pytest.mark.parametrize(
    ("text", "limit", "trimmed"),
    [
        ("short enough", 40, "short enough"),
        ("one two three four", 9, "one two"),
        ("one two three", 7, "one two"),
        ("  padded words here  ", 12, "padded words"),
        ("unbreakableword and more", 5, "unbre"),
        ("line one\nline two", 10, "line one"),
    ],
)
def test_a_soft_limit_trims_at_a_word_boundary(text: str, limit: int, trimmed: str) -> None:
    assert trim_at_word(text, limit) == trimmed
    assert len(trim_at_word(text, limit)) <= limit


def test_a_string_over_its_soft_limit_is_trimmed_and_recorded_not_refused() -> None:
    trims: list[SoftTrim] = []
    caption = "This caption runs well past the eighty characters a viewer can read in one glance, really"

    reply = MemeReply.model_validate(
        {"segments": [{"text": "t", "caption": caption, "visual_prompt": "v"}]}, context={SOFT_TRIMS: trims}
    )

    assert reply.segments[0].caption == trim_at_word(caption, CAPTION_MAX)
    assert caption.startswith(reply.segments[0].caption)
    assert trims == [SoftTrim("MemeBeatReply.caption", CAPTION_MAX, len(caption))]


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_a_blank_string_breaks_the_pattern_the_schema_carries(blank: str) -> None:
    with pytest.raises(ValidationError, match="pattern"):
        MemeReply.model_validate({"segments": [{"text": blank, "caption": "c", "visual_prompt": "v"}]})


def test_fan_out_keeps_order_bounds_concurrency_and_carries_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_PARALLEL_REQUESTS", "3")
    running = 0
    peak = 0
    lock = threading.Lock()
    together = threading.Barrier(3, timeout=120)  # a generous bound on a condition, not a pause

    def task(number: int) -> tuple[int, float]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        if number < 3:  # the first three wait for each other: all three workers run at once
            together.wait()
        with lock:
            running -= 1
        if number == 4:
            raise ValueError("task 4 failed")
        return number, current_deadline().expires_at

    deadline = Deadline.after(12.5)
    with deadline_scope(deadline):
        outcomes = run_bounded([lambda n=n: task(n) for n in range(8)])  # type: ignore[misc]

    assert peak == 3
    assert [o.value[0] if o.value else None for o in outcomes] == [0, 1, 2, 3, None, 5, 6, 7]
    assert isinstance(outcomes[4].error, ValueError)
    assert {o.value[1] for o in outcomes if o.value} == {deadline.expires_at}
