"""Caption cues: line limits, cuts between sentences, timing that never runs ahead of the voice,
and the SRT / WebVTT formats."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contentgen.assembly.captions import (
    MAX_LINE_CHARS,
    Cue,
    TimedWord,
    build_cues,
    estimate_syllables,
    text_width,
    to_srt,
    to_vtt,
)
from contentgen.errors import InvalidRequestError

STORY = (
    "The storm came in from the north, and the keeper lit the lamp. Nobody came. "
    "For three nights the light swept the black water, and on the fourth a small boat answered: "
    "three flashes, then two."
)


def assert_well_formed(cues: list[Cue], duration: float, width: int = MAX_LINE_CHARS) -> None:
    previous_end = 0.0
    for cue in cues:
        assert 0.0 <= cue.start_s < cue.end_s <= duration + 1e-9
        assert cue.start_s >= previous_end - 1e-9  # ordered, never overlapping
        previous_end = cue.end_s
        assert 1 <= len(cue.lines) <= 2
        for line in cue.lines:
            assert line.strip() == line
            assert line
            assert len(line) <= width
            assert text_width(line) <= width


words_text = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Z")), min_size=1, max_size=60),
        st.sampled_from(
            ["the", "keeper,", "lamp.", "Nobody", "came!", "你好。", "世界", "Straße", "—", "2026"]
        ),
    ),
    max_size=80,
).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(text=words_text, duration=st.floats(0.05, 120.0))
def test_cues_are_ordered_disjoint_within_the_audio_and_two_short_lines(text: str, duration: float) -> None:
    assert_well_formed(build_cues(text, duration), duration)


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(
        st.tuples(
            st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=50),
            st.floats(-1.0, 40.0, allow_nan=False),
            st.floats(0.0, 3.0),
        ),
        min_size=1,
        max_size=60,
    ),
    duration=st.floats(0.5, 30.0),
)
def test_word_timed_cues_are_well_formed_and_start_with_their_first_word(
    words: list[tuple[str, float, float]], duration: float
) -> None:
    timed = [TimedWord(word, start, start + length) for word, start, length in words]
    cues = build_cues("", duration, words=timed)
    assert_well_formed(cues, duration)
    spoken_starts = sorted(min(max(w.start_s, 0.0), duration) for w in timed if w.word.strip())
    for cue in cues:  # a cue never appears before some word is spoken
        assert cue.start_s >= spoken_starts[0] - 1e-9


def test_a_long_word_whose_timing_overlaps_the_next_never_makes_cues_overlap_or_lose_words() -> None:
    # The word after a long one (split into pieces that share its span) was timed inside that span:
    # its cue started before the previous cue ended (found by the property above, 2026-12-07).
    words = [
        TimedWord("x" * 23, 2.7005217377499267, 3.009383221474412),
        TimedWord("b", -0.4517394934539012, 2.464627073481513),
        TimedWord("c.", 6.963865976216658, 7.745894795088828),
        TimedWord("x" * 107, 2.431225014542385, 3.3092385743500765),
    ]
    duration = 4.377074578561913
    cues = build_cues("", duration, words=words)
    assert_well_formed(cues, duration)
    shown = "".join("".join(cue.lines) for cue in cues).replace(" ", "")
    assert shown == "".join(["b", "x" * 107, "x" * 23, "c."])  # every word, by start


@settings(max_examples=100, deadline=None)
@given(text=words_text, width=st.integers(8, 60), duration=st.floats(1.0, 60.0))
def test_any_line_width_is_respected(text: str, width: int, duration: float) -> None:
    assert_well_formed(build_cues(text, duration, max_line_chars=width), duration, width)


def test_all_words_are_shown_once_in_order() -> None:
    cues = build_cues(STORY, 14.0)
    shown = " ".join(" ".join(cue.lines) for cue in cues)
    assert shown.split() == STORY.split()


def test_a_cue_never_spans_two_sentences_and_long_sentences_cut_after_a_phrase() -> None:
    cues = build_cues(STORY, 14.0)
    for cue in cues:
        inner = " ".join(cue.lines)[:-1]
        assert not re.search(r"[.!?] ", inner), cue
    # "For three nights ... black water, and on the fourth ... answered: three flashes, then two."
    # does not fit one cue: it is cut after a comma or colon, not mid-phrase.
    long_sentence = [cue for cue in cues if "fourth" in cue.text or "nights" in cue.text]
    assert len(long_sentence) >= 2
    assert long_sentence[0].lines[-1][-1] in ",:"


def test_syllable_share_places_a_late_sentence_late() -> None:
    cues = build_cues("Yes. " + "This sentence is considerably longer than the first one was.", 6.0)
    assert cues[0].lines == ("Yes.",)
    # "Yes." is 1 syllable + a pause of 1 out of about 18: the second cue starts within the first second.
    assert 0.2 < cues[1].start_s < 1.0


def test_speech_bounds_delay_the_first_cue_to_the_voice() -> None:
    cues = build_cues("Hello there, world.", 3.0, speech_start_s=0.8, speech_end_s=2.5)
    assert cues[0].start_s == pytest.approx(0.8)


def test_word_timings_decide_the_cue_times() -> None:
    words = [TimedWord("First", 0.5, 0.9), TimedWord("sentence.", 0.9, 1.6), TimedWord("Second", 2.4, 2.8)]
    words += [TimedWord("one.", 2.8, 3.3)]
    cues = build_cues("ignored", 4.0, words=words)
    assert [cue.lines for cue in cues] == [("First sentence.",), ("Second one.",)]
    assert cues[0].start_s == 0.5
    assert cues[1].start_s == 2.4
    assert cues[0].end_s <= 2.4
    assert cues[1].end_s <= 4.0


def test_cjk_text_breaks_between_characters_without_inventing_spaces() -> None:
    text = "今天天气很好\uff0c我们去公园散步吧。" * 3
    cues = build_cues(text, 9.0, max_line_chars=20)
    assert_well_formed(cues, 9.0, 20)
    assert "".join("".join(cue.lines) for cue in cues) == text


@pytest.mark.parametrize(
    ("word", "syllables"),
    [
        ("cat", 1),
        ("water", 2),
        ("beautiful", 3),
        ("Straße", 2),
        ("привет", 2),
        ("καλημέρα", 4),
        ("你好", 2),
        ("2026", 4),
        ("hmm", 1),
        ("—", 0),
        ("مرحبا", 2),
    ],
)
def test_syllable_estimate(word: str, syllables: int) -> None:
    assert estimate_syllables(word) == syllables


def test_srt_and_vtt_formats() -> None:
    cues = [Cue(1.0, 2.5, ("Tom & Jerry <3",)), Cue(3723.0456, 3724.0, ("two", "lines"))]
    assert to_srt(cues) == (
        "1\n00:00:01,000 --> 00:00:02,500\nTom & Jerry <3\n\n2\n01:02:03,046 --> 01:02:04,000\ntwo\nlines\n"
    )
    assert to_vtt(cues) == (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nTom &amp; Jerry &lt;3\n\n"
        "01:02:03.046 --> 01:02:04.000\ntwo\nlines\n"
    )


@pytest.mark.parametrize("duration", [0.0, -1.0, float("nan"), float("inf")])
def test_a_duration_that_is_not_positive_is_refused_by_name(duration: float) -> None:
    with pytest.raises(InvalidRequestError, match="duration_s"):
        build_cues("text", duration)


def test_empty_text_has_no_cues() -> None:
    assert build_cues("   ", 3.0) == []
