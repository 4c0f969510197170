"""The durable job store: one claim per job id, reads scoped to the owner, writes that cannot undo
an outcome, one notification per job."""

from __future__ import annotations

from typing import Any

import pytest

from contentgen.errors import ConflictError
from contentgen.stores.jobs import (
    claim_job,
    finish_job,
    get_job,
    is_job_id,
    job_id_for,
    mark_notified,
    read_owned_job,
    update_job,
)
from tests.unit.conftest import pending_job


@pytest.fixture
def table(jobs_table: Any) -> Any:
    return jobs_table


job = pending_job


def test_job_ids_are_execution_names_derived_from_the_callers_key() -> None:
    first = job_id_for("video", scope="api-key:a", key="order-42")

    assert first == job_id_for("video", scope="api-key:a", key="order-42")
    assert first != job_id_for("video", scope="api-key:b", key="order-42")
    assert first != job_id_for("short", scope="api-key:a", key="order-42")
    assert job_id_for("video", scope="x", key=None) != job_id_for("video", scope="x", key=None)
    assert len(first) <= 64
    assert is_job_id(first)
    with pytest.raises(ValueError, match="kind"):
        job_id_for("Video!", scope="x", key=None)


def test_a_job_is_claimed_once_and_a_repeat_gets_the_claimed_job(table: Any) -> None:
    claimed, won = claim_job(job())
    again, won_again = claim_job(job())

    assert won is True
    assert won_again is False
    assert again.job_id == claimed.job_id
    with pytest.raises(ConflictError):
        claim_job(job({"prompt": "another request"}))


def test_reads_are_scoped_to_the_key_that_paid(table: Any) -> None:
    claimed, _ = claim_job(job())

    assert read_owned_job(claimed.job_id, "key-a") is not None
    assert read_owned_job(claimed.job_id, "key-b") is None
    assert read_owned_job(claimed.job_id, None) is None
    assert read_owned_job(claimed.job_id, "key-a", kind="short") is None
    assert read_owned_job("../etc/passwd", "key-a") is None


def test_a_job_moves_on_and_then_stays_finished(table: Any) -> None:
    claimed, _ = claim_job(job())
    job_id = claimed.job_id

    assert update_job(job_id, status="running", step="generating", progress=0.5, checks=2) is True
    assert update_job(job_id, outputs={"operation": "ops/1"}) is True
    assert finish_job(job_id, status="succeeded", outputs={"s3_key": "videos/x.mp4"}) is True
    assert finish_job(job_id, status="failed", error="late") is False
    assert update_job(job_id, status="running") is False

    found = get_job(job_id)
    assert found is not None
    assert (found.status, found.step, found.progress) == ("succeeded", "done", 1.0)
    assert found.outputs == {"operation": "ops/1", "s3_key": "videos/x.mp4"}
    assert found.error is None
    assert found.checks == 2


def test_the_outcome_is_notified_once(table: Any) -> None:
    claimed, _ = claim_job(job())
    finish_job(claimed.job_id, status="failed", error="provider error: gone", error_code="provider_error")

    assert mark_notified(claimed.job_id) is True
    assert mark_notified(claimed.job_id) is False
    found = get_job(claimed.job_id)
    assert found is not None
    assert found.notified is True
    assert (found.error, found.error_code) == ("provider error: gone", "provider_error")
