"""probe24: a job id (= durable execution name) reused after the job row expired.

The row expires JOB_RETENTION_DAYS after the job was CREATED (`claim_job`: expires_at =
created_at + days); Lambda keeps an execution name RetentionPeriodInDays (the same parameter)
after the execution CLOSED ("The number of days to retain execution history after a durable
execution completes", botocore lambda service model, DurableConfig.RetentionPeriodInDays). So for
as long as the job ran (up to ExecutionTimeout) after the row expired, Lambda still knows the name:
a repeat of the same Idempotency-Key re-claims the expired row, Invoke answers
DurableExecutionAlreadyStartedException (another payload, durable-execution-idempotency.html) or
the old closed execution (same payload), and nothing runs. `_lambda_starter` swallows the
exception as "started", so POST /videos answers 202 `pending` for a job no execution will ever
move: the row stays pending for another 14 days and `contentgen video --wait` waits it out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from contentgen.errors import ContentgenError
from contentgen.services import jobs as jobs_service
from contentgen.services.jobs import start_job
from contentgen.stores.jobs import Job, claim_job, finish_job, get_job, job_id_for, request_hash

TABLE = "jobs"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("JOBS_TABLE", TABLE)
    monkeypatch.setenv("JOB_RETENTION_DAYS", "14")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb


class _LambdaThatRemembersTheName:
    """Lambda's answer to Invoke with a DurableExecutionName it still retains, other payload."""

    def __init__(self) -> None:
        self.invokes: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.invokes.append(kwargs)
        raise ClientError(
            {
                "Error": {
                    "Code": "DurableExecutionAlreadyStartedException",
                    "Message": "The durable execution with the specified name has already been started.",
                }
            },
            "Invoke",
        )


def test_a_name_lambda_still_retains_is_not_reported_as_a_started_job(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, key = "key-a", "order-42"
    job_id = job_id_for("video", scope=f"api-key:{owner}", key=key)
    # The first job: created 14 days and 20 minutes ago, ran 30 minutes, finished. Its row's TTL
    # has passed; its execution's name is retained until 14 days after it closed (10 minutes on).
    created = int(time.time()) - 14 * 86400 - 20 * 60
    first = {"prompt": "a kite", "aspect_ratio": "9:16", "duration_seconds": 8}
    claim_job(Job(job_id, "video", owner, "pending", first, request_hash(first), created, created))
    table.update_item(
        TableName=TABLE,
        Key={"job_id": {"S": job_id}},
        UpdateExpression="SET expires_at = :e",
        ExpressionAttributeValues={":e": {"N": str(created + 14 * 86400)}},
    )
    finish_job(job_id, status="succeeded", outputs={"s3_key": "videos/old.mp4"})

    fake = _LambdaThatRemembersTheName()
    monkeypatch.setattr(jobs_service, "get_lambda_client", lambda: fake)
    second = {"prompt": "a boat", "aspect_ratio": "9:16", "duration_seconds": 8}

    # What should happen: the start is refused (409) or reported not started (503), never 202.
    with pytest.raises(ContentgenError) as refused:
        start_job(
            "video",
            function="stack-video-job:live",
            request=second,
            owner=owner,
            scope=f"api-key:{owner}",
            key=key,
        )
    assert refused.value.status_code in (409, 503)
    assert len(fake.invokes) == 1
    stored = get_job(job_id)
    assert stored is None or stored.execution_arn is None, "the row claims an execution that does not exist"
