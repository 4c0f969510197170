"""The job store's writes are conditional: a finished job cannot be changed again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contentgen.stores.jobs import VideoJob, create_job, discard_job, get_job, record_operation, update_job

TABLE = "video-jobs"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("VIDEO_JOBS_TABLE", TABLE)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb


def job(job_id: str = "job-0123456789abcdef") -> VideoJob:
    now = int(time.time())
    return VideoJob(job_id, "pending", "ops/op-1", "veo", {"prompt": "x"}, now, now, now + 60)


def test_a_job_moves_on_and_then_stays_finished(table: Any) -> None:
    create_job(job())

    assert update_job("job-0123456789abcdef", status="running") is True
    assert update_job("job-0123456789abcdef", status="succeeded", s3_key="videos/a.mp4") is True
    assert update_job("job-0123456789abcdef", status="failed", error="late message") is False

    stored = get_job("job-0123456789abcdef")
    assert stored is not None
    assert (stored.status, stored.s3_key, stored.error, stored.checks) == (
        "succeeded",
        "videos/a.mp4",
        None,
        2,
    )


def test_the_same_job_cannot_be_created_twice(table: Any) -> None:
    from botocore.exceptions import ClientError

    create_job(job())
    with pytest.raises(ClientError):
        create_job(job())


def test_an_unknown_job_is_none_and_cannot_be_updated(table: Any) -> None:
    assert get_job("nope") is None
    assert update_job("nope", status="running") is False


def test_records_expire(table: Any) -> None:
    create_job(job())

    item = table.get_item(TableName=TABLE, Key={"job_id": {"S": "job-0123456789abcdef"}})["Item"]
    assert int(item["expires_at"]["N"]) >= int(time.time()) + 7 * 86400 - 5


def unstarted(job_id: str = "job-0123456789abcdef") -> VideoJob:
    """A job written before its start was sent: no operation yet."""
    now = int(time.time())
    return VideoJob(job_id, "pending", None, "veo", {"prompt": "x"}, now, now, now + 60)


def test_a_job_written_before_its_start_gets_its_operation_once(table: Any) -> None:
    create_job(unstarted())
    written = get_job("job-0123456789abcdef")
    assert written is not None
    assert written.operation_name is None

    usage = {"model": "veo-3", "provider_requests": 1, "cost_usd": 2.4}
    assert record_operation("job-0123456789abcdef", operation_name="ops/op-1", model="veo-3", usage=usage)
    assert not record_operation("job-0123456789abcdef", operation_name="ops/op-2", model="veo-3", usage=None)

    stored = get_job("job-0123456789abcdef")
    assert stored is not None
    assert (stored.operation_name, stored.model, stored.usage, stored.status) == (
        "ops/op-1",
        "veo-3",
        usage,
        "pending",
    )


def test_an_operation_is_not_recorded_on_a_finished_or_missing_job(table: Any) -> None:
    create_job(unstarted())
    update_job("job-0123456789abcdef", status="failed", error="start unrecorded", usage={"cost_usd": 3.2})

    assert not record_operation("job-0123456789abcdef", operation_name="ops/op-1", model="veo", usage=None)
    assert not record_operation("nope", operation_name="ops/op-1", model="veo", usage=None)
    stored = get_job("job-0123456789abcdef")
    assert stored is not None
    assert stored.operation_name is None
    assert stored.usage == {"cost_usd": 3.2}


def test_only_a_job_without_an_operation_is_discarded(table: Any) -> None:
    create_job(unstarted("job-unstarted-0123456"))
    create_job(job("job-started-012345678"))

    discard_job("job-unstarted-0123456")
    discard_job("job-started-012345678")

    assert get_job("job-unstarted-0123456") is None
    assert get_job("job-started-012345678") is not None
