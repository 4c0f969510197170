"""Shorts (issue 25): one prompt to a narrated, captioned MP4, as ONE durable execution per short.

From the outside (`POST /shorts`, its queue and bus entries, direct invocation): `start_short`
checks the voice and `callback_url`, estimates the most the short can cost from the catalog and
RESERVES it on the payers' budgets before anything is paid (`contentgen.services.jobs.start_job`
with an `estimate`: 429 `budget_exceeded` naming the estimate, nothing started), then starts the
durable job once (kind `short`) with the hold in its payload.
`short_status` reads it for the key that paid (others: 404).

Inside (`run_short`, under `contentgen.entrypoints.durable.durable_job("short")`), every paid
call is a `paid_step` (checkpointed, at most once: a crash or a redeploy resumes after it and
never pays it again); bytes go to S3 under `shorts/<short_id>/`, checkpoints hold keys only:

1. `story`: the structured story, as `/stories/segments` (`generate_story_segments`).
2. per segment, `ctx.map` with `SHORT_PARALLEL_SEGMENTS` at a time: `image-<n>` (its
   visual_prompt, the character sheet carried in every prompt; with a character and a model that
   takes reference images (catalog), segment 1's image is made first and given to the others as
   the reference), then `narration-<n>` (the catalog's TTS chain: default model, then its
   fallback; when it still fails and `silent_fallback` allows, the segment goes silent: that
   step fails, not the short). Each finished segment is recorded on the job row (progress).
3. `assemble`: captions by syllable share of each narration's speech span (the catalog's
   transcription model has no price, so no word timings are bought), SRT + WebVTT, ffmpeg
   (`contentgen.assembly`: H.264 + AAC, 1080 px short side, burned-in and soft captions, the
   title drawn over the first segment) -> S3 (fixed keys: a replay finds them stored).
4. `charge`: the hold settled once per payer (`contentgen.services.jobs.settle_job`): released,
   and what each step really cost charged (also when the short fails: what was paid until then).
5. the outcome: job row + `JobSucceeded`/`JobFailed` on the bus (the decorator), then with a
   `callback_url` a Standard Webhooks POST retried with backoff as durable waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from contentgen.billing.prices import image_cost, speech_words_bound, text_cost_bound, video_cost
from contentgen.catalog import default_chain, find_model, video_violations
from contentgen.config import get_settings
from contentgen.connectors.fetch_guard import check_fetchable
from contentgen.errors import InvalidRequestError
from contentgen.models.shorts import (
    SegmentVisual,
    ShortAccepted,
    ShortParts,
    ShortRequest,
    ShortStatus,
    ShortUsage,
)
from contentgen.services.jobs import JobEstimate, owned_job, start_job
from contentgen.stores.jobs import check_configured
from contentgen.stores.media import presigned_get_url

KIND = "short"
DEADLINE_SECONDS = 3600  # a short not made in an hour fails (deadline_exceeded)
BREATH_S = 0.12  # pause after each narration: keeps the short within 5 % of its narration
TITLE_S = 1.5  # the title is drawn over the first segment for this long (no silent card)


def allowed_voices() -> list[str]:
    """The prebuilt voices of the catalog's default speech model."""
    entry = find_model(default_chain("speech")[0])
    return list(entry.speech.voices) if entry is not None and entry.speech is not None else []


def voice_of(request: ShortRequest) -> str:
    """The request's voice, or the catalog's default; `InvalidRequestError` (422) naming the field
    and the allowed voices for one the catalog's speech model does not have."""
    entry = find_model(default_chain("speech")[0])
    default = entry.speech.default_voice if entry is not None and entry.speech is not None else "Kore"
    if request.voice is None:
        return default
    voices = allowed_voices()
    if request.voice not in voices:
        raise InvalidRequestError("voice", f"must be one of the catalog's voices: {', '.join(voices)}")
    return request.voice


# The story's prompt beyond the user's (instructions, schema) in bytes, for its bound.
STORY_PROMPT_BYTES = 6000
# The most words a segment's narration has (DOMAIN.md: 8 to 25) and bytes per word (UTF-8, with
# the space), for the narrations' bound before the story exists.
MAX_WORDS_PER_SEGMENT = 25
BYTES_PER_WORD = 12


def estimate(request: ShortRequest) -> dict[str, Any]:
    """The most the short can cost before anything is paid, by kind (USD), from the catalog's
    prices (`contentgen.billing.prices`): the story's request bound (`text_cost_bound`: its prompt
    and the model's largest answer), one image per segment at the dearest image model of the
    chain (a fallback may answer), each narration's reservation bound
    (`speech_words_bound`, `MAX_WORDS_PER_SEGMENT` words) at the dearest speech model, and with
    `clips` one clip per segment at its most (`clip_bound`: the longest clip a model of the video
    chain makes at the aspect ratio, at the dearest such model). `basis` says what it is made of,
    for a refusal's message."""
    settings = get_settings()
    n = request.segment_count
    text_model = settings.text_models[0]
    text = text_cost_bound(
        text_model, prompt_bytes=len(request.prompt.encode()) + STORY_PROMPT_BYTES, images=0, max_tokens=None
    )
    images = [
        (Decimal(str(cost)), model)
        for model in settings.image_models
        if (cost := image_cost(model)) is not None
    ]
    image_each, image_model = max(images, default=(Decimal(0), settings.image_models[0]))
    voices = [
        (bound, model)
        for model in default_chain("speech")
        if (
            bound := speech_words_bound(
                model, words=MAX_WORDS_PER_SEGMENT, text_bytes=MAX_WORDS_PER_SEGMENT * BYTES_PER_WORD
            )
        )
        is not None
    ]
    voice_each, voice_model = max(voices, default=(Decimal(0), default_chain("speech")[0]))
    clip_each, clip_basis = (
        clip_bound(request.aspect_ratio, settings.video_models) if request.clips else (Decimal(0), None)
    )
    parts = {"text": text, "image": image_each * n, "voice": voice_each * n, "video": clip_each * n}
    total = sum(parts.values(), Decimal(0))
    basis = (
        f"story up to {text:.4f} USD ({text_model}), {n} images x {image_each:f} USD ({image_model}), "
        f"{n} narrations x up to {voice_each:.4f} USD ({voice_model})"
    )
    if clip_basis is not None:
        basis += f", {n} clips x up to {clip_each:f} USD ({clip_basis})"
    return {
        **{kind: float(value) for kind, value in parts.items()},
        "total": float(total),
        "total_usd": total,
        "basis": basis,
    }


@dataclass(frozen=True)
class ClipPlan:
    """The clip a segment gets: `seconds` (a duration the catalog lets `models` make at the
    aspect ratio) and the models of the chain that can make it, in order; or, when no model of
    the chain can make a clip covering the segment, `seconds` None and the `reason` (the
    segment then keeps its animated still)."""

    seconds: int | None
    models: tuple[str, ...] = ()
    reason: str | None = None


def _video_caps_models(models: Sequence[str], aspect_ratio: str) -> list[str]:
    """The models of the chain the catalog describes as making video at `aspect_ratio`."""
    able = []
    for model in models:
        entry = find_model(model)
        if (
            entry is not None
            and entry.video is not None
            and not video_violations(model, aspect_ratio=aspect_ratio)
        ):
            able.append(model)
    return able


def clip_plan(segment_s: float, aspect_ratio: str, models: Sequence[str]) -> ClipPlan:
    """The clip for a segment lasting `segment_s` seconds (its narration and breath): the
    shortest duration the catalog allows a model of the chain (`VIDEO_MODEL` and its fallbacks,
    the chain `POST /videos` uses) to make at `aspect_ratio` that covers the segment (Veo 3.1:
    4, 6 or 8 s; its constraints applied, `contentgen.catalog.video_violations`), with the
    models able to make exactly that; the clip is trimmed to the segment when assembled. None
    (with the reason) when no model can make that aspect ratio or a clip that long: the
    segment keeps its still. A model the catalog does not describe is not used for clips (its
    durations are unknown)."""
    able = _video_caps_models(models, aspect_ratio)
    if not able:
        ratios = sorted(
            {r for m in models if (e := find_model(m)) and e.video for r in e.video.aspect_ratios}
        )
        return ClipPlan(
            None,
            reason=(
                f"no video model of the chain ({', '.join(models)}) makes {aspect_ratio}"
                + (f" (they make {', '.join(ratios)})" if ratios else "")
            ),
        )
    durations = sorted({d for m in able if (e := find_model(m)) and e.video for d in e.video.durations})
    for seconds in durations:
        if seconds + 1e-6 < segment_s:
            continue
        makers = tuple(
            m for m in able if not video_violations(m, duration_seconds=seconds, aspect_ratio=aspect_ratio)
        )
        if makers:
            return ClipPlan(seconds, makers)
    return ClipPlan(
        None,
        reason=(
            f"the segment lasts {segment_s:.1f} s, longer than the longest clip the video models make "
            f"({max(durations)} s)"
        ),
    )


def clip_bound(aspect_ratio: str, models: Sequence[str]) -> tuple[Decimal, str | None]:
    """The most one segment's clip can cost (USD) and what it is made of: the longest duration a
    model of the chain makes at `aspect_ratio` at the dearest such model's per-second price
    (catalog). (0, None) when no model of the chain can make a clip at that aspect ratio."""
    priced = []
    for model in _video_caps_models(models, aspect_ratio):
        entry = find_model(model)
        longest = max(entry.video.durations) if entry is not None and entry.video is not None else 0
        cost = video_cost(model, longest)
        if cost is not None:
            priced.append((Decimal(str(cost)), f"{longest} s of {model}"))
    if not priced:
        return Decimal(0), None
    usd, basis = max(priced, key=lambda entry: entry[0])
    return usd, basis


def short_estimate(request: ShortRequest) -> JobEstimate:
    """What `start_job` holds on the payers' budgets before the short starts (`estimate`), for
    as long as the short may run (`DEADLINE_SECONDS`) if it never settles."""
    cost = estimate(request)
    return JobEstimate(usd=cost["total_usd"], basis=cost["basis"], hold_seconds=DEADLINE_SECONDS)


def start_short(
    request: ShortRequest,
    *,
    owner: str | None,
    scope: str,
    key: str | None,
    base_path: str = "",
    payers: Sequence[str] | None = None,
) -> ShortAccepted:
    """Validate the voice and `callback_url`, hold the short's most (`short_estimate`) on each
    payer's budget (`payers`, default the owner) and start the job once (`start_job`): a payer
    without budget left is 429 `budget_exceeded` naming the estimate, nothing started or paid."""
    check_configured()
    voice_of(request)
    if request.callback_url is not None:
        # Its host must resolve to public addresses only (422 naming callback_url); checked
        # again before each delivery (contentgen.services.webhooks).
        check_fetchable(request.callback_url, field="callback_url")
    most = short_estimate(request)
    job, _ = start_job(
        KIND,
        function=get_settings().short_job_function,
        request=request.model_dump(mode="json"),
        owner=owner,
        scope=scope,
        key=key,
        estimate=most,
        payers=payers,
    )
    return ShortAccepted(
        short_id=job.job_id,
        status=job.status,
        status_url=f"{base_path}/shorts/{job.job_id}",
        estimate_usd=float(most.usd),
    )


def media_prefix(job_id: str) -> str:
    """Where a short's files live in the media bucket."""
    return f"shorts/{job_id}"


def _presign(key: object) -> str | None:
    return presigned_get_url(str(key)) if key else None


def short_status(short_id: str, owner: str | None) -> ShortStatus:
    """The short for the key that paid; `NotFoundError` (404) otherwise, as for an unknown id."""
    job = owned_job(short_id, owner, kind=KIND)
    outputs = job.outputs or {}
    total = int(outputs.get("segments_total") or 0)
    segments = [outputs.get(f"segment_{n}") for n in range(1, total + 1)]
    done = sum(1 for segment in segments if isinstance(segment, dict))
    usage = _usage_of(outputs, job.usage)
    story = outputs.get("story")
    captions = None
    if outputs.get("srt_key"):
        captions = {"srt": str(_presign(outputs["srt_key"])), "vtt": str(_presign(outputs["vtt_key"]))}
    succeeded = job.status == "succeeded"
    return ShortStatus(
        short_id=job.job_id,
        status=job.status,
        step=job.step,
        progress=1.0 if succeeded else job.progress,
        segments_done=done,
        segments_total=total,
        usage=usage,
        parts=ShortParts(
            story=story if isinstance(story, dict) else None,
            images=[_presign(s.get("image_key")) if isinstance(s, dict) else None for s in segments],
            audio=[_presign(s.get("audio_key")) if isinstance(s, dict) else None for s in segments],
            clips=[_presign(s.get("clip_key")) if isinstance(s, dict) else None for s in segments],
            visuals=[_visual(s) if isinstance(s, dict) else None for s in segments],
            captions=captions,
        ),
        video_url=_presign(outputs.get("video_key")) if succeeded else None,
        captions_url=_presign(outputs.get("vtt_key")) if succeeded else None,
        duration_s=outputs.get("duration_s") if succeeded else None,
        error=job.error if job.status == "failed" else None,
        error_code=job.error_code if job.status == "failed" else None,
    )


def _visual(segment: dict[str, Any]) -> SegmentVisual:
    """What a finished segment shows: its clip, or its animated still and why (clips asked)."""
    clip = segment.get("clip_key")
    return SegmentVisual(
        kind="clip" if clip else "still",
        model=segment.get("clip_model") if clip else None,
        seconds=segment.get("clip_seconds") if clip else None,
        reason=segment.get("clip_note"),
    )


def _usage_of(outputs: dict[str, Any], final: dict[str, Any] | None) -> ShortUsage:
    """Cost so far by kind: the story's, and each finished segment's image and narration."""
    if final and isinstance(final.get("by_kind"), dict):
        return ShortUsage.model_validate(final["by_kind"])
    kinds: dict[str, float] = {}
    requests = 0
    story = outputs.get("story_usage")
    if isinstance(story, dict):
        kinds["text"] = float(story.get("cost_usd") or 0)
        requests += int(story.get("provider_requests") or 0)
    for name, value in outputs.items():
        if name.startswith("segment_") and isinstance(value, dict):
            kinds["image"] = kinds.get("image", 0.0) + float(value.get("image_cost_usd") or 0)
            kinds["voice"] = kinds.get("voice", 0.0) + float(value.get("audio_cost_usd") or 0)
            kinds["video"] = kinds.get("video", 0.0) + float(value.get("clip_cost_usd") or 0)
            requests += int(value.get("provider_requests") or 0)
    total = sum(kinds.values()) if kinds else None
    return ShortUsage(
        text=kinds.get("text"),
        image=kinds.get("image"),
        voice=kinds.get("voice"),
        video=kinds.get("video", 0.0) if kinds else None,
        cost_usd=round(total, 6) if total is not None else None,
        provider_requests=requests,
    )
