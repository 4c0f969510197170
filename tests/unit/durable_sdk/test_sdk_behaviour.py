"""The durable SDK behaviour contentgen relies on, and the gaps it works around, each named.

Pinned: aws-durable-execution-sdk-python 3.0.0, aws-durable-execution-sdk-python-testing 1.4.0
(read 2026-12-06; /work/notes/durable.md has the sources). Each test runs a real handler under
the testing SDK's in-process runner (in-memory checkpoint store, waits and step-retry timers
skipped): a replay is the runner invoking the handler again, exactly as Lambda would.

What we rely on:
- a completed step is never run again: replays return its checkpointed result;
- `wait_for_condition` polls with the SDK's backoff strategy until the condition holds;
- a crash after a step replays without re-running it;
- an AT_MOST_ONCE_PER_RETRY step interrupted mid-flight is not run again (StepInterruptedError,
  then our retry strategy: none), which is how a paid start stays at most once.

Gaps (SDK-GAP-n: the runtime SDK; TESTING-GAP-n: the local runner), each proven below:
- SDK-GAP-1: a step without a retry strategy retries ANY exception, 6 attempts (RetryPresets.default).
- SDK-GAP-2: an exception raised by a `wait_for_condition` check fails the whole wait, no retry.
- SDK-GAP-3: the default serdes rejects pydantic models, AFTER the step body ran (paid, then failed).
- TESTING-GAP-1: the runner ignores execution names: the same name starts a second execution.
- TESTING-GAP-2: a crashed invocation is re-invoked after 5 real seconds (fixture no_invocation_backoff).
- TESTING-GAP-3: the runner accepts step results over the service's 256 KB checkpoint limit.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from aws_durable_execution_sdk_python import DurableContext, StepContext, StepError, durable_execution
from aws_durable_execution_sdk_python.config import Duration, JitterStrategy, StepConfig, StepSemantics
from aws_durable_execution_sdk_python.exceptions import InvocationError, RetryableSerDesError
from aws_durable_execution_sdk_python.lambda_service import InvocationStatus
from aws_durable_execution_sdk_python.retries import RetryPresets
from aws_durable_execution_sdk_python.types import WaitForConditionCheckContext
from aws_durable_execution_sdk_python.waits import (
    WaitForConditionConfig,
    WaitForConditionDecision,
    WaitStrategyConfig,
    create_wait_strategy,
)
from pydantic import BaseModel

from tests.unit.durable_sdk.conftest import RunnerFactory

# The paid start's configuration: wait for the START checkpoint before running, never retry.
AT_MOST_ONCE_NO_RETRY = StepConfig(
    retry_strategy=RetryPresets.none(), step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY
)
TIMEOUT = 120  # seconds the runner may take for one execution (a bound, not a speed check)


def run(runner_factory: RunnerFactory, handler: Any, payload: dict[str, Any] | None = None) -> Any:
    """Run `handler` to completion on a fresh in-process runner; the runner's test result."""
    runner = runner_factory(handler)
    return runner.run(input=json.dumps(payload or {}), execution_timeout=TIMEOUT)


def test_a_step_runs_once_across_replays(durable_runner: RunnerFactory) -> None:
    calls: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
        calls["invocations"] += 1

        def start(_: StepContext) -> str:
            calls["start"] += 1
            return f"operations/{event['prompt']}"

        operation = context.step(start, name="start", config=AT_MOST_ONCE_NO_RETRY)
        context.wait(Duration.from_seconds(30), name="first-pause")
        context.wait(Duration.from_minutes(10), name="second-pause")
        return {"operation": operation}

    result = run(durable_runner, handler, {"prompt": "cat"})

    assert result.status is InvocationStatus.SUCCEEDED
    assert json.loads(result.result) == {"operation": "operations/cat"}
    assert calls["start"] == 1
    # Each wait ended an invocation; the handler was replayed from the top after each one.
    assert calls["invocations"] == 3
    assert json.loads(result.get_step("start").result) == "operations/cat"


def test_wait_for_condition_polls_with_backoff_until_done(durable_runner: RunnerFactory) -> None:
    attempts: list[int] = []
    delays: list[int | None] = []
    backoff = create_wait_strategy(
        WaitStrategyConfig[dict[str, Any]](
            should_continue_polling=lambda state: not state["done"],
            max_attempts=10,
            initial_delay=Duration.from_seconds(5),
            max_delay=Duration.from_seconds(60),
            backoff_rate=2,
            jitter_strategy=JitterStrategy.NONE,
        )
    )

    def recorded(state: dict[str, Any], attempt: int) -> WaitForConditionDecision:
        decision = backoff(state, attempt)
        delays.append(decision.delay_seconds if decision.should_continue else None)
        return decision

    def check(state: dict[str, Any], check_context: WaitForConditionCheckContext) -> dict[str, Any]:
        attempts.append(check_context.attempt)
        polls = state["polls"] + 1
        return {"polls": polls, "done": polls >= 4}

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
        config = WaitForConditionConfig(wait_strategy=recorded, initial_state={"polls": 0, "done": False})
        return context.wait_for_condition(check, config, name="operation-done")

    result = run(durable_runner, handler)

    assert result.status is InvocationStatus.SUCCEEDED
    assert json.loads(result.result) == {"polls": 4, "done": True}
    assert attempts == [1, 2, 3, 4]
    assert delays == [5, 10, 20, None]  # 5 s doubling, capped at 60 s; None: condition met


def test_a_crash_after_a_step_replays_without_rerunning_it(
    durable_runner: RunnerFactory, no_invocation_backoff: None
) -> None:
    calls: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
        calls["invocations"] += 1

        def start(_: StepContext) -> str:
            calls["start"] += 1
            return "operations/1"

        operation = context.step(start, name="start", config=AT_MOST_ONCE_NO_RETRY)
        if calls["invocations"] == 1:
            # A retryable InvocationError ends the invocation unfinished, as a crash or a
            # Lambda timeout does: the service (here the runner) invokes the handler again.
            raise InvocationError("simulated crash after the step's checkpoint")
        return {"operation": operation}

    result = run(durable_runner, handler)

    assert result.status is InvocationStatus.SUCCEEDED
    assert json.loads(result.result) == {"operation": "operations/1"}
    assert calls == Counter({"invocations": 2, "start": 1})


@pytest.mark.parametrize(
    ("semantics", "runs", "outcome"),
    [
        # What the paid start uses: interrupted once means final, never a second request.
        (StepSemantics.AT_MOST_ONCE_PER_RETRY, 1, {"error": "unconfirmed_paid_work"}),
        # The SDK's default: the interrupted body simply runs again (a second paid request).
        (StepSemantics.AT_LEAST_ONCE_PER_RETRY, 2, {"operation": "operations/2"}),
    ],
)
def test_a_crash_inside_a_step_reruns_it_only_when_at_least_once(
    durable_runner: RunnerFactory,
    no_invocation_backoff: None,
    semantics: StepSemantics,
    runs: int,
    outcome: dict[str, str],
) -> None:
    calls: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
        def paid_start(_: StepContext) -> str:
            calls["paid requests"] += 1
            if calls["paid requests"] == 1:
                # The request went out, then the invocation died before the step's SUCCEED
                # checkpoint. RetryableSerDesError is the one exception a step lets escape past
                # its retry strategy to fail the invocation (operation/step.py), so it models that.
                raise RetryableSerDesError("simulated crash after the request was sent")
            return "operations/2"

        config = StepConfig(retry_strategy=RetryPresets.none(), step_semantics=semantics)
        try:
            return {"operation": context.step(paid_start, name="paid-start", config=config)}
        except StepError as error:
            calls[error.error_type.rsplit(".", 1)[-1]] += 1
            return {"error": "unconfirmed_paid_work"}

    result = run(durable_runner, handler)

    assert result.status is InvocationStatus.SUCCEEDED
    assert json.loads(result.result) == outcome
    assert calls["paid requests"] == runs
    assert calls["StepInterruptedError"] == (1 if semantics is StepSemantics.AT_MOST_ONCE_PER_RETRY else 0)


def test_sdk_gap_1_a_step_without_a_retry_strategy_retries_any_error_six_times(
    durable_runner: RunnerFactory,
) -> None:
    calls: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> None:
        def check(_: StepContext) -> None:
            calls["check"] += 1
            raise LookupError("404: operation not found")  # permanent, yet retried

        context.step(check, name="check")

    result = run(durable_runner, handler)

    assert result.status is InvocationStatus.FAILED
    assert calls["check"] == 6  # RetryPresets.default(): max_attempts=6 and every message matches
    assert "404: operation not found" in (result.error.message or "")


def test_sdk_gap_2_an_error_in_a_condition_check_ends_the_wait_without_retry(
    durable_runner: RunnerFactory,
) -> None:
    checks: list[int] = []

    def check(state: dict[str, Any], check_context: WaitForConditionCheckContext) -> dict[str, Any]:
        checks.append(check_context.attempt)
        raise ConnectionError("429 Too Many Requests")  # transient at the provider

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
        strategy = create_wait_strategy(WaitStrategyConfig[dict[str, Any]](lambda state: True))
        config = WaitForConditionConfig(wait_strategy=strategy, initial_state={"done": False})
        return context.wait_for_condition(check, config, name="operation-done")

    result = run(durable_runner, handler)

    assert result.status is InvocationStatus.FAILED
    assert checks == [1]
    assert "429" in (result.error.message or "")


def test_sdk_gap_2_workaround_a_check_that_keeps_transient_errors_in_its_state(
    durable_runner: RunnerFactory,
) -> None:
    answers = iter([ConnectionError("429 Too Many Requests"), ConnectionError("503"), "done"])

    def check(state: dict[str, Any], check_context: WaitForConditionCheckContext) -> dict[str, Any]:
        answer = next(answers)
        if isinstance(answer, Exception):  # caught in the check: the wait goes on
            return {**state, "transient_errors": state["transient_errors"] + 1}
        return {**state, "done": True}

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
        strategy = create_wait_strategy(
            WaitStrategyConfig[dict[str, Any]](
                should_continue_polling=lambda state: not state["done"], jitter_strategy=JitterStrategy.NONE
            )
        )
        initial = {"done": False, "transient_errors": 0}
        config = WaitForConditionConfig(wait_strategy=strategy, initial_state=initial)
        return context.wait_for_condition(check, config, name="operation-done")

    result = run(durable_runner, handler)

    assert result.status is InvocationStatus.SUCCEEDED
    assert json.loads(result.result) == {"done": True, "transient_errors": 2}


class Video(BaseModel):
    """A pydantic model as a step might return it."""

    key: str


def test_sdk_gap_3_the_default_serdes_rejects_pydantic_after_the_step_ran(
    durable_runner: RunnerFactory,
) -> None:
    calls: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> Any:
        def store(_: StepContext) -> Video:
            calls["store"] += 1
            return Video(key="videos/1.mp4")

        return context.step(store, name="store", config=AT_MOST_ONCE_NO_RETRY)

    result = run(durable_runner, handler)

    assert result.status is InvocationStatus.FAILED
    assert calls["store"] == 1  # the work was done, then the step failed on its result
    assert "Unsupported type" in (result.error.message or "")


def test_testing_gap_1_the_runner_ignores_execution_names(durable_runner: RunnerFactory) -> None:
    calls: Counter[str] = Counter()

    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> None:
        context.step(lambda _: calls.update(["start"]), name="start", config=AT_MOST_ONCE_NO_RETRY)

    runner = durable_runner(handler)
    # On AWS, Invoke with the same DurableExecutionName and payload returns the existing execution.
    first = runner.run_async(input="{}", execution_name="job-1", execution_timeout=TIMEOUT)
    second = runner.run_async(input="{}", execution_name="job-1", execution_timeout=TIMEOUT)
    for arn in (first, second):
        assert runner.wait_for_result(arn, timeout=TIMEOUT).status is InvocationStatus.SUCCEEDED

    assert first != second
    assert calls["start"] == 2


def test_testing_gap_3_the_runner_accepts_a_step_result_over_256_kb(durable_runner: RunnerFactory) -> None:
    @durable_execution
    def handler(event: dict[str, Any], context: DurableContext) -> int:
        big = context.step(lambda _: "x" * 300_000, name="too-big", config=AT_MOST_ONCE_NO_RETRY)
        return len(big)

    result = run(durable_runner, handler)

    # The service caps a checkpoint's payload at 256 KB: this would fail on AWS.
    assert result.status is InvocationStatus.SUCCEEDED
    assert json.loads(result.result) == 300_000
