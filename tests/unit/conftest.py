"""What unit tests of the job store and the job service share: the jobs table on moto, created as
the template declares it, and a pending job's row."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contentgen.stores.jobs import Job, job_id_for, request_hash
from local.aws import create_table_as_declared

JOBS_TABLE = "jobs"


@pytest.fixture
def jobs_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The template's JobsTable on moto, named `JOBS_TABLE` (and set as `JOBS_TABLE`); yields
    the DynamoDB client."""
    monkeypatch.setenv("JOBS_TABLE", JOBS_TABLE)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table_as_declared(dynamodb, "JobsTable", JOBS_TABLE)
        yield dynamodb


def pending_job(
    request: dict[str, Any] | None = None,
    *,
    owner: str = "key-a",
    key: str | None = "order-42",
    job_id: str | None = None,
    created: int | None = None,
) -> Job:
    """A `pending` video job of `owner` for `request` (default a kite), not stored: its id is
    `job_id`, else the one `key` gives within the owner's API key scope; created (and updated) at
    `created` (epoch seconds, default now)."""
    request = request or {"prompt": "a kite"}
    at = int(time.time()) if created is None else created
    return Job(
        job_id=job_id or job_id_for("video", scope=f"api-key:{owner}", key=key),
        kind="video",
        owner=owner,
        status="pending",
        request=request,
        request_hash=request_hash(request),
        created_at=at,
        updated_at=at,
    )
