# ruff: noqa: F811 - the fixtures of test_video_jobs are imported by name and used as parameters
"""probe24: the durable video job attacked where such jobs fail for others.

Each test states what should hold (issue 24: "each ends in exactly one paid start, one final job
state and one outcome event") and drives the real API function + durable video job (testing SDK's
runner, google-genai against the emulator, boto3 against moto), as tests/integration/test_video_jobs.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_durable_execution_sdk_python.lambda_service import InvocationStatus
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from contentgen.services import jobs as jobs_service
from contentgen.services.jobs import set_execution_starter
from tests.durable_jobs import RunnerStarter
from tests.integration.conftest import Stack
from tests.integration.test_video_jobs import (  # noqa: F401 - fixtures
    JOB,
    Api,
    api,
    events_for,
    handler,
    jobs,
    outcome_events,
    paid_starts,
)

pytestmark = pytest.mark.integration


class _FlakyEvents:
    """EventBridge answering PutEvents with a failed entry (ThrottlingException, as PutEvents
    reports per-entry failures with HTTP 200) for the first `failures` calls, then recovering."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real = real
        self.failures = failures
        self.calls = 0

    def put_events(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}],
            }
        return dict(self.real.put_events(**kwargs))


def test_the_outcome_event_is_published_once_eventbridge_recovers_after_the_finish_retries(
    stack: Stack,
    api: Api,
    jobs: RunnerStarter,
    outcome_events: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PutEvents failing for about a minute (the finish step's whole retry budget: 6 attempts,
    2 s doubling) makes the `finish` step fail: the row is already terminal but `notified` stays
    false and the execution ends FAILED. Nothing ever publishes the event later: the job's one
    outcome event is lost for good, though EventBridge works again the next second.

    Should: exactly one JobSucceeded once EventBridge accepts entries again (an outbox / a
    re-announce on the next read or a sweeper), as the issue requires for every case."""
    stack.provider.configure(video_polls=1)
    real_client = jobs_service.get_events_client  # type: ignore[attr-defined]
    flaky = _FlakyEvents(real_client(), failures=6)
    monkeypatch.setattr(jobs_service, "get_events_client", lambda: flaky)

    accepted = api.start()
    jobs.wait_all()
    # EventBridge is healthy again; give the system every chance (a read, some time).
    time.sleep(2)
    status, job = api.status(accepted["job_id"])

    assert status == 200
    assert job["status"] == "succeeded"
    assert paid_starts(stack) == 1
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobSucceeded"]


@pytest.fixture
def short_lived_executions(api: Api) -> Iterator[DurableFunctionTestRunner]:
    """Executions under a real-time runner with a 4 s ExecutionTimeout: what Lambda does to an
    execution that outlives DurableConfig.ExecutionTimeout (TIMED_OUT, no more invocations)."""
    runner = DurableFunctionTestRunner(handler=handler(JOB), skip_time=False)
    arns: list[str] = []

    def start(function: str, name: str, payload: str) -> str:
        arn = runner.run_async(
            input=payload, execution_timeout=4, function_name=function.split(":")[0], execution_name=name
        )
        arns.append(arn)
        return arn

    set_execution_starter(start)
    runner.arns = arns  # type: ignore[attr-defined]
    try:
        yield runner
    finally:
        set_execution_starter(None)
        runner.close()  # type: ignore[no-untyped-call]


def test_an_execution_that_times_out_leaves_a_final_job_state_and_one_outcome_event(
    stack: Stack,
    api: Api,
    short_lived_executions: DurableFunctionTestRunner,
    outcome_events: Callable[[], list[dict[str, Any]]],
) -> None:
    """The template lets a deployer set VideoJobDeadlineSeconds up to 86400 while
    VideoJobExecutionTimeoutSeconds stays 2100 (no Rules assertion ties them; only a Description
    asks for +900 s). Lambda then ends the execution TIMED_OUT before the job's own deadline: no
    `finish` step runs. The row says `running` for JOB_RETENTION_DAYS (14), GET /videos and
    `contentgen video --wait` keep reporting progress, the key stays charged, and no JobFailed is
    ever published (the alarm fires; nothing moves the job).

    Should: a TIMED_OUT (or FAILED) execution still ends its job `failed` with one JobFailed
    (e.g. the job's deadline derived from the execution's own timeout, or a reconciler on the
    DurableExecutionTimedOut signal) - "one final job state and one outcome event"."""
    stack.provider.configure(video_polls=1000)  # the operation never finishes in time

    accepted = api.start()
    (arn,) = short_lived_executions.arns  # type: ignore[attr-defined]
    result = short_lived_executions.wait_for_result(arn, timeout=60)
    assert result.status is not InvocationStatus.SUCCEEDED  # Lambda's backstop ended it
    time.sleep(1)

    job = api.status(accepted["job_id"])[1]
    assert job["status"] == "failed", job
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobFailed"]


def test_a_failure_between_publishing_and_recording_it_does_not_publish_the_outcome_twice(
    stack: Stack,
    api: Api,
    jobs: RunnerStarter,
    outcome_events: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`announce_job` publishes, THEN sets `notified` (a separate DynamoDB write). When that write
    fails once (throttled past botocore's retries, or the invocation dies right there: a timeout,
    an OOM), the `finish` step is retried (AT_LEAST_ONCE), finds `notified` still false and
    publishes again: two JobSucceeded for one job. The crash-after-each-step test never crashes
    inside `finish` between its two writes.

    Should: one outcome event per job (issue 24). EventBridge assigns its own event ids, so
    consumers cannot dedupe a re-publish: the publish must be claimed before it is sent, or the
    docs must say at-least-once and give a dedupe key."""
    from botocore.exceptions import ClientError

    stack.provider.configure(video_polls=1)
    real_mark = jobs_service.mark_notified  # type: ignore[attr-defined]
    failed = {"n": 0}

    def mark_notified_throttled_once(job_id: str) -> bool:
        if failed["n"] == 0:
            failed["n"] += 1
            raise ClientError(
                {
                    "Error": {
                        "Code": "ProvisionedThroughputExceededException",
                        "Message": "Rate of requests exceeds",
                    }
                },
                "UpdateItem",
            )
        return real_mark(job_id)

    monkeypatch.setattr(jobs_service, "mark_notified", mark_notified_throttled_once)

    accepted = api.start()
    jobs.wait_all()
    time.sleep(1)

    assert api.status(accepted["job_id"])[1]["status"] == "succeeded"
    assert failed["n"] == 1
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobSucceeded"]


def test_an_invocation_that_dies_before_the_charge_is_written_still_charges_the_paid_video(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`charge` is AT_MOST_ONCE_PER_RETRY with no retries (`once_step`): its START is checkpointed
    before the ledger write, so an invocation that dies before the write (Lambda timeout while
    DynamoDB is slow, OOM, a throttled checkpoint) is never charged on replay: the video is made,
    stored and delivered, the job's own `usage` says 0.6 USD, and the payer's ledger holds 0 -
    a paid Veo start the budget never sees. The team's crash test crashes only AFTER each step's
    work. The ledger write could be made idempotent per job (a conditional update keyed by the
    job id) and retried instead.

    Should: the day's spend holds the start's price exactly once."""
    import uuid
    from decimal import Decimal

    from aws_durable_execution_sdk_python import DurableContext
    from aws_durable_execution_sdk_python.exceptions import RetryableSerDesError
    from aws_durable_execution_sdk_python_testing.executor import Executor

    from contentgen.catalog import default_chain, video_price_usd
    from contentgen.stores.ledger import set_daily_budget
    from tests.integration.test_video_jobs import spend_day

    key = f"key-{uuid.uuid4().hex[:12]}"
    per_second = video_price_usd(default_chain("video")[0])
    assert per_second is not None
    set_daily_budget(key, per_second * 100)
    stack.provider.configure(video_polls=1)

    original_step = DurableContext.step
    crashed: list[str] = []

    def step(self: DurableContext, func: Any, name: str | None = None, config: Any = None) -> Any:
        def crashing_before(context: Any) -> Any:
            if name == "charge" and not crashed:
                crashed.append(name)
                raise RetryableSerDesError("simulated invocation death before the charge was written")
            return func(context)

        return original_step(self, crashing_before, name=name, config=config)

    monkeypatch.setattr(DurableContext, "step", step)
    monkeypatch.setattr(Executor, "RETRY_BACKOFF_SECONDS", 0)

    accepted = api.start(key_id=key, duration_seconds=6)
    jobs.wait_all()

    job = api.status(accepted["job_id"], key_id=key)[1]
    assert crashed == ["charge"]
    assert job["status"] == "succeeded", job
    assert job["usage"]["cost_usd"] == pytest.approx(float(per_second * 6))
    assert paid_starts(stack) == 1
    day = spend_day(stack, key)
    assert Decimal(day.get("cost_usd", {}).get("N", "0")) == per_second * 6, "the paid video is charged"
