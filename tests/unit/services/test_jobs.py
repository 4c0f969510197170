"""Durable jobs from the outside (`contentgen.services.jobs`): a job id is a durable EXECUTION
NAME, which Lambda keeps RetentionPeriodInDays after the execution CLOSED ("The number of days to
retain execution history after a durable execution completes", botocore's Lambda model,
DurableConfig.RetentionPeriodInDays): the job row must outlive it, and a name Lambda still holds
for another request must never be answered 202; the dead-letter reaper finishes jobs whose
execution failed, once.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from contentgen.entrypoints.reaper import reaper_handler
from contentgen.errors import ContentgenError
from contentgen.services import jobs as jobs_service
from contentgen.services.jobs import (
    JobEventInFlightError,
    announce_job,
    publish_outcome,
    start_job,
    start_payload,
)
from contentgen.stores.jobs import (
    claim_job,
    claim_notify,
    expires_at,
    finish_job,
    get_job,
    job_id_for,
    release_notify,
)
from tests.unit.conftest import JOBS_TABLE, pending_job


@pytest.fixture
def table(jobs_table: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JOB_RETENTION_DAYS", "14")
    monkeypatch.setenv("JOB_EXECUTION_TIMEOUT_SECONDS", "2100")
    monkeypatch.setenv("EVENT_BUS_NAME", "bus")
    return jobs_table


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


def test_a_job_row_outlives_its_execution_name() -> None:
    """Started now, the execution may close 2100 s later (its timeout) and Lambda keeps its name
    14 days after that: the row lasts longer."""
    now = int(time.time())
    assert expires_at(now) > now + 2100 + 14 * 86400


def test_a_name_lambda_still_retains_is_refused_never_reported_as_a_started_job(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, key = "key-a", "order-42"
    job_id = job_id_for("video", scope=f"api-key:{owner}", key=key)
    # The first job: created 14 days and 20 minutes ago, ran 30 minutes, finished. Its row's TTL
    # has passed; its execution's name is retained until 14 days after it closed (10 minutes on).
    created = int(time.time()) - 14 * 86400 - 20 * 60
    first = {"prompt": "a kite", "aspect_ratio": "9:16", "duration_seconds": 8}
    claim_job(pending_job(first, owner=owner, job_id=job_id, created=created))
    table.update_item(
        TableName=JOBS_TABLE,
        Key={"job_id": {"S": job_id}},
        UpdateExpression="SET expires_at = :e",
        ExpressionAttributeValues={":e": {"N": str(created + 14 * 86400)}},
    )
    finish_job(job_id, status="succeeded", outputs={"s3_key": "videos/old.mp4"})

    fake = _LambdaThatRemembersTheName()
    monkeypatch.setattr(jobs_service, "get_lambda_client", lambda: fake)
    second = {"prompt": "a boat", "aspect_ratio": "9:16", "duration_seconds": 8}

    # The start is refused (409: use a new key), never a 202 for a job nothing will run.
    with pytest.raises(ContentgenError) as refused:
        start_job(
            "video",
            function="stack-video-job:live",
            request=second,
            owner=owner,
            scope=f"api-key:{owner}",
            key=key,
        )
    assert refused.value.status_code == 409
    assert len(fake.invokes) == 1
    stored = get_job(job_id)
    assert stored is not None
    assert stored.execution_arn is None, "no execution is claimed"
    assert (stored.status, stored.error_code) == ("failed", "idempotency_key_reused")


class _Events:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, **kwargs: Any) -> dict[str, Any]:
        self.entries.extend(kwargs["Entries"])
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> _Events:
    """EventBridge as the job service sees it: what was put, every entry accepted."""
    events = _Events()
    monkeypatch.setattr(jobs_service, "get_events_client", lambda: events)
    return events


def test_the_reaper_fails_a_running_job_once_with_one_event(table: Any, events: _Events) -> None:
    """A DLQ message (the execution's start payload) delivered twice: one failure, one JobFailed."""
    job = pending_job({"prompt": "a kite"}, job_id="video-" + "a" * 40)
    claim_job(job)
    payload = json.dumps(start_payload(job))

    answers = [reaper_handler({"Records": [{"messageId": "m", "body": payload}]}, None) for _ in range(2)]

    assert answers == [{"batchItemFailures": []}] * 2
    stored = get_job(job.job_id)
    assert stored is not None
    assert (stored.status, stored.error_code, stored.notified) == (
        "failed",
        "execution_failed",
        True,
    )
    assert [entry["DetailType"] for entry in events.entries] == ["JobFailed"]
    assert json.loads(events.entries[0]["Detail"])["event_id"] == f"{job.job_id}#failed"


def test_an_outcome_claimed_by_another_publisher_is_not_published_again(table: Any, events: _Events) -> None:
    """Claim, then publish: while one publisher holds the claim (its lease), another publishes
    nothing and is told to retry; once it was recorded, nobody publishes."""
    job = pending_job({"prompt": "a boat"}, job_id="video-" + "b" * 40)
    claim_job(job)
    finish_job(job.job_id, status="succeeded", outputs={"s3_key": "videos/x.mp4"})
    assert claim_notify(job.job_id, 120)  # a publisher that died between its claim and PutEvents

    with pytest.raises(JobEventInFlightError):
        publish_outcome(job.job_id)
    assert events.entries == []

    release_notify(job.job_id)  # (what the lease's end amounts to)
    assert announce_job(job.job_id) is True
    assert announce_job(job.job_id) is False
    assert len(events.entries) == 1
