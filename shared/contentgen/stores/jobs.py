"""Video jobs: one DynamoDB item per job, moved along by the worker; one SQS message per check.

A job's status moves pending → running → succeeded | failed. Every write that changes status is
conditional on the job not being finished yet, so a duplicate or late message cannot undo it.

A job is written before its (paid) start is sent, without an operation (`operation_name` None);
`record_operation` adds the operation once the provider started it, so a start whose record
fails to write is still a job someone can find (`contentgen.services.videos`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from contentgen.clients.aws import get_dynamodb_client, get_sqs_client
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError, ContentgenError

TERMINAL = ("succeeded", "failed")


class JobStoreUnavailableError(ContentgenError):
    """The job table could not be written before a start was sent (throttling, an outage, a denied
    permission): nothing was started. A 503 with `Retry-After`; an event's record is retried."""

    status_code = 503
    code = "job_store_unavailable"


@dataclass
class VideoJob:
    job_id: str
    status: str
    operation_name: str | None  # None until the provider's start is recorded
    model: str
    request: dict[str, Any]
    created_at: int
    updated_at: int
    deadline_at: int
    checks: int = 0
    s3_key: str | None = None
    error: str | None = None
    error_code: str | None = None  # stable machine code of `error` (e.g. content_filtered)
    # What starting the job used and cost (`usage` of POST /videos: Veo bills seconds x price).
    usage: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


def _table() -> str:
    table = get_settings().video_jobs_table
    if table is None:
        raise ConfigurationError("service misconfigured: environment variable VIDEO_JOBS_TABLE is not set")
    return table


def _queue() -> str:
    queue = get_settings().video_job_queue_url
    if queue is None:
        raise ConfigurationError("service misconfigured: environment variable VIDEO_JOB_QUEUE_URL is not set")
    return queue


def check_configured() -> None:
    """Raise `ConfigurationError` (503) unless the job table and the job queue are both named."""
    _table()
    _queue()


def create_job(job: VideoJob) -> None:
    settings = get_settings()
    expires_at = job.created_at + settings.video_job_retention_days * 86400
    item: dict[str, Any] = {
        "job_id": {"S": job.job_id},
        "status": {"S": job.status},
        "model": {"S": job.model},
        "request": {"S": json.dumps(job.request)},
        "created_at": {"N": str(job.created_at)},
        "updated_at": {"N": str(job.updated_at)},
        "deadline_at": {"N": str(job.deadline_at)},
        "checks": {"N": "0"},
        "expires_at": {"N": str(expires_at)},
    }
    if job.operation_name is not None:
        item["operation_name"] = {"S": job.operation_name}
    if job.usage is not None:
        item["usage"] = {"S": json.dumps(job.usage)}
    get_dynamodb_client().put_item(
        TableName=_table(), Item=item, ConditionExpression="attribute_not_exists(job_id)"
    )


def get_job(job_id: str) -> VideoJob | None:
    item = get_dynamodb_client().get_item(
        TableName=_table(), Key={"job_id": {"S": job_id}}, ConsistentRead=True
    )
    found = item.get("Item")
    if not found:
        return None
    return VideoJob(
        job_id=found["job_id"]["S"],
        status=found["status"]["S"],
        operation_name=found.get("operation_name", {}).get("S"),
        model=found["model"]["S"],
        request=json.loads(found["request"]["S"]),
        created_at=int(found["created_at"]["N"]),
        updated_at=int(found["updated_at"]["N"]),
        deadline_at=int(found["deadline_at"]["N"]),
        checks=int(found.get("checks", {"N": "0"})["N"]),
        s3_key=found.get("s3_key", {}).get("S"),
        error=found.get("error", {}).get("S"),
        error_code=found.get("error_code", {}).get("S"),
        usage=json.loads(found["usage"]["S"]) if "usage" in found else None,
    )


def update_job(
    job_id: str,
    *,
    status: str,
    s3_key: str | None = None,
    error: str | None = None,
    error_code: str | None = None,
    usage: dict[str, Any] | None = None,
) -> bool:
    """Record a check (and a new status, and for a failure its reason and machine code, and what
    the job was charged when given); False when the job had already finished."""

    names = {"#status": "status"}
    values: dict[str, Any] = {
        ":status": {"S": status},
        ":now": {"N": str(int(time.time()))},
        ":one": {"N": "1"},
        ":succeeded": {"S": "succeeded"},
        ":failed": {"S": "failed"},
    }
    assignments = ["#status = :status", "updated_at = :now", "checks = checks + :one"]
    if s3_key is not None:
        assignments.append("s3_key = :s3_key")
        values[":s3_key"] = {"S": s3_key}
    if error is not None:
        names["#error"] = "error"
        assignments.append("#error = :error")
        values[":error"] = {"S": error}
    if error_code is not None:
        assignments.append("error_code = :error_code")
        values[":error_code"] = {"S": error_code}
    return _update_unfinished(job_id, assignments, names, values, usage=usage)


def record_operation(job_id: str, *, operation_name: str, model: str, usage: dict[str, Any] | None) -> bool:
    """Add the started operation (and the model that started it, and what the start cost) to a job
    written without one. False when the job is gone, finished, or already has its operation (a
    repeated write: nothing changes)."""

    names = {"#status": "status"}
    values: dict[str, Any] = {
        ":operation": {"S": operation_name},
        ":model": {"S": model},
        ":now": {"N": str(int(time.time()))},
        ":succeeded": {"S": "succeeded"},
        ":failed": {"S": "failed"},
    }
    assignments = ["operation_name = :operation", "model = :model", "updated_at = :now"]
    return _update_unfinished(
        job_id, assignments, names, values, usage=usage, also="attribute_not_exists(operation_name)"
    )


def _update_unfinished(
    job_id: str,
    assignments: list[str],
    names: dict[str, str],
    values: dict[str, Any],
    *,
    usage: dict[str, Any] | None,
    also: str | None = None,
) -> bool:
    """SET `assignments` (plus `usage` when given) on a job that exists and has not finished (and
    meets `also`); False when the condition fails. `values` holds `:succeeded` and `:failed`."""
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    if usage is not None:
        names["#usage"] = "usage"
        assignments.append("#usage = :usage")
        values[":usage"] = {"S": json.dumps(usage)}
    condition = "attribute_exists(job_id) AND NOT #status IN (:succeeded, :failed)"
    try:
        get_dynamodb_client().update_item(
            TableName=_table(),
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET " + ", ".join(assignments),
            ConditionExpression=f"{condition} AND {also}" if also else condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def discard_job(job_id: str) -> None:
    """Delete a job whose start was never made or definitely failed (no operation recorded)."""
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    try:
        get_dynamodb_client().delete_item(
            TableName=_table(),
            Key={"job_id": {"S": job_id}},
            ConditionExpression="attribute_not_exists(operation_name)",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


def schedule_check(
    job_id: str, *, delay_seconds: int, operation_name: str | None = None, model: str | None = None
) -> None:
    """Ask the worker to check the job again after `delay_seconds` (SQS allows up to 900). The
    first check carries the started operation (and its model), so the worker can record it on a
    job whose own write of it failed."""
    body: dict[str, Any] = {"job_id": job_id}
    if operation_name is not None:
        body["operation_name"] = operation_name
    if model is not None:
        body["model"] = model
    get_sqs_client().send_message(
        QueueUrl=_queue(),
        MessageBody=json.dumps(body),
        DelaySeconds=max(0, min(900, delay_seconds)),
    )
