"""Videos as asynchronous jobs: start a Veo operation, then check it once per queue message.

State: pending (started) → running (checked, not done) → succeeded (stored in S3) or failed
(provider error, filtered, or the job's deadline passed; `error_code` provider_error,
content_filtered or deadline_exceeded). No invocation waits for Veo. A check that meets a rate
limit, an open breaker, or any provider failure that names a wait (`Retry-After`, `RetryInfo`, e.g.
a 503) is re-scheduled after that wait (at most SQS's 900 s) without spending a receive.

Cost of a job that fails: the job is charged when its operation starts (duration x the price
table, `contentgen.pricing`) and that charge stays when the job fails (provider error, filtered
videos, deadline); the job shows that `usage` on every status, failed included. Google prices Veo
per second of video requested to be generated and documents no exemption or refund for an
operation that ends in an error or whose videos are filtered (`raiMediaFilteredCount`): neither
the Gemini API pricing page (https://ai.google.dev/gemini-api/docs/pricing) nor the Vertex AI
pricing page (https://cloud.google.com/vertex-ai/generative-ai/pricing), nor Veo's responsible-AI
guide (https://cloud.google.com/vertex-ai/generative-ai/docs/video/responsible-ai-and-usage-guidelines,
"if fewer videos than requested are returned, then some generated output is being blocked")
says a filtered or failed operation is free, and developers asking Google about it note that
"the documentation does not explicitly describe how billing ... [is] handled for different
safety filter scenarios" (https://discuss.google.dev/t/veo-3-1-fast-billing-and-http-response-codes-when-safety-filters-trigger/300275,
read 2026-11-30). So the ledger keeps the upper bound, as for a timed-out start: a key is never
charged less than Google may bill; reconcile with the Cloud Billing report if Google refunds.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from contentgen.config import get_settings
from contentgen.core.videos import check_video, start_video
from contentgen.errors import (
    CircuitOpenError,
    ContentFilteredError,
    NotFoundError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderTimeoutError,
)
from contentgen.jobs import VideoJob, create_job, get_job, schedule_check, update_job
from contentgen.models.media import VideoJobAccepted, VideoJobStatus, VideoRequest
from contentgen.models.usage import Usage
from contentgen.observability import logger
from contentgen.pricing import video_cost
from contentgen.prompts.media import video_prompt
from contentgen.storage import media_exists, presigned_get_url, put_media
from contentgen.usage import add_unconfirmed_cost, current_meter

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# A job not finished this long after its deadline will not be checked again (SQS delays top at 900 s).
ABANDONED_AFTER_SECONDS = 1800
SQS_MAX_DELAY_SECONDS = 900


def start_video_job(request: VideoRequest, base_path: str = "") -> VideoJobAccepted:
    """Start the Veo operation, record the job and schedule its first check.

    `base_path` goes before `/videos/{job_id}` in `status_url` (`/prod` behind the stage on the
    execute-api URL; empty on a custom domain's root, locally without a stage, or direct calls)."""
    settings = get_settings()
    try:
        started = start_video(
            video_prompt(request.prompt, aspect_ratio=request.aspect_ratio),
            aspect_ratio=request.aspect_ratio,
            duration_seconds=request.duration_seconds,
            models=settings.video_models,
        )
    except ProviderTimeoutError as exc:
        raise _start_unconfirmed(exc, request, settings.video_models) from None
    now = int(time.time())
    job = VideoJob(
        job_id=secrets.token_urlsafe(16),
        status="pending",
        operation_name=started.operation_name,
        model=started.model,
        request=request.model_dump(),
        created_at=now,
        updated_at=now,
        deadline_at=now + settings.video_job_deadline_seconds,
        usage=meter.as_usage() if (meter := current_meter()) is not None else None,
    )
    create_job(job)
    schedule_check(job.job_id, delay_seconds=settings.video_poll_delay_seconds)
    logger.info(
        "video job accepted",
        extra={"job_id": job.job_id, "operation": started.operation_name, "model": started.model},
    )
    return VideoJobAccepted(
        job_id=job.job_id, status="pending", status_url=f"{base_path}/videos/{job.job_id}"
    )


def _start_unconfirmed(
    exc: ProviderTimeoutError, request: VideoRequest, models: Sequence[str]
) -> ProviderTimeoutError:
    """The 504 for a start that timed out. The start is not retried (`start_video` calls with
    `idempotent=False`), since Veo may have begun the operation and will bill it: the error is
    flagged `unconfirmed_paid_work`, so the answer is kept under the request's `Idempotency-Key`
    (or `request_id`) and a repeat gets it instead of starting (and paying for) a second video;
    and the key is charged the dearest of `models` for the requested seconds (the upper bound,
    as for a failed job: module docstring), shown in the answer's `usage`."""
    costs = [cost for model in models if (cost := video_cost(model, request.duration_seconds)) is not None]
    if costs:
        add_unconfirmed_cost(max(costs))
    logger.warning(
        "video start unconfirmed", extra={"reason": exc.message, "charged_usd": max(costs, default=None)}
    )
    error = ProviderTimeoutError(
        f"{exc.message}. The video may have started at the provider (and be billed); it was not "
        "retried, to avoid paying twice. This answer is kept under the request's key; a request "
        "with a new Idempotency-Key (or request_id) starts a new video",
        retry_after=exc.retry_after,
    )
    error.unconfirmed_paid_work = True
    return error


def video_job_status(job_id: str) -> VideoJobStatus:
    job = get_job(job_id) if _JOB_ID.match(job_id) else None
    if job is None:
        raise NotFoundError(f"no video job {job_id}")
    if not job.finished and time.time() > job.deadline_at + ABANDONED_AFTER_SECONDS:
        # No check has finished the job long after its deadline: its messages went to the DLQ.
        reason = "deadline passed: the job's checks stopped (see the job queue's dead-letter queue)"
        if update_job(job_id, status="failed", error=reason, error_code="deadline_exceeded"):
            logger.warning("video job abandoned", extra={"job_id": job_id})
        job = get_job(job_id) or job
    succeeded = job.status == "succeeded" and job.s3_key is not None
    return VideoJobStatus(
        job_id=job.job_id,
        status=job.status,
        video_url=presigned_get_url(job.s3_key) if succeeded and job.s3_key else None,
        error=job.error if job.status == "failed" else None,
        error_code=job.error_code if job.status == "failed" else None,
        created_at=job.created_at,
        updated_at=job.updated_at,
        checks=job.checks,
        # Charged when the operation started, and kept when it fails (module docstring).
        usage=Usage.model_validate(job.usage) if job.usage is not None else None,
    )


def _video_key(job: VideoJob) -> str:
    """Fixed per job, so a repeated check finds the video already stored. The id is 128 random bits."""
    day = datetime.fromtimestamp(job.created_at, UTC).strftime("%Y/%m/%d")
    return f"videos/{day}/{job.job_id}.mp4"


def advance_video_job(job_id: str) -> str:
    """Check the job's operation once and move the job on; returns the job's status afterwards."""
    job = get_job(job_id)
    if job is None:
        logger.warning("video job not found", extra={"job_id": job_id})
        return "unknown"
    if job.finished:
        logger.info("video job already finished", extra={"job_id": job_id, "status": job.status})
        return job.status
    settings = get_settings()
    try:
        outcome = check_video(job.operation_name, model=job.model)
    except ProviderError as exc:
        if not isinstance(exc, (ProviderRateLimitedError, CircuitOpenError)) and exc.retry_after is None:
            raise  # no wait named: the message fails and SQS delivers it again
        # The provider asked us to wait (a 429 or a 5xx with Retry-After / RetryInfo) or the
        # model's breaker is open: check again after the wait instead of failing the message
        # towards the DLQ (each failed receive counts towards maxReceiveCount).
        delay = min(
            SQS_MAX_DELAY_SECONDS, max(settings.video_poll_delay_seconds, math.ceil(exc.retry_after or 0))
        )
        schedule_check(job_id, delay_seconds=delay)
        logger.warning(
            "video job check deferred",
            extra={"job_id": job_id, "code": exc.code, "reason": exc.message, "delay_seconds": delay},
        )
        return job.status
    if not outcome.done:
        if time.time() >= job.deadline_at:
            reason = f"deadline passed: the video was not ready {settings.video_job_deadline_seconds} s after the start"
            update_job(job_id, status="failed", error=reason, error_code="deadline_exceeded")
            logger.warning("video job failed", extra={"job_id": job_id, "reason": reason})
            return "failed"
        update_job(job_id, status="running")
        schedule_check(job_id, delay_seconds=settings.video_poll_delay_seconds)
        return "running"
    if outcome.error is not None or outcome.data is None:
        if outcome.error:
            reason, code = f"provider error: {outcome.error}", ProviderError.code
        else:
            reason, code = "filtered: " + "; ".join(outcome.filtered), ContentFilteredError.code
        update_job(job_id, status="failed", error=reason, error_code=code)
        logger.warning("video job failed", extra={"job_id": job_id, "reason": reason})
        return "failed"
    key = _video_key(job)
    if not media_exists(key):
        put_media(key, outcome.data, outcome.mime_type)
    update_job(job_id, status="succeeded", s3_key=key)
    logger.info("video job succeeded", extra={"job_id": job_id, "s3_key": key, "bytes": len(outcome.data)})
    return "succeeded"
