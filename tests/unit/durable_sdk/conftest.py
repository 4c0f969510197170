"""Fixtures for the durable SDK behaviour tests: an in-process runner per test.

`aws-durable-execution-sdk-python-testing`'s `DurableFunctionTestRunner` runs a handler in this
process against an in-memory checkpoint store; `skip_time=True` (its default) fires durable
waits and step-retry timers on the next scheduler turn instead of after the modelled duration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_durable_execution_sdk_python_testing.executor import Executor
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

RunnerFactory = Callable[[Callable[..., Any]], DurableFunctionTestRunner]


@pytest.fixture
def no_invocation_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """TESTING-GAP-2: the runner re-invokes a crashed invocation after 5 REAL seconds.

    `Executor.RETRY_BACKOFF_SECONDS` (testing SDK 1.4.0, executor.py) is a plain `call_later`
    delay that `skip_time` does not shorten; each simulated crash would cost 5 s of wall time.
    """
    monkeypatch.setattr(Executor, "RETRY_BACKOFF_SECONDS", 0)


@pytest.fixture
def durable_runner() -> Iterator[RunnerFactory]:
    """Build runners for handlers; every runner is closed (scheduler thread stopped) afterwards."""
    runners: list[DurableFunctionTestRunner] = []

    def build(handler: Callable[..., Any]) -> DurableFunctionTestRunner:
        runner = DurableFunctionTestRunner(handler=handler, skip_time=True)
        runners.append(runner)
        return runner

    yield build
    for runner in runners:
        runner.close()  # type: ignore[no-untyped-call]  # testing SDK 1.4.0 leaves close() unannotated
