"""Video jobs: one DynamoDB item per job, moved along by the worker; one SQS message per check.

A job's status moves pending → running → succeeded | failed. Every write that changes status is
conditional on the job not being finished yet, so a duplicate or late message cannot undo it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from contentgen.config import get_settings
from contentgen.connectors.aws import get_dynamodb_client, get_sqs_client
from contentgen.errors import ConfigurationError

TERMINAL = ("succeeded", "failed")


@dataclass
class VideoJob:
    job_id: str
    status: str
    operation_name: str
    model: str
    request: dict[str, Any]
    created_at: int
    updated_at: int
    deadline_at: int
    checks: int = 0
    s3_key: str | None = None
    error: str | None = None
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


def create_job(job: VideoJob) -> None:
    settings = get_settings()
    expires_at = job.created_at + settings.video_job_retention_days * 86400
    item: dict[str, Any] = {
        "job_id": {"S": job.job_id},
        "status": {"S": job.status},
        "operation_name": {"S": job.operation_name},
        "model": {"S": job.model},
        "request": {"S": json.dumps(job.request)},
        "created_at": {"N": str(job.created_at)},
        "updated_at": {"N": str(job.updated_at)},
        "deadline_at": {"N": str(job.deadline_at)},
        "checks": {"N": "0"},
        "expires_at": {"N": str(expires_at)},
    }
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
        operation_name=found["operation_name"]["S"],
        model=found["model"]["S"],
        request=json.loads(found["request"]["S"]),
        created_at=int(found["created_at"]["N"]),
        updated_at=int(found["updated_at"]["N"]),
        deadline_at=int(found["deadline_at"]["N"]),
        checks=int(found.get("checks", {"N": "0"})["N"]),
        s3_key=found.get("s3_key", {}).get("S"),
        error=found.get("error", {}).get("S"),
        usage=json.loads(found["usage"]["S"]) if "usage" in found else None,
    )


def update_job(job_id: str, *, status: str, s3_key: str | None = None, error: str | None = None) -> bool:
    """Record a check (and a new status); False when the job had already finished."""
    from botocore.exceptions import ClientError

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


def schedule_check(job_id: str, *, delay_seconds: int) -> None:
    """Ask the worker to check the job again after `delay_seconds` (SQS allows up to 900)."""
    get_sqs_client().send_message(
        QueueUrl=_queue(),
        MessageBody=json.dumps({"job_id": job_id}),
        DelaySeconds=max(0, min(900, delay_seconds)),
    )
