"""Videos as durable jobs: `POST /videos` starts one execution, the execution does the rest.

Outside (the API function; requests arriving by SQS/EventBridge come through the same route):
`start_video_job` reserves the video's most on the payers' budgets (`video_estimate`: the seconds
asked x the per-second price of the dearest model of the chain that can make it; no budget left:
429 `budget_exceeded` naming it, nothing started), claims the job
(`contentgen.services.jobs.start_job`: id = execution name, one per `Idempotency-Key` per API
key, or per event `request_id`) and starts the durable video job function with the hold in its
payload; `video_job_status` reads it for the key that paid only (another key: 404 as unknown).

Inside (`functions/video_job`, `run_video_job` under `contentgen.entrypoints.durable.durable_job`):

1. `deadline`: the job's deadline, taken once (SDK-GAP-4);
2. `start`: the paid Veo start, at most once, never retried (`paid_step`): a start that may have
   begun unseen (timeout, dropped connection after sending, unreadable answer, an invocation that
   died mid-request) ends the job `unconfirmed_paid_work`, charged the dearest model's price for
   the seconds asked (the upper bound: Google may bill it); a refusal (invalid request, model
   gone, filtered prompt) ends it at once with the provider's words, nothing charged;
   The start runs under the hold its starter made (`contentgen.services.jobs.job_reservations`:
   no second reservation). The models tried are those of the chain the catalog says can make
   the request (`capable_video_models`; none: 422 at `POST /videos`, before any job exists);
3. `charge`: the hold is settled once per payer (`settle_job`: released, what the start cost
   charged; a replayed step changes nothing);
4. `video-ready`: `wait_for_condition` on the operation, backing off from
   `VIDEO_POLL_DELAY_SECONDS` by 1.5x to `VIDEO_POLL_MAX_DELAY_SECONDS`, until done or the
   deadline; 429/5xx/timeouts/open breaker are counted and polled again (SDK-GAP-2); a permanent
   error (404/400: operation gone, request invalid) ends the job at once with the provider's
   words (`provider_error`); a model the provider no longer serves (`ModelUnavailableError`)
   ends it at once `model_unavailable`; a filtered video is `content_filtered`;
5. `store`: the video bytes go to S3 under a key fixed per job (`videos/<day>/<job_id>.mp4`):
   bytes never enter a checkpoint (256 KB per step); only the key does. The download happens
   inside the same step as the upload (a replay downloads again: idempotent);
6. `finish` (the decorator): job terminal once, `JobSucceeded` / `JobFailed` published once.

Cost of a job that fails: the job is charged when its operation starts (duration x the price
table, `contentgen.billing.prices`) and that charge stays when the job fails (provider error,
filtered videos, deadline). Google prices Veo per second of video requested and documents no
exemption or refund for an operation that ends in an error or whose videos are filtered
(https://ai.google.dev/gemini-api/docs/pricing, https://cloud.google.com/vertex-ai/generative-ai/pricing,
https://discuss.google.dev/t/veo-3-1-fast-billing-and-http-response-codes-when-safety-filters-trigger/300275,
read 2026-11-30): the ledger keeps the upper bound, as for an unconfirmed start.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from contentgen.billing.meter import Meter, metered
from contentgen.billing.prices import video_cost
from contentgen.catalog import video_violations
from contentgen.config import get_settings
from contentgen.errors import (
    CircuitOpenError,
    ContentgenError,
    DeadlineExceededError,
    InvalidRequestError,
    ModelUnavailableError,
    ProviderRateLimitedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    SecretUnavailableError,
)
from contentgen.generation.videos import check_vertex_project, check_video, start_video
from contentgen.models.media import VideoJobAccepted, VideoJobStatus, VideoRequest
from contentgen.models.usage import Usage
from contentgen.observability import logger
from contentgen.prompts.media import video_prompt
from contentgen.services.jobs import (
    JobEstimate,
    job_reservations,
    owned_job,
    settle_job,
    start_job,
)
from contentgen.stores.jobs import check_configured, update_job
from contentgen.stores.ledger import Reservations
from contentgen.stores.media import media_exists, presigned_get_url, put_media

if TYPE_CHECKING:
    from aws_durable_execution_sdk_python import DurableContext

    from contentgen.services.durable import JobResult, JobRun

KIND = "video"
# Check failures after which the operation is checked again later (the provider or its breaker,
# not the request).
TRANSIENT = (
    ProviderRateLimitedError,
    ProviderUnavailableError,
    ProviderTimeoutError,
    CircuitOpenError,
    DeadlineExceededError,
    SecretUnavailableError,
)


def start_video_job(
    request: VideoRequest,
    *,
    owner: str | None,
    scope: str,
    key: str | None,
    base_path: str = "",
    payers: Sequence[str] | None = None,
) -> VideoJobAccepted:
    """Start (once) the durable video job for `request`, owned by `owner`; the 202's body.

    `scope`/`key`: the caller's idempotency key (see `contentgen.services.jobs.start_job`). A
    repeat answers the same job (its current status). `base_path` goes before
    `/videos/{job_id}` in `status_url` (`/prod` behind the stage). `payers`: the keys charged
    (default: `owner`); the video's most (`video_estimate`) is held on each before the job starts:
    `BudgetExceededError` (429) naming it when one has no budget left, nothing started."""
    check_configured()
    settings = get_settings()
    # A request no model of the chain can make is a 422 now, before a job exists or is paid for.
    models = capable_video_models(request, settings.video_models)
    check_vertex_project(models)  # Veo on Vertex AI needs a project: a 503 now, nothing started
    job, _ = start_job(
        KIND,
        function=settings.video_job_function,
        request=request.model_dump(mode="json"),
        owner=owner,
        scope=scope,
        key=key,
        estimate=video_estimate(request.duration_seconds, models, settings.video_job_deadline_seconds),
        payers=payers,
    )
    return VideoJobAccepted(
        job_id=job.job_id, status=job.status, status_url=f"{base_path}/videos/{job.job_id}"
    )


def video_job_status(job_id: str, owner: str | None) -> VideoJobStatus:
    """The job for the key that paid for it; `NotFoundError` (404) otherwise, as for an unknown id."""
    job = owned_job(job_id, owner, kind=KIND)
    key = job.outputs.get("s3_key") if job.status == "succeeded" else None
    return VideoJobStatus(
        job_id=job.job_id,
        status=job.status,
        step=job.step,
        progress=job.progress,
        video_url=presigned_get_url(str(key)) if key else None,
        error=job.error if job.status == "failed" else None,
        error_code=job.error_code if job.status == "failed" else None,
        created_at=job.created_at,
        updated_at=job.updated_at,
        checks=job.checks,
        usage=Usage.model_validate(job.usage) if job.usage is not None else None,
    )


def _usage(model: str | None, cost: float | None, requests: int = 1) -> dict[str, Any]:
    return {
        "model": model,
        "prompt_tokens": None,
        "completion_tokens": None,
        "provider_requests": requests,
        "cost_usd": cost,
    }


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


def _upper_bound_cost(seconds: int, models: Sequence[str]) -> float | None:
    """The dearest of `models` for `seconds` of video (None when the table prices none)."""
    costs = [cost for model in models if (cost := video_cost(model, seconds)) is not None]
    return max(costs, default=None)


def video_estimate(seconds: int, models: Sequence[str], hold_seconds: float) -> JobEstimate | None:
    """The most a video job can cost: `seconds` x the per-second price (the price table,
    `contentgen.billing.prices`) of the dearest of `models` (those that can make the request),
    held for `hold_seconds` (the job's deadline) if never settled; None when no model is priced."""
    priced = [
        (Decimal(str(cost)), model) for model in models if (cost := video_cost(model, seconds)) is not None
    ]
    if not priced:
        return None
    usd, model = max(priced, key=lambda entry: entry[0])
    per_second = usd / seconds
    return JobEstimate(
        usd=usd,
        basis=f"{seconds} s x {per_second.normalize():f} USD/s of {model}, the dearest model that can make it",
        hold_seconds=hold_seconds,
    )


def video_key(job_id: str, created_at: float) -> str:
    """Fixed per job, so a replayed store finds the video already stored."""
    day = datetime.fromtimestamp(created_at, UTC).strftime("%Y/%m/%d")
    return f"videos/{day}/{job_id}.mp4"


def _settle(run: JobRun, reservations: Reservations, usage: dict[str, Any] | None) -> None:
    """Settle the job's start on every payer once (`contentgen.services.jobs.settle_job`): release
    the hold its starter made (and any this invocation added) and charge what the start cost
    (`usage`; None: nothing was paid). The start is paid already: a key now over its budget is
    charged all the same."""
    meter: Meter | None = None
    if usage is not None:
        meter = Meter()
        meter.add(
            model=usage.get("model"),
            ok=True,
            prompt_tokens=None,
            completion_tokens=None,
            cost_usd=usage.get("cost_usd"),
        )
    # Per function on the ledger as the other functions are: Lambda's name for this one.
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "VideoJobFunction"
    settle_job(run.job_id, run.reservation, run.owner, reservations, meter, function)


@dataclass(frozen=True)
class VideoWait:
    """How waiting for a started video ended: `ok`, or a failure `code` (`deadline_exceeded`,
    `model_unavailable`, `provider_error`, `content_filtered`) with the provider's words in
    `error` (for `deadline_exceeded`: the last transient error, as " (last check: ...)", or "")."""

    ok: bool
    code: str | None = None
    error: str | None = None


def await_video(
    context: DurableContext,
    name: str,
    *,
    operation: str,
    model: str,
    deadline: float,
    on_check: Callable[[int], None] | None = None,
) -> VideoWait:
    """Wait durably for a started video (`operation` of `model`, as `start_video` answered): a
    `wait_for_condition` named `name` checking it once per poll, backing off from
    `VIDEO_POLL_DELAY_SECONDS` by 1.5x to `VIDEO_POLL_MAX_DELAY_SECONDS`, until done or
    `deadline` (epoch s). 429/5xx/timeouts/open breaker are counted and checked again; a
    permanent error ends the wait at once with the provider's words; a model the provider no
    longer serves is `model_unavailable`; a filtered video `content_filtered`. `on_check(checks)`
    runs before each check (e.g. the count on the job row). Used by the video job and by a
    short's clips (the same path, the same waits: never a sleep)."""
    # The SDK loads only in durable functions (services.durable imports it).
    from contentgen.services.durable import poll

    settings = get_settings()

    def probe(state: dict[str, Any]) -> dict[str, Any]:
        if on_check is not None:
            on_check(int(state["checks"]))
        try:
            outcome = check_video(state["operation"], model=state["model"])
        except ModelUnavailableError as exc:
            # The provider no longer serves the job's model: no later check can succeed.
            return {**state, "done": True, "model_unavailable": exc.message}
        if not outcome.done:
            return {**state, "done": False}
        if outcome.error is not None:
            return {
                **state,
                "done": True,
                "error": f"provider error: {outcome.error}",
                "code": "provider_error",
            }
        if outcome.data is None:
            return {
                **state,
                "done": True,
                "error": "filtered: " + "; ".join(outcome.filtered),
                "code": "content_filtered",
            }
        return {**state, "done": True}

    waited = poll(
        context,
        name,
        probe,
        initial_state={"operation": operation, "model": model},
        deadline=deadline,
        transient=TRANSIENT,
        permanent=(ContentgenError,),
        first_delay=settings.video_poll_delay_seconds,
        max_delay=settings.video_poll_max_delay_seconds,
    )
    if waited.expired:
        detail = f" (last check: {waited.state['last_error']})" if waited.state.get("last_error") else ""
        return VideoWait(ok=False, code="deadline_exceeded", error=detail)
    if waited.state.get("model_unavailable"):
        return VideoWait(
            ok=False, code=ModelUnavailableError.code, error=str(waited.state["model_unavailable"])
        )
    if waited.permanent:
        return VideoWait(ok=False, code="provider_error", error=f"provider error: {waited.error}")
    if waited.state.get("error"):
        return VideoWait(
            ok=False, code=str(waited.state.get("code") or "provider_error"), error=str(waited.state["error"])
        )
    return VideoWait(ok=True)


def store_video(key: str, operation: str, model: str) -> None:
    """Download a finished video and store it under `key` (fixed per job: a replay that finds it
    stored downloads nothing). Raises when the finished operation gives no video."""
    if media_exists(key):
        return
    outcome = check_video(operation, model=model)
    if outcome.data is None:
        raise RuntimeError(f"the finished operation gave no video: {outcome.error or outcome.filtered}")
    put_media(key, outcome.data, outcome.mime_type)
    logger.info("video stored", extra={"s3_key": key, "bytes": len(outcome.data)})


def run_video_job(run: JobRun) -> JobResult:
    """The durable video job (module docstring, steps 1-5); raises `JobFailure` to end it failed."""
    # The SDK loads only in the durable function (services.durable imports it).
    from contentgen.services.durable import (
        JobFailure,
        JobResult,
        deadline_step,
        job_budget_seconds,
        paid_step,
        store_step,
    )

    settings = get_settings()
    request = VideoRequest.model_validate(run.request)
    context = run.context
    budget = job_budget_seconds(settings.video_job_deadline_seconds)  # within the execution's timeout
    deadline = deadline_step(context, budget)

    # The hold the starter made before the execution started (the payload's reservation): the
    # paid start runs under it without reserving again, and `charge` settles it once (idempotent
    # on the ledger, so the step may run again on a replay). A start given no estimate (an
    # unpriced chain) reserves for itself (429 `budget_exceeded` ends the job unpaid).
    reservations = job_reservations(run.reservation, run.owner)

    def start() -> dict[str, Any]:
        models = capable_video_models(request, settings.video_models)
        with metered() as meter:
            meter.guard = reservations
            meter.after = reservations.after
            started = start_video(
                video_prompt(request.prompt, aspect_ratio=request.aspect_ratio),
                aspect_ratio=request.aspect_ratio,
                duration_seconds=request.duration_seconds,
                models=models,
            )
        return {"operation": started.operation_name, "model": started.model, "cost_usd": started.cost_usd}

    # A start refused before it was sent (a breaker half-open while another caller probes) waits
    # durably and tries again until the deadline (`paid_step`'s `wait_unsent_until`).
    paid = paid_step(context, "start", start, wait_unsent_until=deadline)
    if not paid.ok:
        if paid.unconfirmed:
            usage = _usage(None, _upper_bound_cost(request.duration_seconds, settings.video_models))
            store_step(context, "charge", lambda: _settle(run, reservations, usage))
            raise JobFailure(
                "unconfirmed_paid_work",
                f"{paid.message}. The video may have started at the provider (and be billed); it was "
                "not retried, to avoid paying twice",
                usage=usage,
            )
        store_step(context, "charge", lambda: _settle(run, reservations, None))
        raise JobFailure(
            paid.code or "provider_error", paid.message or "the start was refused", usage=_usage(None, None)
        )
    started = paid.value
    usage = _usage(started["model"], started["cost_usd"])
    store_step(context, "charge", lambda: _settle(run, reservations, usage))
    run.progress("generating", 0.1)

    def counted(checks: int) -> None:
        # Counted before the request: a check that fails (429, 404) is a check made too.
        update_job(run.job_id, status="running", step="generating", checks=checks)

    waited = await_video(
        context,
        "video-ready",
        operation=started["operation"],
        model=started["model"],
        deadline=deadline,
        on_check=counted,
    )
    if not waited.ok:
        message = waited.error or "the video was not made"
        if waited.code == "deadline_exceeded":
            message = (
                f"deadline passed: the video was not ready {budget} s after the start{waited.error or ''}"
            )
        raise JobFailure(waited.code or "provider_error", message, usage=usage)
    run.progress("storing", 0.9)

    def store() -> dict[str, Any]:
        key = video_key(run.job_id, deadline - budget)
        store_video(key, started["operation"], started["model"])
        return {"s3_key": key}

    stored = store_step(context, "store", store)
    return JobResult(outputs=stored, usage=usage)
