"""Videos as asynchronous jobs: start a Veo operation, then check it once per queue message.

State: pending (started) → running (checked, not done) → succeeded (stored in S3) or failed
(provider error, filtered, the job's deadline passed, or its start was never recorded;
`error_code` provider_error, content_filtered, deadline_exceeded or start_unconfirmed). No
invocation waits for Veo: a check makes one request (`wait=False` in the call policy), and one
that meets a rate limit, an open breaker, a server error, a timeout or a dropped connection is
re-scheduled through the queue after the wait the provider named (`Retry-After`, `RetryInfo`), at
least the poll delay and at most SQS's 900 s, without spending a receive.

A start is never lost: the job is written before the (paid) start is sent and given its operation
after; the first check's message names the operation too, and failing both it is logged at ERROR
with the job_id (`start_video_job`).

Cost of a job that fails: the job is charged when its operation starts (duration x the price
table, `contentgen.billing.prices`) and that charge stays when the job fails (provider error, filtered
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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from contentgen.billing.meter import add_unconfirmed_cost, current_meter
from contentgen.billing.prices import video_cost
from contentgen.catalog import video_violations
from contentgen.config import get_settings
from contentgen.errors import (
    CircuitOpenError,
    ContentFilteredError,
    ContentgenError,
    DeadlineExceededError,
    InvalidRequestError,
    ModelUnavailableError,
    NotFoundError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from contentgen.generation.videos import StartedVideo, check_video, start_video
from contentgen.models.media import VideoJobAccepted, VideoJobStatus, VideoRequest
from contentgen.models.usage import Usage
from contentgen.observability import logger
from contentgen.prompts.media import video_prompt
from contentgen.stores.jobs import (
    JobStoreUnavailableError,
    VideoJob,
    check_configured,
    create_job,
    discard_job,
    get_job,
    record_operation,
    schedule_check,
    update_job,
)
from contentgen.stores.media import media_exists, presigned_get_url, put_media

T = TypeVar("T")

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# A job not finished this long after its deadline will not be checked again (SQS delays top at 900 s).
ABANDONED_AFTER_SECONDS = 1800
SQS_MAX_DELAY_SECONDS = 900
# A start runs inside one invocation of the start function, and no Lambda invocation runs longer
# than 900 s (its largest timeout): a job still without its operation this long after it was
# written will never get it from its start (error_code start_unconfirmed).
START_WINDOW_SECONDS = 900
# Writes that keep a paid start findable (the job's operation, the first check): tried this
# often, with sub-second pauses, on top of botocore's own retries.
RECORD_ATTEMPTS = 3
RECORD_PAUSE_SECONDS = 0.2
# Check failures after which the operation is checked again later (the provider or its breaker,
# not the request): re-scheduled through the queue, never waited out in the invocation.
_CHECK_AGAIN = (
    ProviderRateLimitedError,
    ProviderUnavailableError,
    ProviderTimeoutError,
    CircuitOpenError,
    DeadlineExceededError,
)
UNRECORDED_START = (
    "the start's outcome was never recorded: the video may have been started (and billed) at the "
    "provider; its operation, if any, is in the ERROR log 'video start not recorded' under this job_id"
)


def start_video_job(request: VideoRequest, base_path: str = "") -> VideoJobAccepted:
    """Record the job, start the Veo operation, record it on the job and schedule its first check.

    The job is written (pending, no operation yet) before the paid start is sent, so a start whose
    later writes fail is still a job: the answer names it, the first check's message carries the
    operation (the worker records it), and failing that the operation is logged at ERROR with the
    job_id; a job whose start never got recorded fails after `START_WINDOW_SECONDS`. A start that
    definitely did not begin removes its job; one that may have begun unseen (timeout, dropped
    connection, unreadable answer) is the 504 of `_start_unconfirmed`.

    `base_path` goes before `/videos/{job_id}` in `status_url` (`/prod` behind the stage on the
    execute-api URL; empty on a custom domain's root, locally without a stage, or direct calls)."""
    settings = get_settings()
    check_configured()  # a job that could not be followed is not started (and not paid for)
    models = capable_video_models(request, settings.video_models)
    now = int(time.time())
    job = VideoJob(
        job_id=secrets.token_urlsafe(16),
        status="pending",
        operation_name=None,
        model=models[0],
        request=request.model_dump(),
        created_at=now,
        updated_at=now,
        deadline_at=now + settings.video_job_deadline_seconds,
    )
    _create(job)  # before the start: a job that cannot be written starts nothing
    try:
        started = start_video(
            video_prompt(request.prompt, aspect_ratio=request.aspect_ratio),
            aspect_ratio=request.aspect_ratio,
            duration_seconds=request.duration_seconds,
            models=models,
        )
    except Exception as exc:
        _discard(job.job_id)
        if isinstance(exc, ProviderError) and exc.unconfirmed_paid_work:
            raise _start_unconfirmed(exc, request, models) from None
        raise
    usage = meter.as_usage() if (meter := current_meter()) is not None else None
    recorded = _record_start(job.job_id, started, usage)
    _schedule_first_check(job.job_id, started, settings.video_poll_delay_seconds, recorded=recorded)
    logger.info(
        "video job accepted",
        extra={"job_id": job.job_id, "operation": started.operation_name, "model": started.model},
    )
    return VideoJobAccepted(
        job_id=job.job_id, status="pending", status_url=f"{base_path}/videos/{job.job_id}"
    )


def _create(job: VideoJob) -> None:
    """Write the job before its start; `JobStoreUnavailableError` (503) when the table refuses."""
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    def write() -> None:
        try:
            create_job(job)
        except ClientError as exc:
            # The id is 128 random bits: an item already there is an earlier attempt's, landed.
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    try:
        _retried(write)
    except ContentgenError:
        raise
    except Exception as exc:
        logger.warning(
            "video job not written", extra={"job_id": job.job_id, "reason": f"{type(exc).__name__}: {exc}"}
        )
        raise JobStoreUnavailableError(
            "the video job could not be recorded, so no video was started; try again shortly", retry_after=5
        ) from None


def _retried(write: Callable[[], T]) -> T:
    """`write` (a DynamoDB or SQS call), tried `RECORD_ATTEMPTS` times with sub-second pauses."""
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            return write()
        except Exception:
            if attempt == RECORD_ATTEMPTS:
                raise
            time.sleep(RECORD_PAUSE_SECONDS * attempt)
    raise AssertionError("unreachable")


def _discard(job_id: str) -> None:
    """Remove the job of a start that did not begin (or whose outcome is unknown and answered
    504); a job left behind fails after `START_WINDOW_SECONDS`."""
    try:
        discard_job(job_id)
    except Exception as exc:
        logger.warning(
            "video job not discarded", extra={"job_id": job_id, "reason": f"{type(exc).__name__}: {exc}"}
        )


def _record_start(job_id: str, started: StartedVideo, usage: dict[str, Any] | None) -> bool:
    """Write the started operation on the job; False (logged at ERROR with the operation, so an
    operator can recover it) when that write keeps failing."""
    try:
        if _retried(
            lambda: record_operation(
                job_id, operation_name=started.operation_name, model=started.model, usage=usage
            )
        ):
            return True
        reason = "the job was no longer waiting for its start"
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
    logger.error(
        "video start not recorded",
        extra={
            "job_id": job_id,
            "operation": started.operation_name,
            "model": started.model,
            "cost_usd": started.cost_usd,
            "reason": reason,
        },
    )
    return False


def _schedule_first_check(job_id: str, started: StartedVideo, delay: int, *, recorded: bool) -> None:
    """Send the first check, naming the operation (the worker records it when `_record_start`
    could not); logged at ERROR with the operation when SQS keeps refusing."""
    try:
        _retried(
            lambda: schedule_check(
                job_id, delay_seconds=delay, operation_name=started.operation_name, model=started.model
            )
        )
    except Exception as exc:
        logger.error(
            "video job check not scheduled",
            extra={
                "job_id": job_id,
                "operation": started.operation_name,
                "model": started.model,
                "operation_recorded": recorded,
                "reason": f"{type(exc).__name__}: {exc}",
            },
        )


def capable_video_models(request: VideoRequest, models: Sequence[str]) -> list[str]:
    """The models of the chain that can make the request's duration and aspect ratio (the model
    catalog; a model it does not describe is kept), in order; `InvalidRequestError` (422) naming
    the field and the primary model's allowed values when none can, before anything is paid."""
    problems = {
        model: video_violations(
            model, duration_seconds=request.duration_seconds, aspect_ratio=request.aspect_ratio
        )
        for model in models
    }
    capable = [model for model in models if not problems[model]]
    if not capable:
        first = problems[models[0]][0]
        allowed = ", ".join(str(value) for value in first.allowed)
        raise InvalidRequestError(first.field, f"{models[0]} cannot make {first.value}; allowed: {allowed}")
    return capable


def _start_unconfirmed(
    exc: ProviderError, request: VideoRequest, models: Sequence[str]
) -> ProviderTimeoutError:
    """The 504 for a start that may have begun unseen: it timed out, its connection dropped after
    the request was sent, or its answer could not be read (`exc.unconfirmed_paid_work`, set by the
    call policy for `idempotent=False`). The start is not retried, since Veo may have begun the
    operation and will bill it: the error is flagged `unconfirmed_paid_work`, so the answer is
    kept under the request's `Idempotency-Key` (or `request_id`) and a repeat gets it instead of
    starting (and paying for) a second video; and the key is charged the dearest of `models` for
    the requested seconds (the upper bound, as for a failed job: module docstring), shown in the
    answer's `usage`."""
    cost = _upper_bound_cost(request.duration_seconds, models)
    if cost is not None:
        add_unconfirmed_cost(cost)
    logger.warning("video start unconfirmed", extra={"reason": exc.message, "charged_usd": cost})
    error = ProviderTimeoutError(
        f"{exc.message}. The video may have started at the provider (and be billed); it was not "
        "retried, to avoid paying twice. This answer is kept under the request's key; a request "
        "with a new Idempotency-Key (or request_id) starts a new video",
        retry_after=exc.retry_after,
    )
    error.unconfirmed_paid_work = True
    return error


def _upper_bound_cost(seconds: int, models: Sequence[str]) -> float | None:
    """The dearest of `models` for `seconds` of video (None when the table prices none)."""
    costs = [cost for model in models if (cost := video_cost(model, seconds)) is not None]
    return max(costs, default=None)


def _fail_unrecorded_start(job: VideoJob) -> bool:
    """Fail a job whose start was never recorded within `START_WINDOW_SECONDS`
    (`start_unconfirmed`), showing the upper bound of what the start may have cost."""
    seconds = job.request.get("duration_seconds")
    cost = _upper_bound_cost(seconds, get_settings().video_models) if isinstance(seconds, int) else None
    usage = job.usage or {
        "model": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "provider_requests": 1,
        "cost_usd": cost,
    }
    failed = update_job(
        job.job_id, status="failed", error=UNRECORDED_START, error_code="start_unconfirmed", usage=usage
    )
    if failed:
        logger.warning("video job start unrecorded", extra={"job_id": job.job_id, "charged_usd": cost})
    return failed


def video_job_status(job_id: str) -> VideoJobStatus:
    job = get_job(job_id) if _JOB_ID.match(job_id) else None
    if job is None:
        raise NotFoundError(f"no video job {job_id}")
    if (
        not job.finished
        and job.operation_name is None
        and time.time() > job.created_at + START_WINDOW_SECONDS
    ):
        _fail_unrecorded_start(job)
        job = get_job(job_id) or job
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


def advance_video_job(job_id: str, *, operation_name: str | None = None, model: str | None = None) -> str:
    """Check the job's operation once and move the job on; returns the job's status afterwards.

    `operation_name` / `model` (the first check's message) are recorded on a job whose start's
    own write of them failed. A check that fails in a way a later check may not (a 429, a 5xx, a
    timeout, a dropped connection, an open breaker) is re-scheduled through the queue after the
    provider's wait (at least the poll delay, at most SQS's 900 s), never waited out here; past
    the job's deadline the job fails instead (deadline_exceeded)."""
    job = get_job(job_id)
    if job is None:
        logger.warning("video job not found", extra={"job_id": job_id})
        return "unknown"
    if job.finished:
        logger.info("video job already finished", extra={"job_id": job_id, "status": job.status})
        return job.status
    settings = get_settings()
    if job.operation_name is None:
        if operation_name is None:
            return _await_start(job, settings.video_poll_delay_seconds)
        job = _adopt_operation(job, operation_name, model or job.model)
        if job.finished or job.operation_name is None:
            return job.status
    try:
        outcome = check_video(job.operation_name, model=job.model)
    except ModelUnavailableError as exc:
        # The provider no longer serves the job's model: no later check can succeed.
        update_job(job_id, status="failed", error=exc.message, error_code=exc.code)
        logger.warning("video job failed", extra={"job_id": job_id, "reason": exc.message})
        return "failed"
    except _CHECK_AGAIN as exc:
        return _check_later(job, exc, settings.video_poll_delay_seconds)
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


def _adopt_operation(job: VideoJob, operation_name: str, model: str) -> VideoJob:
    """Record the operation the first check's message names on a job whose start could not."""
    seconds = job.request.get("duration_seconds")
    cost = video_cost(model, seconds) if isinstance(seconds, int) else None
    usage = {
        "model": model,
        "prompt_tokens": None,
        "completion_tokens": None,
        "provider_requests": 1,
        "cost_usd": cost,
    }
    if record_operation(job.job_id, operation_name=operation_name, model=model, usage=usage):
        logger.warning(
            "video start recorded by its first check",
            extra={"job_id": job.job_id, "operation": operation_name},
        )
    return get_job(job.job_id) or job


def _await_start(job: VideoJob, delay: int) -> str:
    """A job whose start is not recorded (and whose message does not name it): failed once its
    start can no longer be running, else looked at again after `delay`."""
    if time.time() > job.created_at + START_WINDOW_SECONDS:
        _fail_unrecorded_start(job)
        return "failed"
    schedule_check(job.job_id, delay_seconds=max(1, delay))
    return job.status


def _check_later(job: VideoJob, exc: ProviderError, poll_delay: int) -> str:
    """A check that failed for now: the job fails past its deadline, else the check is sent again
    through the queue after the provider's wait (a 429 or 5xx `Retry-After` / `RetryInfo`, or the
    breaker's cooldown), at least `poll_delay` and at most SQS's 900 s, without failing the message
    (each failed receive counts towards maxReceiveCount) and without waiting in this invocation."""
    if time.time() >= job.deadline_at:
        reason = f"deadline passed: the operation could not be checked ({exc.message})"
        update_job(job.job_id, status="failed", error=reason, error_code="deadline_exceeded")
        logger.warning("video job failed", extra={"job_id": job.job_id, "reason": reason})
        return "failed"
    delay = min(SQS_MAX_DELAY_SECONDS, max(poll_delay, math.ceil(exc.retry_after or 0)))
    schedule_check(job.job_id, delay_seconds=delay)
    logger.warning(
        "video job check deferred",
        extra={"job_id": job.job_id, "code": exc.code, "reason": exc.message, "delay_seconds": delay},
    )
    return job.status
