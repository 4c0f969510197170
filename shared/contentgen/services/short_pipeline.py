"""Inside the durable short execution (see `contentgen.services.shorts` for the steps): loaded
only by the short job function, so the API function does not import google-genai or ffmpeg code."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import threading
import wave
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from aws_durable_execution_sdk_python import StepError
from aws_durable_execution_sdk_python.concurrency.models import BatchResult
from aws_durable_execution_sdk_python.config import MapConfig

from contentgen.assembly import SegmentInput, ShortSpec, assemble_short, build_cues, speech_bounds, wav_info
from contentgen.billing.meter import Meter, metered
from contentgen.billing.prices import AUDIO_TOKENS_PER_SECOND, speech_cost, video_cost
from contentgen.catalog import default_chain, image_price_usd
from contentgen.config import get_settings
from contentgen.errors import ContentgenError
from contentgen.generation.images import accepts_references, generate_image
from contentgen.generation.speech import synthesize
from contentgen.generation.videos import start_video
from contentgen.models.shorts import ShortRequest
from contentgen.models.stories import StorySegmentsRequest
from contentgen.observability import logger
from contentgen.prompts.media import video_prompt
from contentgen.services.durable import (
    JobFailure,
    JobResult,
    JobRun,
    Paid,
    deadline_step,
    job_budget_seconds,
    now,
    paid_step,
    poll,
    store_step,
)
from contentgen.services.jobs import job_reservations, settle_job
from contentgen.services.shorts import (
    BREATH_S,
    DEADLINE_SECONDS,
    TITLE_S,
    ClipPlan,
    clip_plan,
    estimate,
    media_prefix,
    voice_of,
)
from contentgen.services.stories import generate_story_segments
from contentgen.services.videos import await_video, store_video
from contentgen.services.webhooks import deliver_claimed, event_body, outcome_body
from contentgen.stores.jobs import end_webhook, get_job, update_job
from contentgen.stores.ledger import Reservations
from contentgen.stores.media import get_media, media_exists, put_media

if TYPE_CHECKING:
    from aws_durable_execution_sdk_python import DurableContext

# ffmpeg's time budget: the function's Timeout (600 s, template.yaml) less a minute for the
# downloads and uploads around it (the assembly's own default, 20 s + 4 x the short, is too tight
# for a 60 s short on a busy core).
ASSEMBLY_TIMEOUT_S = 540.0
WEBHOOK_FIRST_DELAY = 5
WEBHOOK_MAX_DELAY = 3600
WEBHOOK_WINDOW_SECONDS = 24 * 3600


def _guarded(meter: Meter, reservations: Reservations) -> None:
    """Each priced provider request of a paid step reserves its most on the payer's budget
    first (`contentgen.stores.ledger`: 429 `budget_exceeded` refuses it unpaid)."""
    meter.guard = reservations
    meter.after = reservations.after


def _story(run: JobRun, request: ShortRequest, reservations: Reservations) -> dict[str, Any]:
    with metered() as meter:
        _guarded(meter, reservations)
        story = generate_story_segments(
            StorySegmentsRequest(
                prompt=request.prompt,
                segment_count=request.segment_count,
                style=request.style,
                language=request.language,
                character=request.character,
            )
        )
    value = {
        "title": story.title,
        "model": story.model,
        "segments": [segment.model_dump(mode="json") for segment in story.segments],
    }
    usage = meter.as_usage()
    # What it cost travels with the stored story: a recovery after a crash charges it (never 0).
    stored = {**value, "usage": usage}
    put_media(f"{media_prefix(run.job_id)}/story.json", json.dumps(stored).encode(), "application/json")
    update_job(run.job_id, status="running", step="story", outputs={"story": value, "story_usage": usage})
    return {**value, "usage": usage}


def _image(
    run: JobRun,
    request: ShortRequest,
    segment: dict[str, Any],
    reference: str | None,
    reservations: Reservations,
) -> dict[str, Any]:
    settings = get_settings()
    references: list[tuple[bytes, str]] = []
    if reference:
        references = [(get_media(reference), "image/png")]
    with metered() as meter:
        _guarded(meter, reservations)
        image = generate_image(
            str(segment["visual_prompt"]),
            aspect_ratio=request.aspect_ratio,
            models=settings.image_models,
            references=references,
        )
    key = _image_key(run.job_id, int(segment["index"]))
    put_media(key, image.data, image.mime_type)
    usage = meter.as_usage()
    return {
        "key": key,
        "model": image.model,
        "cost_usd": usage["cost_usd"],
        "requests": usage["provider_requests"],
    }


def _narration(
    run: JobRun, request: ShortRequest, segment: dict[str, Any], reservations: Reservations
) -> dict[str, Any]:
    with metered() as meter:
        _guarded(meter, reservations)
        narration = synthesize(
            str(segment["text"]),
            voice=voice_of(request),
            language=request.language,
            models=default_chain("speech"),
        )
    key = _audio_key(run.job_id, int(segment["index"]))
    put_media(key, narration.wav, "audio/wav")
    usage = meter.as_usage()
    return {
        "key": key,
        "model": narration.model,
        "duration_s": narration.duration_s,
        "cost_usd": usage["cost_usd"],
        "requests": usage["provider_requests"],
    }


def _clip_start(
    run: JobRun, request: ShortRequest, segment: dict[str, Any], plan: ClipPlan, reservations: Reservations
) -> dict[str, Any]:
    """Start the segment's clip (paid, `generation.videos.start_video`: the chain `POST /videos`
    uses, narrowed to the models that can make `plan.seconds`), under the short's hold; the
    handle is stored before returning, so a crash after the start is recovered without a second
    start (`_stored_clip_start`)."""
    with metered() as meter:
        _guarded(meter, reservations)
        started = start_video(
            video_prompt(str(segment["visual_prompt"]), aspect_ratio=request.aspect_ratio),
            aspect_ratio=request.aspect_ratio,
            duration_seconds=int(plan.seconds or 0),
            models=plan.models,
        )
    value = {
        "operation": started.operation_name,
        "model": started.model,
        "seconds": plan.seconds,
        "cost_usd": started.cost_usd,
    }
    n = int(segment["index"])
    put_media(_clip_start_key(run.job_id, n), json.dumps(value).encode(), "application/json")
    return value


def _clip_start_key(job_id: str, n: int) -> str:
    return f"{media_prefix(job_id)}/clips/{n}.start.json"


def _clip_key(job_id: str, n: int) -> str:
    return f"{media_prefix(job_id)}/clips/{n}.mp4"


def _stored_clip_start(job_id: str, n: int) -> dict[str, Any] | None:
    key = _clip_start_key(job_id, n)
    if not media_exists(key):
        return None
    value: dict[str, Any] = json.loads(get_media(key))
    return value


def _no_clip(reason: str, *, cost: float | None = 0.0, requests: int = 0) -> dict[str, Any]:
    """The segment keeps its animated still; `reason` goes to the status's parts; what a clip
    that was started cost stays charged (Veo bills the seconds asked for, failed or not)."""
    return {
        "clip_key": None,
        "clip_model": None,
        "clip_seconds": None,
        "clip_cost_usd": cost or 0.0,
        "clip_note": f"still: {reason}",
        "clip_requests": requests,
    }


def _clip(
    context: DurableContext,
    run: JobRun,
    request: ShortRequest,
    segment: dict[str, Any],
    seconds: float,
    reservations: Reservations,
    deadline: float,
) -> dict[str, Any]:
    """The segment's clip, lasting at least `seconds` (its narration and breath): planned from
    the catalog (`clip_plan`), started at most once (`clip-<n>`, recovered from S3 after a crash),
    waited for as a durable wait (`clip-<n>-ready`, the video job's `await_video`) and stored
    (`clip-<n>-store`). Anything that stops it (no model for that length or aspect ratio, a
    refused or failed start, a failed or filtered video, the deadline, the budget) leaves the
    segment its still, with the reason."""
    settings = get_settings()
    n = int(segment["index"])
    plan = clip_plan(seconds, request.aspect_ratio, settings.video_models)
    if plan.seconds is None:
        return _no_clip(plan.reason or "no video model can make this clip")
    started = paid_step(
        context,
        f"clip-{n}",
        lambda: _clip_start(run, request, segment, plan, reservations),
        wait_unsent_until=deadline,
    )
    started = _recovered(context, f"clip-{n}", started, lambda: _stored_clip_start(run.job_id, n))
    if not started.ok:
        if started.unconfirmed:  # may have started (and be billed): charged its most
            costs = [c for m in plan.models if (c := video_cost(m, int(plan.seconds))) is not None]
            return _no_clip(
                f"the clip's start was not confirmed ({started.message})",
                cost=max(costs, default=0.0),
                requests=1,
            )
        return _no_clip(f"the clip was refused ({started.code}: {started.message})")
    value = started.value
    cost = float(value.get("cost_usd") or 0.0)
    own = deadline_step(
        context, job_budget_seconds(settings.video_job_deadline_seconds), name=f"clip-{n}-deadline"
    )
    waited = await_video(
        context,
        f"clip-{n}-ready",
        operation=str(value["operation"]),
        model=str(value["model"]),
        deadline=min(own, deadline),
    )
    if not waited.ok:
        return _no_clip(
            f"the clip failed ({waited.code}{': ' + waited.error if waited.error else ''})",
            cost=cost,
            requests=1,
        )
    key = _clip_key(run.job_id, n)
    try:
        store_step(
            context, f"clip-{n}-store", lambda: store_video(key, str(value["operation"]), str(value["model"]))
        )
    except StepError as exc:
        return _no_clip(f"the clip could not be stored ({exc.message})", cost=cost, requests=1)
    return {
        "clip_key": key,
        "clip_model": value["model"],
        "clip_seconds": value["seconds"],
        "clip_cost_usd": cost,
        "clip_note": None,
        "clip_requests": 1,
    }


def _silent_seconds(text: str) -> float:
    """How long a segment without narration lasts: its words at 0.4 s each, at least 3 s."""
    return max(3.0, len(text.split()) * 0.4)


# `update_job` merges `outputs` by reading the row first: the map's branches (threads of one
# invocation) record their segments one at a time so that no branch's entry is lost.
_record_lock = threading.Lock()


def _record(job_id: str, outputs: dict[str, Any]) -> bool:
    with _record_lock:
        return update_job(job_id, outputs=outputs)


def _recovered(
    context: DurableContext, name: str, paid: Paid, recover: Callable[[], dict[str, Any] | None]
) -> Paid:
    """A paid step whose invocation ended before its result was checkpointed (`unconfirmed`):
    the step stores its output in S3 under a fixed key before it returns, so an output found
    there is that step's work, taken as its result (a checkpointed step of its own): nothing is
    requested (or paid) again. Not found: the outcome stays unconfirmed."""
    if paid.ok or not paid.unconfirmed:
        return paid
    found = store_step(context, f"{name}-recover", recover)
    if found is None:
        return paid
    logger.info("paid step recovered from its stored output", extra={"step": name})
    return Paid(value=found)


def _image_key(job_id: str, n: int) -> str:
    return f"{media_prefix(job_id)}/images/{n}.png"


def _audio_key(job_id: str, n: int) -> str:
    return f"{media_prefix(job_id)}/audio/{n}.wav"


def _stored_image(job_id: str, n: int) -> dict[str, Any] | None:
    key = _image_key(job_id, n)
    if not media_exists(key):
        return None
    model = get_settings().image_models[0]
    price = image_price_usd(model)
    return {
        "key": key,
        "model": model,
        "cost_usd": float(price) if price is not None else None,
        "requests": 1,
    }


def _stored_audio(job_id: str, n: int) -> dict[str, Any] | None:
    key = _audio_key(job_id, n)
    if not media_exists(key):
        return None
    with wave.open(io.BytesIO(get_media(key))) as stored:
        seconds = stored.getnframes() / stored.getframerate()
    model = default_chain("speech")[0]
    cost = speech_cost(model, None, round(seconds * AUDIO_TOKENS_PER_SECOND))
    return {"key": key, "model": model, "duration_s": seconds, "cost_usd": cost, "requests": 1}


def _stored_story(job_id: str, request: ShortRequest) -> dict[str, Any] | None:
    """The story a crashed `story` step stored, with what it cost (stored beside it); a file
    without its cost is charged the story's bound (it was paid at the provider)."""
    key = f"{media_prefix(job_id)}/story.json"
    if not media_exists(key):
        return None
    value = json.loads(get_media(key))
    usage = value.get("usage")
    if not isinstance(usage, dict) or usage.get("cost_usd") is None:
        bound = float(estimate(request)["text"])
        usage = {"model": value.get("model"), "cost_usd": bound, "provider_requests": 1}
    return {**value, "usage": usage}


def _segment(
    context: DurableContext,
    run: JobRun,
    request: ShortRequest,
    segment: dict[str, Any],
    reference: str | None,
    reservations: Reservations,
    deadline: float,
) -> dict[str, Any]:
    """One segment's paid parts (image, narration, then with `clips` its clip), each
    checkpointed at most once. A request refused before it was sent for a reason time cures (a
    breaker half-open while another branch holds its probe) waits durably and is tried again."""

    n = int(segment["index"])
    image = paid_step(
        context,
        f"image-{n}",
        lambda: _image(run, request, segment, reference, reservations),
        wait_unsent_until=deadline,
    )
    image = _recovered(context, f"image-{n}", image, lambda: _stored_image(run.job_id, n))
    if not image.ok:
        raise JobFailure(image.code or "provider_error", f"segment {n} image: {image.message}")
    narration = paid_step(
        context,
        f"narration-{n}",
        lambda: _narration(run, request, segment, reservations),
        wait_unsent_until=deadline,
    )
    narration = _recovered(context, f"narration-{n}", narration, lambda: _stored_audio(run.job_id, n))
    audio: dict[str, Any] | None = narration.value if narration.ok else None
    if audio is None and not (request.silent_fallback and not narration.unconfirmed):
        raise JobFailure(narration.code or "provider_error", f"segment {n} narration: {narration.message}")
    if audio is None:
        logger.warning("narration failed; segment silent", extra={"segment": n, "reason": narration.message})
    clip: dict[str, Any] = {}
    if request.clips:
        seconds = float(audio["duration_s"]) + BREATH_S if audio else _silent_seconds(str(segment["text"]))
        clip = _clip(context, run, request, segment, seconds, reservations, deadline)
    done = {
        "index": n,
        "text": segment["text"],
        "image_key": image.value["key"],
        "image_cost_usd": image.value["cost_usd"],
        "audio_key": audio["key"] if audio else None,
        "audio_cost_usd": audio["cost_usd"] if audio else 0.0,
        "duration_s": audio["duration_s"] if audio else None,
        "silent": audio is None,
        "narration_error": None if audio else narration.message,
        "clip_key": clip.get("clip_key"),
        "clip_model": clip.get("clip_model"),
        "clip_seconds": clip.get("clip_seconds"),
        "clip_cost_usd": float(clip.get("clip_cost_usd") or 0.0),
        "clip_note": clip.get("clip_note"),
        "provider_requests": int(image.value["requests"])
        + (int(audio["requests"]) if audio else 0)
        + int(clip.get("clip_requests") or 0),
    }
    store_step(context, f"segment-{n}-done", lambda: _record(run.job_id, {f"segment_{n}": done}))
    return done


def _assemble(
    run: JobRun, request: ShortRequest, title: str, segments: list[dict[str, Any]]
) -> dict[str, Any]:
    """Download the parts, make captions and the MP4, store all three files (fixed keys)."""

    prefix = media_prefix(run.job_id)
    keys = {
        "video_key": f"{prefix}/short.mp4",
        "srt_key": f"{prefix}/short.srt",
        "vtt_key": f"{prefix}/short.vtt",
    }
    workdir = Path(tempfile.mkdtemp(prefix="short-"))
    try:
        inputs = []
        narration_s = 0.0
        for segment in segments:
            n = segment["index"]
            kind: Literal["still", "clip"] = "clip" if segment.get("clip_key") else "still"
            if kind == "clip":  # looped or trimmed to the segment, scaled and cropped to the frame
                visual = workdir / f"{n}.mp4"
                visual.write_bytes(get_media(segment["clip_key"]))
            else:
                visual = workdir / f"{n}.png"
                visual.write_bytes(get_media(segment["image_key"]))
            if segment["audio_key"]:
                wav = workdir / f"{n}.wav"
                wav.write_bytes(get_media(segment["audio_key"]))
                seconds = wav_info(wav).duration_s
                narration_s += seconds
                start, end = speech_bounds(wav)
                cues = build_cues(segment["text"], seconds, speech_start_s=start, speech_end_s=end)
                inputs.append(SegmentInput(visual=visual, narration=wav, cues=tuple(cues), kind=kind))
            else:
                silent = _silent_seconds(str(segment["text"]))
                narration_s += silent
                cues = build_cues(segment["text"], silent)
                inputs.append(SegmentInput(visual=visual, cues=tuple(cues), silent_s=silent, kind=kind))
        made = assemble_short(
            ShortSpec(
                segments=tuple(inputs),
                title=title[:80],
                aspect_ratio=request.aspect_ratio,
                breath_s=BREATH_S,
                title_s=TITLE_S,
                language=_iso639_2(request.language),
                title_overlay=True,
            ),
            workdir / "out",
            timeout_s=ASSEMBLY_TIMEOUT_S,
        )
        put_media(keys["srt_key"], made.srt_path.read_bytes(), "application/x-subrip")
        put_media(keys["vtt_key"], made.vtt_path.read_bytes(), "text/vtt")
        put_media(keys["video_key"], made.path.read_bytes(), "video/mp4")
        return {
            **keys,
            "duration_s": round(made.duration_s, 3),
            "narration_s": round(narration_s, 3),
            "width": made.width,
            "height": made.height,
            "size_bytes": made.size_bytes,
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


_ISO639 = {
    "en": "eng",
    "es": "spa",
    "pt": "por",
    "fr": "fra",
    "de": "deu",
    "it": "ita",
    "ja": "jpn",
    "ko": "kor",
}


def _iso639_2(language: str) -> str:
    """The subtitle track's ISO 639-2 code for a BCP 47 tag (`und` when not known here)."""
    return _ISO639.get(language.split("-")[0].lower(), "und")


def _by_kind(story_usage: dict[str, Any], segments: list[dict[str, Any]]) -> dict[str, Any]:
    text = float(story_usage.get("cost_usd") or 0)
    image = sum(float(s["image_cost_usd"] or 0) for s in segments)
    voice = sum(float(s["audio_cost_usd"] or 0) for s in segments)
    video = sum(float(s.get("clip_cost_usd") or 0) for s in segments)
    requests = int(story_usage.get("provider_requests") or 0) + sum(
        int(s["provider_requests"]) for s in segments
    )
    # The total is the sum of the parts as shown (each rounded to a millionth of a dollar).
    text, image, voice, video = round(text, 6), round(image, 6), round(voice, 6), round(video, 6)
    return {
        "text": text,
        "image": image,
        "voice": voice,
        "video": video,
        "cost_usd": round(text + image + voice + video, 6),
        "provider_requests": requests,
    }


def _unconfirmed_story(request: ShortRequest) -> dict[str, Any]:
    """A story request that may have been paid unseen: charged its bound (the upper bound)."""
    text = float(estimate(request)["text"])
    return {"text": text, "image": 0.0, "voice": 0.0, "video": 0.0, "cost_usd": text, "provider_requests": 1}


def _charge(
    run: JobRun, reservations: Reservations, by_kind: dict[str, Any] | None, model: str | None
) -> None:
    """Settle the short once per payer (`settle_job`, idempotent on the ledger): the hold its
    starter made (and any a request beyond it added) released, what the steps cost charged
    (`by_kind`; None: nothing was paid)."""
    meter: Meter | None = None
    if by_kind is not None:
        meter = Meter()
        meter.add(
            model=model, ok=True, prompt_tokens=None, completion_tokens=None, cost_usd=by_kind["cost_usd"]
        )
    # Per function on the ledger as the other functions are: Lambda's name for this one.
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "ShortJobFunction"
    settle_job(run.job_id, run.reservation, run.owner, reservations, meter, function)


def run_short(run: JobRun) -> JobResult:
    """The durable short pipeline (module docstring, steps 1-4); `JobFailure` ends it failed."""
    settings = get_settings()
    request = ShortRequest.model_validate(run.request)
    context = run.context
    deadline = deadline_step(context, job_budget_seconds(DEADLINE_SECONDS))  # within the execution's timeout
    # The hold its starter made (the payload's reservation): the paid steps' priced requests run
    # under it without reserving again while it lasts; `charge` settles it once.
    reservations = job_reservations(run.reservation, run.owner)
    run.progress("story", 0.02)
    story = paid_step(
        context, "story", lambda: _story(run, request, reservations), wait_unsent_until=deadline
    )
    story = _recovered(context, "story", story, lambda: _stored_story(run.job_id, request))
    if not story.ok:
        # Nothing confirmed paid: the hold is released (an unconfirmed story is charged its bound).
        unconfirmed = _unconfirmed_story(request) if story.unconfirmed else None
        store_step(context, "charge", lambda: _charge(run, reservations, unconfirmed, None))
        raise JobFailure(
            story.code or "provider_error",
            f"story: {story.message}",
            usage={"by_kind": unconfirmed} if unconfirmed is not None else None,
        )
    title, segments, story_usage = story.value["title"], story.value["segments"], story.value["usage"]
    store_step(
        context,
        "segments-planned",
        lambda: update_job(
            run.job_id, step="segments", progress=0.1, outputs={"segments_total": len(segments)}
        ),
    )

    reference: str | None = None
    done: list[dict[str, Any]] = []
    rest = segments
    if request.character is not None and accepts_references(settings.image_models[0]):
        first = context.run_in_child_context(
            lambda child: _segment(child, run, request, segments[0], None, reservations, deadline),
            name="segment-1",
        )
        done.append(first)
        reference = first["image_key"]
        rest = segments[1:]

    def branch(child: DurableContext, segment: dict[str, Any], _index: int, _all: Any) -> dict[str, Any]:
        return _segment(child, run, request, segment, reference, reservations, deadline)

    if rest:
        batch: BatchResult[dict[str, Any]] = context.map(
            rest,
            branch,
            name="segments",
            config=MapConfig(max_concurrency=settings.short_parallel_segments),
        )
        errors = batch.get_errors()
        done += list(batch.get_results())
        if errors:
            # What was paid (the story, the finished segments) is charged before the short fails.
            paid = _by_kind(story_usage, done)
            store_step(context, "charge", lambda: _charge(run, reservations, paid, None))
            reason = getattr(errors[0], "message", None) or "no reason given"
            raise JobFailure("provider_error", f"a segment failed: {reason}", usage={"by_kind": paid})
    done.sort(key=lambda segment: int(segment["index"]))
    by_kind = _by_kind(story_usage, done)
    if all(segment["silent"] for segment in done):
        store_step(context, "charge", lambda: _charge(run, reservations, by_kind, None))
        raise JobFailure(
            "provider_error", "no narration could be made for any segment", usage={"by_kind": by_kind}
        )
    run.progress("assembling", 0.8)
    try:
        assembled = store_step(context, "assemble", lambda: _assemble_once(run, request, title, done))
    except StepError as exc:  # failed after its retries; the SDK's own invocation errors propagate
        store_step(context, "charge", lambda: _charge(run, reservations, by_kind, None))
        raise JobFailure(
            "assembly_failed", f"the short could not be assembled: {exc.message}", usage={"by_kind": by_kind}
        ) from None
    store_step(context, "charge", lambda: _charge(run, reservations, by_kind, story_usage.get("model")))
    return JobResult(
        outputs={**assembled, "segments_total": len(done), **{f"segment_{s['index']}": s for s in done}},
        usage={
            "by_kind": by_kind,
            "cost_usd": by_kind["cost_usd"],
            "provider_requests": by_kind["provider_requests"],
        },
    )


def _assemble_once(
    run: JobRun, request: ShortRequest, title: str, segments: list[dict[str, Any]]
) -> dict[str, Any]:
    """Assemble unless a replay finds the MP4 already stored (the keys are fixed per short)."""
    prefix = media_prefix(run.job_id)
    job = get_job(run.job_id)
    stored = (job.outputs or {}).get("assembled") if job is not None else None
    if isinstance(stored, dict) and media_exists(f"{prefix}/short.mp4"):
        return stored
    result = _assemble(run, request, title, segments)
    _record(run.job_id, {"assembled": result})
    return result


def notify(context: DurableContext, event: dict[str, Any], outcome: dict[str, Any]) -> None:
    """After the outcome: with a `callback_url`, the signed webhook, retried with backoff as
    durable waits (`poll`), for up to `WEBHOOK_WINDOW_SECONDS`; each attempt claimed on the job
    row (`deliver_claimed`: never at once with the dead-letter reaper's, none after the
    deliveries ended), their end recorded there."""
    url = (event.get("request") or {}).get("callback_url")
    if not url:
        return
    job_id = str(event["job_id"])

    def payload() -> str:
        job = get_job(job_id)
        if job is None:
            stamp = datetime.fromtimestamp(0, UTC).isoformat()
            return event_body(
                f"short.{outcome.get('status')}", stamp, {"short_id": job_id, "status": outcome.get("status")}
            )
        return outcome_body(job)

    body = store_step(context, "webhook-body", payload)
    deadline = deadline_step(context, WEBHOOK_WINDOW_SECONDS, name="webhook-deadline")

    def probe(state: dict[str, Any]) -> dict[str, Any]:
        at = now()
        result = deliver_claimed(job_id, str(url), body, at, give_up=at >= deadline)
        attempts = int(state.get("attempts", 0)) + 1
        return {**state, **result, "attempts": attempts, "done": bool(result["final"])}

    outcome_state = poll(
        context,
        "webhook",
        probe,
        initial_state={"attempts": 0},
        deadline=deadline,
        transient=(ContentgenError,),
        permanent=(),
        first_delay=WEBHOOK_FIRST_DELAY,
        max_delay=WEBHOOK_MAX_DELAY,
    )
    state = outcome_state.state
    if not state.get("final"):  # the window passed: no one sends it again
        store_step(context, "webhook-end", lambda: end_webhook(job_id, "gave_up"))
    logger.info(
        "webhook outcome",
        extra={
            "delivered": state.get("delivered"),
            "attempts": state.get("attempts"),
            "error": state.get("error"),
        },
    )
