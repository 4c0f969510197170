"""Narration helpers: the PCM the TTS model answers, as WAV, and its cost from the catalog."""

from __future__ import annotations

import io
import wave

import pytest

from contentgen.billing.prices import speech_cost
from contentgen.catalog import default_chain
from contentgen.generation.speech import pcm_rate, pcm_to_wav
from local.fake_media import SPEECH_RATE, speech_pcm


def test_the_rate_comes_from_the_mime_type() -> None:
    assert pcm_rate("audio/L16;codec=pcm;rate=24000") == 24000
    assert pcm_rate("audio/L16;rate=16000") == 16000
    assert pcm_rate(None) == 24000


def test_pcm_becomes_a_mono_16_bit_wav_of_the_same_length() -> None:
    pcm = speech_pcm("one two three four five six seven eight nine ten")
    data = pcm_to_wav(pcm, SPEECH_RATE)
    with wave.open(io.BytesIO(data)) as read:
        assert (read.getnchannels(), read.getsampwidth(), read.getframerate()) == (1, 2, SPEECH_RATE)
        assert read.getnframes() / read.getframerate() == pytest.approx(10 * 0.4)  # 150 words a minute
        frames = read.readframes(read.getnframes())
    assert (
        max(abs(int.from_bytes(frames[i : i + 2], "little", signed=True)) for i in range(0, 20000, 2)) > 1000
    )


def test_the_cost_is_text_and_audio_tokens_at_the_catalogs_price() -> None:
    model = default_chain("speech")[0]
    cost = speech_cost(model, 1_000_000, 1_000_000)
    assert cost is not None
    assert cost > speech_cost(model, 1_000_000, 0)  # type: ignore[operator]
    assert speech_cost("no-such-model", 10, 10) is None
