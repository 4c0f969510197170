"""Durable jobs owned by an API key, from the outside: start once, read scoped, announce once.

This module does NOT import the durable SDK (the API/dispatcher functions that start jobs stay
light); the inside of an execution is `contentgen.services.durable` (steps, waits) and
`contentgen.entrypoints.durable` (the handler decorator).

- `start_job(kind, function=..., request=..., owner=..., scope=..., key=..., estimate=..., payers=...)`:
  reserves the job's most (`estimate`) on every payer's budget, claims the job row
  (`contentgen.stores.jobs.claim_job`; the job id is the execution name) and starts the durable
  execution with `Invoke(FunctionName=<qualified>, InvocationType="Event",
  DurableExecutionName=job_id, Payload=<canonical start>)`. A repeat (same key) finds the claimed
  job and starts nothing new; a claimed job whose start never reached Lambda is started again with
  the SAME name and byte-identical payload, which Lambda answers with the existing execution.

Budgets (`estimate`, `contentgen.stores.ledger`): BEFORE anything is claimed or started, the
job's most is held on each payer's day by the ledger's one conditional write (`reserve_once`)
under a hold id derived from the job (`hold_id_for`: the job id and its request), so duplicate
starts (the same Idempotency-Key / request_id, SQS delivering twice, concurrent repeats) hold it
once. A payer without budget left: 429 `budget_exceeded` naming the estimate, and nothing is
claimed, started or paid (holds made for the other payers released); a repeat after the budget
frees starts the job. The hold travels in the start payload (`reservation`, also kept on the job
row, so a re-sent start is byte-identical); inside the execution `job_reservations` makes the
paid step run under it (no second reservation) and `settle_job` settles it once per payer:
released, what was paid charged, under the ledger's `settled#<hold id>` marker so a replayed
settle changes nothing. An execution that dies before settling leaves the hold to lapse at its
`until` (the job's deadline + `HOLD_MARGIN_SECONDS`), as every invocation's hold does.
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

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from contentgen.billing import budgets
from contentgen.billing.budgets import BudgetExceededError
from contentgen.billing.meter import Meter
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
    started_job,
    update_job,
)
from contentgen.stores.ledger import HOLD_MARGIN_SECONDS, Hold, Reservations, reserve_once, settle

EVENT_SOURCE = "contentgen"

# (function, execution name, payload JSON) -> the execution's ARN (or "" when not known).
ExecutionStarter = Callable[[str, str, str], str]


class JobNotStartedError(JobStoreUnavailableError):
    """The execution could not be started (Lambda refused or could not be reached); the job row is
    kept: the same Idempotency-Key / request_id starts it (same name, same payload) later."""

    code = "job_not_started"


def start_payload(job: Job) -> dict[str, Any]:
    """The execution's input: everything it needs, deterministic for a job (no clock, no random:
    the reservation is the one recorded on the job row), so a re-sent start is byte-identical
    (Lambda dedupes a name only with the same payload)."""
    payload = {"job_id": job.job_id, "kind": job.kind, "owner": job.owner, "request": job.request}
    if job.reservation is not None:
        payload["reservation"] = job.reservation
    return payload


@dataclass(frozen=True)
class JobEstimate:
    """The most a job can cost, reserved before its execution starts.

    `usd`: the upper bound in USD (catalog prices, e.g. a video's seconds x the per-second price
    of the dearest model that can make it); `basis`: what it is made of, for the refusal's message
    (`8 s x 0.40 USD/s of <the dearest video model>`); `hold_seconds`: how long the hold stays if the
    job never settles it (its deadline; `HOLD_MARGIN_SECONDS` is added)."""

    usd: Decimal
    basis: str
    hold_seconds: float


def hold_id_for(job_id: str, request_hash: str) -> str:
    """The hold id of a job's start (16 hex): the same for every repeat of the same start."""
    return hashlib.sha256(f"{job_id}\n{request_hash}".encode()).hexdigest()[:16]


def _payers(owner: str | None, payers: Sequence[str] | None) -> list[str]:
    """Who pays: `payers` as given (deduplicated, in order), else the owner, else the pipeline key."""
    chosen = [key for key in (payers or ()) if key] or [owner or get_settings().pipeline_api_key_id]
    return list(dict.fromkeys(chosen))


def _release(holds: Sequence[Hold]) -> None:
    """Hand holds back (nothing charged): a start that did not go ahead."""
    for hold in holds:
        settle(hold.api_key_id, "job-start", None, [hold])


def reserve_start(
    kind: str, job: Job, payers: Sequence[str], estimate: JobEstimate
) -> tuple[dict[str, Any], list[Hold]]:
    """Hold `estimate.usd` on each payer's day (`contentgen.stores.ledger.reserve_once`, under
    `hold_id_for(job)`): (the reservation for the payload and the job row, the holds this call
    made). A hold already there (a duplicate start in flight) is used as it is. Raises
    `BudgetExceededError` (429, Retry-After) naming the estimate when a payer has no budget left,
    after releasing what this call held. A ledger that cannot be used holds nothing (fail open)."""
    hold_id = hold_id_for(job.job_id, job.request_hash)
    until = budgets.clock() + estimate.hold_seconds + HOLD_MARGIN_SECONDS
    held: list[Hold] = []
    made: list[Hold] = []
    try:
        for api_key_id in payers:
            taken = reserve_once(api_key_id, hold_id, estimate.usd, until)
            if taken is not None:
                held.append(taken[0])
                if taken[1]:
                    made.append(taken[0])
    except BudgetExceededError as exc:
        _release(made)
        raise BudgetExceededError(
            f"the {kind} job was not started: it may cost up to {estimate.usd:f} USD ({estimate.basis}), "
            f"held on the daily budget before it starts, and {exc.message}",
            retry_after=exc.retry_after,
        ) from None
    reservation = {
        "id": hold_id,
        "usd": format(estimate.usd, "f"),
        "payers": list(payers),
        "holds": [
            {"api_key_id": hold.api_key_id, "day": hold.day, "usd": format(hold.amount, "f")} for hold in held
        ],
    }
    logger.info(
        "job reserved", extra={"job_id": job.job_id, "estimate_usd": float(estimate.usd), "holds": len(held)}
    )
    return reservation, made


def job_payers(reservation: dict[str, Any] | None, owner: str | None) -> list[str]:
    """Who a running job charges: the payers its start reserved on, else its owner (else the
    pipeline key)."""
    return _payers(owner, (reservation or {}).get("payers"))


def job_reservations(reservation: dict[str, Any] | None, owner: str | None) -> Reservations:
    """The meter guard for a job's paid step (`meter.guard = r; meter.after = r.after`): under the
    start's reservation (from the payload) its requests run on the holds already made, without a
    second reservation while a request's most fits in the estimate (one that does not, a price
    raised since the start, reserves as usual); without one (a start given no estimate), every
    priced request reserves on the payers as any invocation's does."""
    payers = tuple(job_payers(reservation, owner))
    if reservation is None:
        return Reservations(payers)
    holds = [
        Hold(str(hold["api_key_id"]), str(hold["day"]), str(reservation["id"]), Decimal(str(hold["usd"])))
        for hold in reservation.get("holds", [])
    ]
    return Reservations(payers, holds=holds, unused=Decimal(str(reservation["usd"])))


def settle_job(
    job_id: str,
    reservation: dict[str, Any] | None,
    owner: str | None,
    reservations: Reservations,
    meter: Meter | None,
    function: str,
) -> None:
    """Settle a job's paid step on every payer, at most once whoever calls it how often (a
    replayed step): its holds released and `meter`'s cost charged (None: nothing was paid, the
    holds are only released), under the ledger's `settled#<id>` marker (`settle(once=...)`).
    `function`: the ledger's per-function name. Ledger failures are logged, not raised (fail open)."""
    once = str(reservation["id"]) if reservation is not None else job_id
    for api_key_id in job_payers(reservation, owner):
        settle(api_key_id, function, meter, reservations.of(api_key_id), once=once)


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
    estimate: JobEstimate | None = None,
    payers: Sequence[str] | None = None,
) -> tuple[Job, bool]:
    """Start the durable job for `request` once; (the job, whether this call started it).

    `kind` names the job (`video`, `short`): the id's prefix. `function` is the durable function,
    qualified (`name:live`). `owner` the API key id that pays and may read it. `scope`/`key`: the
    caller's idempotency key and its scope (`contentgen.stores.idempotency.http_scope` for an
    `Idempotency-Key`, `event` for a `request_id`); `key=None` gives a fresh job every time.
    `estimate`: the job's most, reserved on every key of `payers` (default: the owner, else the
    pipeline key; an event's request: `contentgen.entrypoints.spend.charged_keys`) before the job
    is claimed or started (module docstring); None reserves nothing here (the job's paid steps
    then reserve for themselves). The job's body uses `job_reservations` / `settle_job`.

    Raises `BudgetExceededError` (429, Retry-After until 00:00 UTC, the estimate in its message)
    when a payer has no budget left: nothing claimed, started or paid. `ConfigurationError` (503)
    when `function` or the table is not set, `ConflictError` (409) for a key reused with another
    request, `JobStoreUnavailableError` / `JobNotStartedError` (503, Retry-After) when nothing
    could be recorded or started (a job not started keeps its hold: the repeat starts it under
    it; never repeated, it lapses at its deadline)."""
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
    made: list[Hold] = []
    if estimate is not None:
        if key is not None:  # a repeat of a start that went through: the job, nothing reserved
            done = started_job(job)
            if done is not None:
                logger.info("job already started", extra={"job_id": job.job_id, "status": done.status})
                return done, False
        job.reservation, made = reserve_start(kind, job, _payers(owner, payers), estimate)
    try:
        job, claimed = claim_job(job)
    except Exception:
        _release(made)
        raise
    if made and not claimed:
        mine = {(hold.api_key_id, hold.day, hold.hold_id) for hold in made}
        recorded = _recorded_holds(job.reservation)
        if job.finished or job.execution_arn is not None or not mine <= recorded:
            _release(made)  # the claimed job runs (or ran) under its own reservation
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
    # The start's answer is the job as accepted (CONTRACT: 202 `"status": "pending"`), not read
    # back: by then its execution may already have marked it running (seen under load).
    return job, claimed


def _recorded_holds(reservation: dict[str, Any] | None) -> set[tuple[str, str, str]]:
    """(api key id, day, hold id) of each hold a reservation records."""
    if reservation is None:
        return set()
    return {
        (str(hold["api_key_id"]), str(hold["day"]), str(reservation["id"]))
        for hold in reservation.get("holds", [])
    }


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
