"""Inside a durable job (`contentgen.services.durable`): the job's own deadline stays within the
execution's timeout, whatever the deployer configured."""

from __future__ import annotations

import pytest

from contentgen.config import get_settings
from contentgen.services.durable import FINISH_MARGIN_SECONDS, job_budget_seconds


@pytest.mark.parametrize(
    ("timeout", "configured", "budget"),
    [
        (2100, 1200, 1200),  # the defaults: within the timeout
        (2100, 3600, 2100 - FINISH_MARGIN_SECONDS),  # a deadline past the timeout is bounded by it
        (600, 1200, 60),  # never less than a minute
    ],
)
def test_the_job_deadline_stays_within_the_execution_timeout(
    monkeypatch: pytest.MonkeyPatch, timeout: int, configured: int, budget: int
) -> None:
    monkeypatch.setenv("JOB_EXECUTION_TIMEOUT_SECONDS", str(timeout))
    get_settings.cache_clear()
    try:
        assert job_budget_seconds(configured) == budget
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
