"""Narration: text to speech with a Gemini TTS model of the catalog, under the call policy.

Wire format (google-genai 3.4.0, `types.SpeechConfig` / `VoiceConfig` / `PrebuiltVoiceConfig`,
read in the installed SDK 2026-12-06; the REST shape as third parties document it:
https://github.com/gunpal5/Google_GenerativeAI/wiki/Speech-Generation and
https://docs.newapi.pro/zh/docs/api/ai-model/audio/geminirelayv1beta-383836364, read 2026-12-06):

    POST .../models/{model}:generateContent
    {"contents": [{"parts": [{"text": "..."}]}],
     "generationConfig": {"responseModalities": ["AUDIO"],
                          "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}},
                                           "languageCode": "en-US"}}}

The answer's first candidate holds one `inlineData` part: base64 raw PCM, 16-bit signed
little-endian mono, `mimeType` `audio/L16;codec=pcm;rate=24000` (the catalog's `speech.output`,
sources `gemini-tts`, `gemini-tts-voices`: "raw PCM 16-bit output"). The SDK decodes the base64;
the PCM is wrapped here in a WAV header (the rate read from the MIME type, 24 kHz by default).

An answer is the narration only when its candidate finished (`finishReason` STOP or absent); a
safety finishReason is a decline (final); anything else (OTHER with no audio or with audio cut
short) is `IncompleteSpeechError`: asked again, then the chain's fallback.

Cost: Google reports tokens (`usageMetadata`), not money: text input tokens and audio output
tokens at the catalog's prices for the day (`input_per_million_tokens`,
`audio_output_per_million_tokens`).
"""

from __future__ import annotations

import io
import re
import wave
from collections.abc import Sequence
from dataclasses import dataclass

from google import genai
from google.genai import types

from contentgen.billing.prices import speech_cost, speech_cost_bound
from contentgen.connectors.genai_connector import google_genai
from contentgen.core.retry import Attempt
from contentgen.errors import ContentFilteredError

DEFAULT_RATE = 24_000  # Hz: the Gemini TTS models' output (catalog `speech.output`)
# finishReason values that are a safety decision (final: 422 content_filtered, no fallback).
DECLINED = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"})
# finishReason values of an answer the model finished (None: not reported, taken as finished).
FINISHED = frozenset({None, "STOP", "FINISH_REASON_UNSPECIFIED"})


class IncompleteSpeechError(Exception):
    """The TTS model answered 200 without a finished narration: no audio (`finishReason: OTHER`
    and empty content, intermittent: google-gemini/cookbook#1231, unicef/adt-studio#846) or audio
    cut short (`finishReason` not STOP: googleapis/python-genai#922). Not a `ContentgenError`, so
    the call policy classifies it as an unreadable answer (`contentgen.connectors.genai_connector`):
    retried, then the next model of the chain; never taken as the narration nor as a decline."""


@dataclass(frozen=True)
class Narration:
    """One narration: `wav` (mono 16-bit PCM WAV bytes), its length in seconds, the model that
    spoke it, the voice, and the cost in USD (None when the catalog prices nothing for the model)."""

    wav: bytes
    duration_s: float
    model: str
    voice: str
    cost_usd: float | None


def pcm_rate(mime_type: str | None) -> int:
    """The sample rate in a `audio/L16;codec=pcm;rate=24000` MIME type (24000 when absent)."""
    match = re.search(r"rate=(\d+)", mime_type or "")
    return int(match.group(1)) if match else DEFAULT_RATE


def pcm_to_wav(pcm: bytes, rate: int) -> bytes:
    """Mono 16-bit little-endian PCM wrapped in a RIFF/WAVE header."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm[: len(pcm) - len(pcm) % 2])
    return buffer.getvalue()


def _speak(client: genai.Client, text: str, voice: str, language: str | None, call: Attempt) -> Narration:
    response = client.models.generate_content(
        model=call.model,
        contents=text,
        config=types.GenerateContentConfig(
            response_modalities=["AUDIO"],
            speech_config=types.SpeechConfig(
                voice_config=types.VoiceConfig(
                    prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=voice)
                ),
                language_code=language,
            ),
            http_options=types.HttpOptions(timeout=int(call.timeout * 1000)),
        ),
    )
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        raise ContentFilteredError(f"{call.model} declined the narration ({feedback.block_reason.value})")
    usage = response.usage_metadata
    prompt_tokens = usage.prompt_token_count if usage else None
    audio_tokens = usage.candidates_token_count if usage else None
    cost = speech_cost(call.model, prompt_tokens, audio_tokens)
    finish = None
    for candidate in response.candidates or []:
        finish = candidate.finish_reason.value if candidate.finish_reason is not None else None
        if finish in DECLINED:
            raise ContentFilteredError(f"{call.model} declined the narration ({finish})")
        for part in (candidate.content.parts if candidate.content else None) or []:
            data = part.inline_data
            if data is not None and data.data:
                rate = pcm_rate(data.mime_type)
                wav = pcm_to_wav(data.data, rate)
                call.report(
                    answered_by=call.model,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=audio_tokens,
                    cost_usd=cost,
                    bytes=len(wav),
                )
                if finish not in FINISHED:
                    # Cut short (python-genai#922: finishReason OTHER with a few tokens of
                    # audio, billed): not the narration. Metered, then asked again.
                    raise IncompleteSpeechError(
                        f"{call.model} stopped the narration early (finishReason {finish}, "
                        f"{len(data.data) // 2 / rate:.2f} s of audio)"
                    )
                return Narration(wav, len(data.data) // 2 / rate, call.model, voice, cost)
    # No audio and no safety reason (finishReason OTHER with empty content: intermittent, the
    # same request succeeds later, google-gemini/cookbook#1231): asked again, then the fallback.
    call.report(
        answered_by=call.model, prompt_tokens=prompt_tokens, completion_tokens=audio_tokens, cost_usd=cost
    )
    raise IncompleteSpeechError(f"{call.model} returned no audio (finishReason {finish})")


def synthesize(text: str, *, voice: str, language: str | None, models: Sequence[str]) -> Narration:
    """`text` spoken by `voice` from the first of `models` (catalog TTS chain) that answers;
    `ContentFilteredError` (422) when the model declines, provider errors (502/503/504) when the
    chain runs out. `language`: a BCP 47 tag, or None to let the model detect it."""

    def attempt(client: genai.Client, call: Attempt) -> Narration:
        return _speak(client, text, voice, language, call)

    return google_genai.call(
        attempt,
        models=models,
        name="speech",
        prompt=text,
        cost_bound=lambda model: speech_cost_bound(model, text),
    )
