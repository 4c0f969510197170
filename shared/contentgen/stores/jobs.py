"""Durable jobs owned by an API key: one DynamoDB item per job (`JOBS_TABLE`), generic over kinds.

A job is a long piece of paid work run as a Lambda durable execution (a video, a short). Its item
is the job's public record and its claim:

- `job_id` (the key) is also the durable EXECUTION NAME: `<kind>-<40 hex>` (at most 64 characters
  of `[A-Za-z0-9_-]`, the name's documented form), derived from (kind, scope, caller's key) when the
  caller gave an `Idempotency-Key` or `request_id`, random otherwise (`job_id_for`).
- `claim_job` writes it with `attribute_not_exists(job_id)`: the one writer that wins starts the
  execution; every repeat finds the claimed job (same request: the same job; another request under
  the same key: `ConflictError`). The testing runner ignores execution names (TESTING-GAP-1), and on
  AWS `DurableExecutionName` dedupes only within its retention: the claim is ours, always.
- `owner` is the API key id that pays; `read_owned_job` answers None for another key exactly as for
  an unknown id, so a caller cannot tell the two apart.
- status moves pending -> running -> succeeded | failed; `step`, `progress` (0..1), `usage` /
  `cost_usd`, `outputs` (small values only: S3 keys, ids; never bytes: a step's checkpoint is
  limited to 256 KB) move along; `finish_job` makes it terminal once (conditional on not being
  terminal); `claim_notify` claims the publishing of its outcome event (a lease, so a caller that
  died holding it does not block it for good) and `mark_notified` records that it went out.

Every update is conditional on the job existing and not being finished, so a replayed step or a
late writer cannot undo an outcome. Items expire (`expires_at`, DynamoDB TTL) once Lambda can no
longer hold the execution's name: the execution's timeout + `JOB_RETENTION_DAYS` + a day after it
started (`expires_at`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from contentgen.clients.aws import get_dynamodb_client
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError, ConflictError, ContentgenError

TERMINAL = ("succeeded", "failed")
STATUSES = ("pending", "running", *TERMINAL)
# A durable execution name: 1-64 characters of [A-Za-z0-9_-] (Lambda Invoke, DurableExecutionName).
_JOB_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


class JobStoreUnavailableError(ContentgenError):
    """The job table could not be written before a start: nothing was started. 503, Retry-After."""

    status_code = 503
    code = "job_store_unavailable"


@dataclass
class Job:
    """One job's record. `request` is the canonical request the execution was started with;
    `outputs` small JSON values (S3 keys, ids); `usage` the `Usage` dict of what it was charged."""

    job_id: str
    kind: str
    owner: str | None
    status: str
    request: dict[str, Any]
    request_hash: str
    created_at: int
    updated_at: int
    step: str | None = None
    progress: float = 0.0
    usage: dict[str, Any] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_code: str | None = None
    execution_arn: str | None = None
    notified: bool = False
    checks: int = 0
    # The outcome webhook (a short's `callback_url`): None until its deliveries ended, then how
    # (`delivered`, `gave_up`, `refused`: `contentgen.services.webhooks`). Set once.
    webhook: str | None = None
    # What the starter reserved on the payers' budgets before the execution started (the start
    # payload's `reservation`, `contentgen.services.jobs.reserve_start`); None: nothing was.
    reservation: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def cost_usd(self) -> float | None:
        cost = (self.usage or {}).get("cost_usd")
        return float(cost) if isinstance(cost, int | float) else None


def _table() -> str:
    table = get_settings().jobs_table
    if table is None:
        raise ConfigurationError("service misconfigured: environment variable JOBS_TABLE is not set")
    return table


def check_configured() -> None:
    """Raise `ConfigurationError` (503) unless the job table is named."""
    _table()


def canonical(request: dict[str, Any]) -> str:
    """The request as the execution's payload sees it: sorted keys, no whitespace."""
    return json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_hash(request: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(request).encode()).hexdigest()


def job_id_for(kind: str, *, scope: str, key: str | None) -> str:
    """The job's id and execution name: `<kind>-` + 40 hex of sha256(kind, scope, key) when the
    caller named the request (`Idempotency-Key` scoped to its API key, or an event's
    `request_id`), else `<kind>-` + 40 random hex. `kind` is 1-16 of [a-z0-9]."""
    if not (1 <= len(kind) <= 16 and kind.isascii() and kind.isalnum() and kind.islower()):
        raise ValueError(f"job kind must be 1-16 lowercase letters/digits, got {kind!r}")
    if key is None:
        return f"{kind}-{secrets.token_hex(20)}"
    digest = hashlib.sha256(f"{kind}\n{scope}\n{key}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}-{digest[:40]}"


def is_job_id(value: str) -> bool:
    """Whether `value` could be a job id (anything else is answered as unknown without a read)."""
    return 3 <= len(value) <= 64 and set(value) <= _JOB_ID_CHARS


def expires_at(started_at: float) -> int:
    """When a job whose execution started at `started_at` may be forgotten: after the execution
    can have closed (`JOB_EXECUTION_TIMEOUT_SECONDS`, its ExecutionTimeout) and Lambda has let go
    of its name (`JOB_RETENTION_DAYS`, its RetentionPeriodInDays counted from the close: "The
    number of days to retain execution history after a durable execution completes", botocore's
    Lambda model, DurableConfig), plus a day. Until then a repeat of its key finds the record,
    never a name Lambda still holds."""
    settings = get_settings()
    return (
        int(started_at) + settings.job_execution_timeout_seconds + (settings.job_retention_days + 1) * 86400
    )


def claim_job(job: Job) -> tuple[Job, bool]:
    """Write `job` (pending) unless its id exists; (the job on the table, claimed by this call).

    A job already claimed with the same request is returned with False (start nothing new, or
    re-send the same start: durable execution names make that safe); with another request it is a
    `ConflictError` (409). A table that cannot be written is `JobStoreUnavailableError` (503)."""
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import BotoCoreError, ClientError

    item: dict[str, Any] = {
        "job_id": {"S": job.job_id},
        "kind": {"S": job.kind},
        "status": {"S": job.status},
        "request": {"S": canonical(job.request)},
        "request_hash": {"S": job.request_hash},
        "created_at": {"N": str(job.created_at)},
        "updated_at": {"N": str(job.updated_at)},
        "progress": {"N": "0"},
        "checks": {"N": "0"},
        "expires_at": {"N": str(expires_at(job.created_at))},
    }
    if job.owner is not None:
        item["owner"] = {"S": job.owner}
    if job.step is not None:
        item["step"] = {"S": job.step}
    if job.reservation is not None:
        item["reservation"] = {"S": canonical(job.reservation)}
    try:
        get_dynamodb_client().put_item(
            TableName=_table(),
            Item=item,
            # An expired item TTL has not deleted yet counts as gone.
            ConditionExpression="attribute_not_exists(job_id) OR expires_at < :now",
            ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
        )
        return job, True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise JobStoreUnavailableError(
                "the job could not be recorded, so nothing was started; try again shortly", retry_after=5
            ) from None
    except BotoCoreError:
        raise JobStoreUnavailableError(
            "the job could not be recorded, so nothing was started; try again shortly", retry_after=5
        ) from None
    existing = get_job(job.job_id)
    if existing is None:  # expired between the two calls
        raise JobStoreUnavailableError("the job is being replaced; try again shortly", retry_after=1)
    _check_same(existing, job)
    return existing, False


def _check_same(existing: Job, job: Job) -> None:
    if existing.request_hash != job.request_hash or existing.owner != job.owner:
        raise ConflictError("this Idempotency-Key (or request_id) was already used for a different request")


def started_job(job: Job) -> Job | None:
    """The job already under `job.job_id` when its execution was started (or it is finished):
    a repeat of a start that went through; `ConflictError` (409) when it holds another request.
    None when there is none, or it is claimed but not started (the repeat starts it)."""
    existing = get_job(job.job_id)
    if existing is None or not (existing.finished or existing.execution_arn is not None):
        return None
    _check_same(existing, job)
    return existing


def get_job(job_id: str) -> Job | None:
    """The job (consistent read), None when unknown or expired."""
    found = (
        get_dynamodb_client()
        .get_item(TableName=_table(), Key={"job_id": {"S": job_id}}, ConsistentRead=True)
        .get("Item")
    )
    if not found:
        return None
    expires = found.get("expires_at", {}).get("N")
    if expires is not None and int(expires) < time.time():
        return None  # TTL deletes lazily (up to days later): expired is gone
    return Job(
        job_id=found["job_id"]["S"],
        kind=found["kind"]["S"],
        owner=found.get("owner", {}).get("S"),
        status=found["status"]["S"],
        request=json.loads(found["request"]["S"]),
        request_hash=found["request_hash"]["S"],
        created_at=int(found["created_at"]["N"]),
        updated_at=int(found["updated_at"]["N"]),
        step=found.get("step", {}).get("S"),
        progress=float(found.get("progress", {"N": "0"})["N"]),
        usage=json.loads(found["usage"]["S"]) if "usage" in found else None,
        outputs=json.loads(found["outputs"]["S"]) if "outputs" in found else {},
        error=found.get("error", {}).get("S"),
        error_code=found.get("error_code", {}).get("S"),
        execution_arn=found.get("execution_arn", {}).get("S"),
        notified=bool(found.get("notified", {}).get("BOOL", False)),
        checks=int(found.get("checks", {"N": "0"})["N"]),
        webhook=found.get("webhook", {}).get("S"),
        reservation=json.loads(found["reservation"]["S"]) if "reservation" in found else None,
    )


def read_owned_job(job_id: str, owner: str | None, *, kind: str | None = None) -> Job | None:
    """The job when `owner` (the calling API key id) paid for it (and it is of `kind`); None for an
    unknown id, another key's job, or a malformed id: the caller cannot tell which."""
    if owner is None or not is_job_id(job_id):
        return None
    job = get_job(job_id)
    if job is None or job.owner != owner or (kind is not None and job.kind != kind):
        return None
    return job


def update_job(
    job_id: str,
    *,
    status: str | None = None,
    step: str | None = None,
    progress: float | None = None,
    usage: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    execution_arn: str | None = None,
    checks: int | None = None,
) -> bool:
    """Move an unfinished job along (only the fields given; `outputs` merged key by key).
    False when the job is unknown or already finished (nothing changes)."""
    if status is not None and status in TERMINAL:
        raise ValueError("a job is finished with finish_job")
    assignments: list[str] = ["updated_at = :now"]
    names: dict[str, str] = {"#status": "status"}
    values: dict[str, Any] = {":now": {"N": str(int(time.time()))}}
    if status is not None:
        assignments.append("#status = :status")
        values[":status"] = {"S": status}
    if step is not None:
        names["#step"] = "step"
        assignments.append("#step = :step")
        values[":step"] = {"S": step}
    if progress is not None:
        assignments.append("progress = :progress")
        values[":progress"] = {"N": str(round(min(1.0, max(0.0, progress)), 4))}
    if usage is not None:
        names["#usage"] = "usage"
        assignments.append("#usage = :usage")
        values[":usage"] = {"S": json.dumps(usage)}
    if execution_arn is not None:
        # Started now (perhaps long after the claim): the record outlives the execution's name.
        assignments += ["execution_arn = :arn", "expires_at = :expires"]
        values[":arn"] = {"S": execution_arn}
        values[":expires"] = {"N": str(expires_at(time.time()))}
    if checks is not None:
        assignments.append("checks = :checks")
        values[":checks"] = {"N": str(checks)}
    if outputs and not _merge_outputs(job_id, outputs, assignments, names, values):
        return False
    return _update_unfinished(job_id, assignments, names, values)


def finish_job(
    job_id: str,
    *,
    status: str,
    error: str | None = None,
    error_code: str | None = None,
    usage: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
) -> bool:
    """Make the job `succeeded` or `failed` (with the provider's words in `error` and a stable
    `error_code`); True for the one call that finished it, False when it was already finished."""
    if status not in TERMINAL:
        raise ValueError(f"finish_job takes succeeded or failed, got {status!r}")
    assignments = ["#status = :status", "updated_at = :now", "#step = :step"]
    names = {"#status": "status", "#step": "step"}
    values: dict[str, Any] = {
        ":status": {"S": status},
        ":now": {"N": str(int(time.time()))},
        ":step": {"S": "done" if status == "succeeded" else "failed"},
    }
    if status == "succeeded":
        assignments.append("progress = :one")
        values[":one"] = {"N": "1"}
    if error is not None:
        names["#error"] = "error"
        assignments.append("#error = :error")
        values[":error"] = {"S": error[:2000]}
    if error_code is not None:
        assignments.append("error_code = :code")
        values[":code"] = {"S": error_code}
    if usage is not None:
        names["#usage"] = "usage"
        assignments.append("#usage = :usage")
        values[":usage"] = {"S": json.dumps(usage)}
    if outputs and not _merge_outputs(job_id, outputs, assignments, names, values):
        return False
    return _update_unfinished(job_id, assignments, names, values)


def _merge_outputs(
    job_id: str,
    outputs: dict[str, Any],
    assignments: list[str],
    names: dict[str, str],
    values: dict[str, Any],
) -> bool:
    """Add `outputs` merged into the job's current outputs to an update; False for an unknown job."""
    current = get_job(job_id)
    if current is None:
        return False
    names["#outputs"] = "outputs"
    assignments.append("#outputs = :outputs")
    values[":outputs"] = {"S": json.dumps({**current.outputs, **outputs}, sort_keys=True)}
    return True


def claim_notify(job_id: str, lease_seconds: int) -> bool:
    """Claim the publishing of the finished job's outcome event for `lease_seconds`: True for the
    one caller that may publish now. Conditional on the job being finished, not yet `notified`,
    and no other claim alive (`notify_until` in the future); a claim whose holder died (an
    invocation that ended between the claim and its publish) lapses after the lease."""
    return _claim_lease(
        job_id,
        "notify_until",
        "(attribute_not_exists(notified) OR notified = :false)",
        lease_seconds,
        {":false": {"BOOL": False}},
    )


def _claim_lease(
    job_id: str,
    lease: str,
    not_over: str,
    lease_seconds: int,
    values: dict[str, Any] | None = None,
) -> bool:
    """The one lease claim on a finished job's row (its outcome event, its webhook): set `lease`
    to now + `lease_seconds` if the job is finished, `not_over` holds and no lease is alive.
    True for the one caller that got it; False when the condition failed."""
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    now = int(time.time())
    try:
        get_dynamodb_client().update_item(
            TableName=_table(),
            Key={"job_id": {"S": job_id}},
            UpdateExpression=f"SET {lease} = :until",
            ConditionExpression=(
                f"attribute_exists(job_id) AND #status IN (:succeeded, :failed) AND {not_over}"
                f" AND (attribute_not_exists({lease}) OR {lease} <= :now)"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":until": {"N": str(now + lease_seconds)},
                ":now": {"N": str(now)},
                ":succeeded": {"S": "succeeded"},
                ":failed": {"S": "failed"},
                **(values or {}),
            },
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def release_notify(job_id: str) -> None:
    """Give a claim back at once (its publish failed, nothing went out): the next caller may
    publish without waiting for the lease."""
    get_dynamodb_client().update_item(
        TableName=_table(),
        Key={"job_id": {"S": job_id}},
        UpdateExpression="SET notify_until = :zero",
        ConditionExpression="attribute_exists(job_id)",
        ExpressionAttributeValues={":zero": {"N": "0"}},
    )


def mark_notified(job_id: str) -> bool:
    """Record that the finished job's outcome event was published; False when it already was."""
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    try:
        get_dynamodb_client().update_item(
            TableName=_table(),
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET notified = :true",
            ConditionExpression="attribute_exists(job_id) AND (attribute_not_exists(notified) OR notified = :false)",
            ExpressionAttributeValues={":true": {"BOOL": True}, ":false": {"BOOL": False}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def claim_webhook(job_id: str, lease_seconds: int) -> bool:
    """Claim the next delivery attempt of the finished job's outcome webhook for `lease_seconds`:
    True for the one caller that may POST now. Conditional on the job being finished, its
    deliveries not ended (`webhook` unset) and no other claim alive (`webhook_until`), so two
    callers (the execution and the reaper, or two deliveries of one dead-letter message) never
    send at once; a claim whose holder died lapses after the lease."""
    return _claim_lease(job_id, "webhook_until", "attribute_not_exists(webhook)", lease_seconds)


def end_webhook(job_id: str, how: str | None) -> None:
    """Give the webhook claim back; with `how` (`delivered`, `gave_up`, `refused`) the
    deliveries are over for good: no caller claims them again."""
    if how is None:
        get_dynamodb_client().update_item(
            TableName=_table(),
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET webhook_until = :zero",
            ConditionExpression="attribute_exists(job_id)",
            ExpressionAttributeValues={":zero": {"N": "0"}},
        )
        return
    from botocore.exceptions import ClientError

    try:
        get_dynamodb_client().update_item(
            TableName=_table(),
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET webhook = :how, webhook_until = :zero",
            ConditionExpression="attribute_exists(job_id) AND attribute_not_exists(webhook)",
            ExpressionAttributeValues={":how": {"S": how}, ":zero": {"N": "0"}},
        )
    except ClientError as exc:  # ended already: the first end stands
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


def _update_unfinished(
    job_id: str, assignments: list[str], names: dict[str, str], values: dict[str, Any]
) -> bool:
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    values = {**values, ":succeeded": {"S": "succeeded"}, ":failed": {"S": "failed"}}
    try:
        get_dynamodb_client().update_item(
            TableName=_table(),
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET " + ", ".join(assignments),
            ConditionExpression="attribute_exists(job_id) AND NOT #status IN (:succeeded, :failed)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True
