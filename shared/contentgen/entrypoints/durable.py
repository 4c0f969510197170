"""`durable_job(kind)`: the handler of a durable function that runs one job owned by an API key.

    @durable_job("video")
    def run_video(run: JobRun) -> JobResult: ...          # steps/waits via run.context
    lambda_handler = run_video                            # functions/<name>/app.py

The execution's input is `contentgen.services.jobs.start_payload` (job id = execution name, kind,
owner, request, and the reservation its starter made on the payers' budgets). Around the body the decorator runs, as checkpointed steps:

1. `begin`: the job row becomes `running` (step `started`) unless it is finished already (a job
   the starter gave up on, or a second execution under a name the testing runner did not dedupe:
   TESTING-GAP-1): then nothing is run and nothing is paid.
2. the body: returns `JobResult(outputs, usage)`, or raises `JobFailure(code, message, usage)` for
   an outcome that ends the job (a provider's refusal, a deadline). A failed step/wait
   (`DurableOperationError`) or any other error of ours ends the job `failed` / `internal_error`.
   Errors of the SDK's machinery (`UnrecoverableError`: checkpoint API failures, invocation
   errors) propagate, so Lambda retries the invocation: the job is not failed for them.
3. `finish`: the row becomes terminal once (conditional); `publish`: the `JobSucceeded` /
   `JobFailed` event, claimed then published (`contentgen.services.jobs.publish_outcome`),
   retried for about two hours while EventBridge refuses it (`ANNOUNCE`); `published`: the
   `notified` flag, its own step (a failed write is retried without publishing again). An
   execution that ends FAILED / TIMED_OUT / STOPPED before these ran is finished by the reaper
   of its dead-letter queue (`contentgen.services.jobs.reap_failed_execution`).
4. `after` (optional, e.g. the short's webhook): its own steps/waits once the outcome is recorded
   and published; an error of it is logged, the job's outcome stands.

The return value (small: job id, status, error code) is the execution's result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.exceptions import DurableOperationError, UnrecoverableError

from contentgen.entrypoints import coldstart
from contentgen.observability import logger, metrics
from contentgen.services import jobs
from contentgen.services.durable import ANNOUNCE, JobFailure, JobResult, JobRun, store_step
from contentgen.stores.jobs import finish_job, get_job, update_job

JobBody = Callable[[JobRun], JobResult]
# After the outcome is recorded and published: (context, the start event, the `result` step's value).
AfterFinish = Callable[[DurableContext, dict[str, Any], dict[str, Any]], None]


def _begin(job_id: str) -> bool:
    job = get_job(job_id)
    if job is None or job.finished:
        return False
    update_job(job_id, status="running", step="started")
    return True


def _finish(job_id: str, outcome: dict[str, Any]) -> None:
    if outcome["status"] == "succeeded":
        finish_job(job_id, status="succeeded", usage=outcome.get("usage"), outputs=outcome.get("outputs"))
    else:
        finish_job(
            job_id,
            status="failed",
            error=outcome.get("error"),
            error_code=outcome.get("error_code"),
            usage=outcome.get("usage"),
        )


def _result(job_id: str, outcome: dict[str, Any]) -> dict[str, Any]:
    job = get_job(job_id)
    return {
        "job_id": job_id,
        "status": job.status if job else outcome["status"],
        "error_code": job.error_code if job else outcome.get("error_code"),
    }


def durable_job(
    kind: str, *, after: AfterFinish | None = None
) -> Callable[[JobBody], Callable[[Any, Any], Any]]:
    """Make `body` the durable handler of `kind` jobs (see the module docstring). `after` runs
    once the outcome is recorded and published (steps/waits of its own: e.g. a webhook)."""

    def decorate(body: JobBody) -> Callable[[Any, Any], Any]:
        @functools.wraps(body)
        def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
            job_id = str(event["job_id"])
            if event.get("kind") != kind:
                raise ValueError(f"this function runs {kind} jobs, not {event.get('kind')!r}")
            logger.append_keys(job_id=job_id)
            if not store_step(context, "begin", lambda: _begin(job_id)):
                logger.info("job not run: already finished or unknown")
                return {"job_id": job_id, "status": "skipped"}
            run = JobRun(
                context=context,
                job_id=job_id,
                kind=kind,
                owner=event.get("owner"),
                request=event["request"],
                reservation=event.get("reservation"),
            )
            outcome: dict[str, Any]
            try:
                result = body(run)
                outcome = {"status": "succeeded", "outputs": result.outputs, "usage": result.usage}
            except JobFailure as failure:
                outcome = {
                    "status": "failed",
                    "error": failure.message,
                    "error_code": failure.code,
                    "usage": failure.usage,
                }
            except UnrecoverableError:
                raise  # the SDK's machinery: Lambda retries the invocation
            except (DurableOperationError, Exception) as exc:
                logger.exception("job body failed")
                outcome = {
                    "status": "failed",
                    "error": f"the job failed unexpectedly ({type(exc).__name__})",
                    "error_code": "internal_error",
                }
            store_step(context, "finish", lambda: _finish(job_id, outcome))
            # Claim + publish, then record, as two steps: a failed record is retried alone (it
            # never publishes again); EventBridge failures are retried for hours (ANNOUNCE).
            context.step(lambda _: jobs.publish_outcome(job_id), name="publish", config=ANNOUNCE)
            store_step(context, "published", lambda: jobs.record_published(job_id))
            finished = store_step(context, "result", lambda: _result(job_id, outcome))
            if after is not None:
                try:
                    after(context, event, finished)
                except UnrecoverableError:
                    raise
                except Exception:
                    logger.exception("after-finish hook failed")  # the job's outcome stands
            return finished

        # Each invocation's own metrics (e.g. `EventsNotPublished` from the publish step, the spend
        # ledger's errors) written when it ends, as the API and queue entry points do.
        wrapped = metrics.log_metrics(durable_execution(handler), capture_cold_start_metric=True)
        coldstart.init_done()  # end of init: collector back on (functions import coldstart first)
        return wrapped

    return decorate


__all__ = ["JobBody", "JobFailure", "JobResult", "JobRun", "durable_job"]
