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
from typing import TYPE_CHECKING, Any

from aws_durable_execution_sdk_python import StepError
from aws_durable_execution_sdk_python.concurrency.models import BatchResult
from aws_durable_execution_sdk_python.config import MapConfig

from contentgen.assembly import SegmentInput, ShortSpec, assemble_short, build_cues, speech_bounds, wav_info
from contentgen.billing.meter import Meter, metered
from contentgen.billing.prices import AUDIO_TOKENS_PER_SECOND, speech_cost
from contentgen.catalog import default_chain, image_price_usd
from contentgen.config import get_settings
from contentgen.errors import ContentgenError
from contentgen.generation.images import accepts_references, generate_image
from contentgen.generation.speech import synthesize
from contentgen.models.shorts import ShortRequest
from contentgen.models.stories import StorySegmentsRequest
from contentgen.observability import logger
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
from contentgen.services.shorts import BREATH_S, DEADLINE_SECONDS, TITLE_S, estimate, media_prefix, voice_of
from contentgen.services.stories import generate_story_segments
from contentgen.services.webhooks import attempt_delivery, event_body
from contentgen.stores.jobs import get_job, update_job
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
    put_media(f"{media_prefix(run.job_id)}/story.json", json.dumps(value).encode(), "application/json")
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


def _stored_story(job_id: str) -> dict[str, Any] | None:
    key = f"{media_prefix(job_id)}/story.json"
    if not media_exists(key):
        return None
    value = json.loads(get_media(key))
    usage = {"model": value.get("model"), "cost_usd": None, "provider_requests": 1}
    return {**value, "usage": usage}


def _segment(
    context: DurableContext,
    run: JobRun,
    request: ShortRequest,
    segment: dict[str, Any],
    reference: str | None,
    reservations: Reservations,
) -> dict[str, Any]:
    """One segment's paid parts (image, then narration), each checkpointed at most once."""

    n = int(segment["index"])
    image = paid_step(context, f"image-{n}", lambda: _image(run, request, segment, reference, reservations))
    image = _recovered(context, f"image-{n}", image, lambda: _stored_image(run.job_id, n))
    if not image.ok:
        raise JobFailure(image.code or "provider_error", f"segment {n} image: {image.message}")
    narration = paid_step(context, f"narration-{n}", lambda: _narration(run, request, segment, reservations))
    narration = _recovered(context, f"narration-{n}", narration, lambda: _stored_audio(run.job_id, n))
    audio: dict[str, Any] | None = narration.value if narration.ok else None
    if audio is None and not (request.silent_fallback and not narration.unconfirmed):
        raise JobFailure(narration.code or "provider_error", f"segment {n} narration: {narration.message}")
    if audio is None:
        logger.warning("narration failed; segment silent", extra={"segment": n, "reason": narration.message})
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
        "provider_requests": int(image.value["requests"]) + (int(audio["requests"]) if audio else 0),
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
            visual = workdir / f"{n}.png"
            visual.write_bytes(get_media(segment["image_key"]))
            if segment["audio_key"]:
                wav = workdir / f"{n}.wav"
                wav.write_bytes(get_media(segment["audio_key"]))
                seconds = wav_info(wav).duration_s
                narration_s += seconds
                start, end = speech_bounds(wav)
                cues = build_cues(segment["text"], seconds, speech_start_s=start, speech_end_s=end)
                inputs.append(SegmentInput(visual=visual, narration=wav, cues=tuple(cues)))
            else:
                silent = max(3.0, len(str(segment["text"]).split()) * 0.4)
                narration_s += silent
                cues = build_cues(segment["text"], silent)
                inputs.append(SegmentInput(visual=visual, cues=tuple(cues), silent_s=silent))
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
    requests = int(story_usage.get("provider_requests") or 0) + sum(
        int(s["provider_requests"]) for s in segments
    )
    # The total is the sum of the parts as shown (each rounded to a millionth of a dollar).
    text, image, voice = round(text, 6), round(image, 6), round(voice, 6)
    return {
        "text": text,
        "image": image,
        "voice": voice,
        "video": 0.0,
        "cost_usd": round(text + image + voice, 6),
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
    deadline_step(context, job_budget_seconds(DEADLINE_SECONDS))  # within the execution's timeout
    # The hold its starter made (the payload's reservation): the paid steps' priced requests run
    # under it without reserving again while it lasts; `charge` settles it once.
    reservations = job_reservations(run.reservation, run.owner)
    run.progress("story", 0.02)
    story = paid_step(context, "story", lambda: _story(run, request, reservations))
    story = _recovered(context, "story", story, lambda: _stored_story(run.job_id))
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
            lambda child: _segment(child, run, request, segments[0], None, reservations), name="segment-1"
        )
        done.append(first)
        reference = first["image_key"]
        rest = segments[1:]

    def branch(child: DurableContext, segment: dict[str, Any], _index: int, _all: Any) -> dict[str, Any]:
        return _segment(child, run, request, segment, reference, reservations)

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
    durable waits (`poll`), for up to `WEBHOOK_WINDOW_SECONDS`; its last state on the job row."""
    url = (event.get("request") or {}).get("callback_url")
    if not url:
        return
    job_id = str(event["job_id"])

    def payload() -> str:
        job = get_job(job_id)
        status = job.status if job is not None else str(outcome.get("status"))
        data: dict[str, Any] = {"short_id": job_id, "status": status}
        if job is not None and job.status == "failed":
            data["error"] = job.error
            data["error_code"] = job.error_code
        stamp = datetime.fromtimestamp(job.updated_at if job is not None else 0, UTC).isoformat()
        return event_body(f"short.{status}", stamp, data)

    body = store_step(context, "webhook-body", payload)
    deadline = deadline_step(context, WEBHOOK_WINDOW_SECONDS, name="webhook-deadline")

    def probe(state: dict[str, Any]) -> dict[str, Any]:
        result = attempt_delivery(str(url), f"msg_{job_id}", body, now())
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
    logger.info(
        "webhook outcome",
        extra={
            "delivered": state.get("delivered"),
            "attempts": state.get("attempts"),
            "error": state.get("error"),
        },
    )
