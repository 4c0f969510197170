"""Probe (issue 25): narration against Gemini TTS answers as the public reports show them.

Over the wire to the emulator (google-genai SDK, the layer's call policy), with the emulator's
`raw` fault replaying a provider answer verbatim.

Public sources:
- google-gemini/cookbook#1231 (2026-05): Gemini TTS preview "sometimes returns HTTP 200 with
  `content: {}`, `finishReason: OTHER`" and usageMetadata reporting audio tokens; "Later, the exact
  same request can succeed" (intermittent, retryable).
- unicef/adt-studio#846 / PR #849 (2026-09): gemini-2.5-flash-preview-tts "intermittent failures
  ... and Other blocks"; `candidates: [{finishReason: "OTHER"}]` with no content, not a safety
  decision.
- googleapis/python-genai#922: TTS truncates with `finishReason: OTHER` (HTTP 200), billing AUDIO
  tokens for the unusable output.

contentgen maps `finishReason: OTHER` to `ContentFilteredError` ("declined"), which the call
policy treats as final: no retry, no fallback to the chain's second TTS model. The narration
fails; in a short, the segment goes silent (or, with `silent_fallback: false`, the short fails).
"""

from __future__ import annotations

import pytest

from contentgen.catalog import default_chain
from contentgen.core.deadline import Deadline, deadline_scope
from contentgen.generation.speech import synthesize
from local.emulator import EmulatorControl, EmulatorServer

pytestmark = pytest.mark.integration

OTHER_EMPTY = {
    "candidates": [{"content": {}, "finishReason": "OTHER", "index": 0}],
    "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 310, "totalTokenCount": 322},
    "modelVersion": default_chain("speech")[0],
}


@pytest.fixture
def gemini(
    monkeypatch: pytest.MonkeyPatch, emulator: EmulatorServer, provider: EmulatorControl
) -> EmulatorControl:
    monkeypatch.setenv("GOOGLE_API_KEY", "it-google-key")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.url)
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    return provider


def speak() -> float:
    with deadline_scope(Deadline.after(60)):
        narration = synthesize(
            "The lighthouse keeper opened the letter and smiled at the sea.",
            voice="Kore",
            language="en",
            models=default_chain("speech"),
        )
    return narration.duration_s


def test_an_intermittent_finish_reason_other_with_no_audio_is_retried_not_declined(
    gemini: EmulatorControl,
) -> None:
    """One `finishReason: OTHER` / empty content answer (HTTP 200), then the normal audio: the
    narration should come back (a retry or the fallback TTS model), as the same request
    succeeds on the provider a moment later (cookbook#1231)."""
    gemini.faults({"kind": "raw", "target": "gemini", "status": 200, "body": OTHER_EMPTY})
    assert speak() > 1.0
    assert len(gemini.requests()) == 2


def _truncated_answer() -> dict[str, object]:
    import base64

    pcm = b"\x10\x27" * 4800  # 0.2 s of 24 kHz audio for a 12-word sentence
    return {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "inlineData": {
                                "mimeType": "audio/L16;codec=pcm;rate=24000",
                                "data": base64.b64encode(pcm).decode(),
                            }
                        }
                    ],
                },
                "finishReason": "OTHER",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 6, "totalTokenCount": 18},
        "modelVersion": default_chain("speech")[0],
    }


def test_audio_cut_short_with_finish_reason_other_is_not_taken_as_the_narration(
    gemini: EmulatorControl,
) -> None:
    """python-genai#922: Gemini TTS "truncates with finishReason: OTHER (HTTP 200) ... billing
    AUDIO tokens for the truncated/unusable output, with no error surfaced"; unicef/adt-studio
    PR #849: slices of a few bytes "every one was recorded as a success". `_speak` returns the
    first inlineData part without looking at finishReason (OTHER here, not STOP): a 0.2 s
    narration of a 12-word sentence becomes the segment's audio, its captions squeezed into
    0.2 s. Expected: an answer that did not finish (finishReason != STOP) is not a narration
    (retried / fallen back), so the narration returned is the full one (> 1 s)."""
    gemini.faults({"kind": "raw", "target": "gemini", "status": 200, "body": _truncated_answer()})
    assert speak() > 1.0
