"""Durable jobs owned by an API key, from the outside: start once, read scoped, announce once.

This module does NOT import the durable SDK (the API/dispatcher functions that start jobs stay
light); the inside of an execution is `contentgen.services.durable` (steps, waits) and
`contentgen.entrypoints.durable` (the handler decorator).

- `start_job(kind, function=..., request=..., owner=..., scope=..., key=...)`: claims the job row
  (`contentgen.stores.jobs.claim_job`; the job id is the execution name) and starts the durable
  execution with `Invoke(FunctionName=<qualified>, InvocationType="Event",
  DurableExecutionName=job_id, Payload=<canonical start>)`. A repeat (same key) finds the claimed
  job and starts nothing new; a claimed job whose start never reached Lambda is started again with
  the SAME name and byte-identical payload, which Lambda answers with the existing execution.
- `owned_job(job_id, owner, kind=...)`: the job for the key that paid, else `NotFoundError` (404)
  exactly as for an unknown id.
- `publish_outcome(job_id)` + `record_published(job_id)` (`announce_job` does both): the
  `JobSucceeded` / `JobFailed` event, claimed (a conditional write with a lease) before it is
  published and recorded after, so it goes out once per job whoever calls how often; its detail
  carries `event_id` (`<job id>#<status>`), the same on any re-publish, for consumers to dedupe.

The starter is pluggable (`set_execution_starter`) for the local stack, which runs durable
functions in the testing SDK's runner instead of Lambda; by default it is Lambda's Invoke.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from contentgen.clients.aws import get_events_client, get_lambda_client
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError, ConflictError, NotFoundError
from contentgen.observability import logger
from contentgen.stores.jobs import (
    Job,
    JobStoreUnavailableError,
    canonical,
    claim_job,
    claim_notify,
    finish_job,
    get_job,
    job_id_for,
    mark_notified,
    read_owned_job,
    release_notify,
    request_hash,
    update_job,
)

EVENT_SOURCE = "contentgen"

# (function, execution name, payload JSON) -> the execution's ARN (or "" when not known).
ExecutionStarter = Callable[[str, str, str], str]


class JobNotStartedError(JobStoreUnavailableError):
    """The execution could not be started (Lambda refused or could not be reached); the job row is
    kept: the same Idempotency-Key / request_id starts it (same name, same payload) later."""

    code = "job_not_started"


def start_payload(job: Job) -> dict[str, Any]:
    """The execution's input: everything it needs, deterministic for a job (no clock, no random),
    so a re-sent start is byte-identical (Lambda dedupes a name only with the same payload)."""
    return {"job_id": job.job_id, "kind": job.kind, "owner": job.owner, "request": job.request}


def _lambda_starter(function: str, name: str, payload: str) -> str:
    """Lambda's Invoke, asynchronous (executions may outlive 15 minutes), named (idempotent)."""
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    try:
        answer = get_lambda_client().invoke(
            FunctionName=function, InvocationType="Event", DurableExecutionName=name, Payload=payload
        )
    except ClientError as exc:
        # Same name, other payload: an execution Lambda still retains under this name ran ANOTHER
        # request (a record that expired before the name: durable-execution-idempotency.html).
        # Nothing was started for this one.
        if exc.response.get("Error", {}).get("Code") == "DurableExecutionAlreadyStartedException":
            raise ExecutionNameTakenError(name) from None
        raise
    return str(answer.get("DurableExecutionArn") or "")


class ExecutionNameTakenError(Exception):
    """Lambda still holds the execution name for another request (DurableExecutionAlreadyStarted-
    Exception): the start did not happen."""


_starter_lock = threading.Lock()
_starter: ExecutionStarter = _lambda_starter


def set_execution_starter(starter: ExecutionStarter | None) -> None:
    """Start executions with `starter` (the local stack's runner); None restores Lambda's Invoke."""
    global _starter
    with _starter_lock:
        _starter = starter or _lambda_starter


def start_job(
    kind: str,
    *,
    function: str | None,
    request: dict[str, Any],
    owner: str | None,
    scope: str,
    key: str | None,
    step: str = "queued",
) -> tuple[Job, bool]:
    """Start the durable job for `request` once; (the job, whether this call started it).

    `kind` names the job (`video`, `short`): the id's prefix. `function` is the durable function,
    qualified (`name:live`). `owner` the API key id that pays and may read it. `scope`/`key`: the
    caller's idempotency key and its scope (`contentgen.stores.idempotency.http_scope` for an
    `Idempotency-Key`, `event` for a `request_id`); `key=None` gives a fresh job every time.

    Raises `ConfigurationError` (503) when `function` or the table is not set, `ConflictError`
    (409) for a key reused with another request, `JobStoreUnavailableError` / `JobNotStartedError`
    (503, Retry-After) when nothing could be recorded or started."""
    if not function:
        raise ConfigurationError(f"service misconfigured: no durable function is set for {kind} jobs")
    now = int(time.time())
    job = Job(
        job_id=job_id_for(kind, scope=scope, key=key),
        kind=kind,
        owner=owner,
        status="pending",
        request=request,
        request_hash=request_hash(request),
        created_at=now,
        updated_at=now,
        step=step,
    )
    job, claimed = claim_job(job)
    if not claimed and (job.finished or job.execution_arn is not None):
        logger.info("job already started", extra={"job_id": job.job_id, "status": job.status})
        return job, False
    payload = canonical(start_payload(job))
    try:
        with _starter_lock:
            starter = _starter
        arn = starter(function, job.job_id, payload)
    except ExecutionNameTakenError:
        # Never a 202 for a job no execution will run: the record ends failed (nothing was paid,
        # no event: nothing was accepted) and the caller is told to use another key.
        finish_job(
            job.job_id,
            status="failed",
            error="this Idempotency-Key (or request_id) was used for another request within Lambda's "
            "retention of its execution name; use a new key",
            error_code="idempotency_key_reused",
        )
        logger.warning("job not started: execution name retained", extra={"job_id": job.job_id})
        raise ConflictError(
            "this Idempotency-Key (or request_id) was already used for a different request"
        ) from None
    except Exception as exc:
        logger.warning(
            "job not started", extra={"job_id": job.job_id, "reason": f"{type(exc).__name__}: {exc}"}
        )
        raise JobNotStartedError(
            "the job was recorded but could not be started; send the request again with the same "
            "Idempotency-Key (or request_id) to start it",
            retry_after=5,
        ) from None
    try:
        update_job(job.job_id, execution_arn=arn or f"started:{job.job_id}")
    except Exception as exc:  # the execution runs anyway; a repeat re-sends the same named start
        logger.warning("job start not recorded", extra={"job_id": job.job_id, "reason": str(exc)})
    logger.info("job started", extra={"job_id": job.job_id, "kind": kind, "claimed": claimed})
    return get_job(job.job_id) or job, claimed


def owned_job(job_id: str, owner: str | None, *, kind: str | None = None) -> Job:
    """The job `owner` paid for; `NotFoundError` (404) for an unknown id and another key's job
    alike (same message)."""
    job = read_owned_job(job_id, owner, kind=kind)
    if job is None:
        raise NotFoundError(f"no {kind or ''} job {job_id}".replace("  ", " "))
    return job


# How long a claim to publish an outcome event lasts: a holder that died (between its claim and
# its PutEvents) blocks the others this long, then the event is published by the next caller.
NOTIFY_LEASE_SECONDS = 120


def outcome_event_id(job: Job) -> str:
    """The outcome event's dedupe key (`event_id` in its detail): the same for every publish of
    one job's outcome (`<job id>#<status>`). EventBridge gives each PutEvents entry its own `id`,
    so a consumer that must see an outcome once dedupes on this (docs/events.md)."""
    return f"{job.job_id}#{job.status}"


def job_event(job: Job) -> dict[str, Any]:
    """The outcome event's detail: ids (and `event_id`, the dedupe key), status, step, outputs,
    the failure, what it cost."""
    return {
        "event_id": outcome_event_id(job),
        "job_id": job.job_id,
        "kind": job.kind,
        "api_key_id": job.owner,
        "status": job.status,
        "step": job.step,
        "outputs": job.outputs,
        "error": job.error,
        "error_code": job.error_code,
        "usage": job.usage,
    }


class JobEventInFlightError(Exception):
    """Another caller holds the claim to publish this job's outcome (or died holding it: the
    lease lapses after `NOTIFY_LEASE_SECONDS`); retry later."""


def publish_outcome(job_id: str) -> bool:
    """Publish the finished job's `JobSucceeded` / `JobFailed` event unless it was recorded as
    published; True when this call published it, False when there is nothing to publish.

    Claim, then publish: `claim_notify` (a conditional write with a lease) lets one caller at a
    time publish; a PutEvents failure (per-entry failure or error) gives the claim back and
    raises (the caller retries); another caller's live claim raises `JobEventInFlightError`.
    The caller records the publish with `record_published` as a SEPARATE step, so a failed
    record is retried alone and never publishes again. Only a publisher that dies after PutEvents
    and before its step is checkpointed can make a second publish (after the lease): that one
    carries the same `event_id`."""
    job = get_job(job_id)
    if job is None or not job.finished or job.notified:
        return False
    bus = get_settings().event_bus_name
    if bus is None:
        raise ConfigurationError("service misconfigured: environment variable EVENT_BUS_NAME is not set")
    if not claim_notify(job_id, NOTIFY_LEASE_SECONDS):
        if (get_job(job_id) or job).notified:
            return False
        raise JobEventInFlightError(f"the outcome of {job_id} is being published by another caller")
    try:
        answer = get_events_client().put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": "JobSucceeded" if job.status == "succeeded" else "JobFailed",
                    "Detail": json.dumps(job_event(job)),
                    "EventBusName": bus,
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            raise JobEventNotPublishedError(str(answer.get("Entries")))
    except Exception:
        try:
            release_notify(job_id)
        except Exception as exc:  # the lease lapses by itself
            logger.warning("notify claim not released", extra={"job_id": job_id, "reason": str(exc)})
        raise
    return True


def record_published(job_id: str) -> bool:
    """Record that the job's outcome event went out (`notified`); False when it was already."""
    return mark_notified(job_id)


def announce_job(job_id: str) -> bool:
    """Publish the finished job's outcome event once and record it (`publish_outcome` then
    `record_published`); True when this call published it. For callers outside an execution (the
    reaper of failed executions); inside one, the two are separate durable steps."""
    published = publish_outcome(job_id)
    if published:
        record_published(job_id)
    return published


class JobEventNotPublishedError(Exception):
    """PutEvents answered 200 with a failed entry: the event was not published (retried)."""


def reap_failed_execution(payload: dict[str, Any]) -> str:
    """Finish the job of a durable execution that ended FAILED / TIMED_OUT / STOPPED: what its
    function's dead-letter queue holds (AWS, durable-best-practices.html, Error handling: "configure
    a dead-letter queue (DLQ) on your durable function to capture events from permanently failed
    executions"; the message body is the execution's start payload, `start_payload`).

    A job still pending or running ends `failed` (`execution_failed`, the usage it recorded kept:
    what was charged stays charged; reservations lapse at their own deadline); a finished job
    whose outcome event never went out (EventBridge refused it past the execution's retries) gets
    it now. Either way the outcome is published once (`announce_job`). Returns what was done:
    `failed`, `announced`, `nothing` (already finished and announced) or `unknown`. Raises when
    the table or the bus refuses (the queue redelivers)."""
    job_id = str(payload.get("job_id") or "")
    job = get_job(job_id) if job_id else None
    if job is None:
        logger.warning("reaper: unknown job", extra={"job_id": job_id})
        return "unknown"
    done = "nothing"
    if not job.finished:
        finish_job(
            job_id,
            status="failed",
            error="the job's execution ended before the job did (it failed, timed out or was stopped)",
            error_code="execution_failed",
            usage=job.usage,
        )
        done = "failed"
    if announce_job(job_id):
        done = "failed" if done == "failed" else "announced"
    logger.info("reaper: job settled", extra={"job_id": job_id, "done": done})
    return done
