"""Inside a durable job: the step and wait patterns every job uses (aws-durable-execution-sdk-python 3.0.0).

Only durable functions import this (it loads the SDK). The gaps it works around are proven in
tests/unit/durable_sdk/test_sdk_behaviour.py:

- `paid_step`: AT_MOST_ONCE_PER_RETRY + no retries. The START is checkpointed before the body
  runs, so an invocation that dies mid-request is never re-sent: the replay gets
  `StepInterruptedError` -> `StepError`, reported as `Paid(unconfirmed=True)` (the job then ends
  `unconfirmed_paid_work`). The body's own exceptions are caught INSIDE the step and returned as
  a plain dict (a refusal keeps the provider's words; no retry: SDK-GAP-1 would retry any error 6
  times by default; SDK-GAP-3: only plain JSON values are returned, never pydantic models).
- `store_step`: AT_LEAST_ONCE with an explicit bounded retry (idempotent writes: S3 with a fixed
  key, conditional DynamoDB updates).
- `paid_step(..., wait_unsent_until=deadline)`: a refusal made BEFORE any request was sent and
  that time cures (a circuit breaker open, or half-open while another caller holds its one probe;
  the container's own request slots taken) is waited out as a durable wait and the step tried
  again under a new name, until the deadline: parallel steps of one job (a short's segments) do
  not fail because one of them holds the breaker's probe.
- `deadline_step`: the SDK has no replay-safe clock (SDK-GAP-4): the deadline is taken once, in a
  step; checks compare `now()` against it (live only: their decisions are checkpointed).
- `poll`: `wait_for_condition` with exponential backoff up to the deadline. A check that raises
  fails the whole wait at once (SDK-GAP-2), so transient provider errors (429, 5xx, timeouts,
  open breaker) are caught in the check and counted in the state; permanent ones end the poll
  with `permanent` set (the provider's words in `error`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aws_durable_execution_sdk_python import DurableContext, StepContext, StepError
from aws_durable_execution_sdk_python.config import Duration, JitterStrategy, StepConfig, StepSemantics
from aws_durable_execution_sdk_python.retries import RetryPresets, RetryStrategyConfig, create_retry_strategy
from aws_durable_execution_sdk_python.types import WaitForConditionCheckContext
from aws_durable_execution_sdk_python.waits import WaitForConditionConfig, WaitForConditionDecision

from contentgen.config import get_settings
from contentgen.errors import CircuitOpenError, ContentgenError
from contentgen.observability import logger
from contentgen.stores.jobs import update_job

T = TypeVar("T")
State = dict[str, Any]

# The paid call: START checkpointed before the body; an interrupted attempt is never re-run.
AT_MOST_ONCE = StepConfig(
    retry_strategy=RetryPresets.none(), step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY
)


def _retried_at_least_once(attempts: int, first: Duration, most: Duration) -> StepConfig:
    """A step retried on any error: `attempts` in all, waits from `first` doubling up to `most`
    (half jitter), at least once per retry (the step is idempotent)."""
    return StepConfig(
        retry_strategy=create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=attempts,
                initial_delay=first,
                max_delay=most,
                backoff_rate=2.0,
                jitter_strategy=JitterStrategy.HALF,
            )
        ),
        step_semantics=StepSemantics.AT_LEAST_ONCE_PER_RETRY,
    )


# Idempotent writes (S3 fixed keys, conditional DynamoDB updates, an event guarded by a flag):
# retried on any error, 6 attempts, 2 s doubling to 60 s (botocore already retried each call).
STORE = _retried_at_least_once(6, Duration.from_seconds(2), Duration.from_seconds(60))

# Publishing a job's outcome event: EventBridge may refuse entries for a while (throttling, an
# outage); the event must still go out once it recovers. 30 attempts, 5 s doubling to 5 min
# (about 2 hours in all, each wait suspended, no compute billed); past that (or past the
# execution's timeout) the execution ends FAILED and its dead-letter queue's reaper publishes it
# (contentgen.services.jobs.reap_failed_execution).
ANNOUNCE = _retried_at_least_once(30, Duration.from_seconds(5), Duration.from_minutes(5))


@dataclass(frozen=True)
class JobResult:
    """A job's success: small JSON `outputs` (S3 keys, ids: never bytes) and its `usage` dict."""

    outputs: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] | None = None


class JobFailure(Exception):
    """Ends the job `failed` with a stable `code` and the provider's words in `message`."""

    def __init__(self, code: str, message: str, *, usage: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.usage = usage


@dataclass(frozen=True)
class JobRun:
    """What a job body gets (`contentgen.entrypoints.durable.durable_job`): the durable `context`
    and the job's start (from the execution's payload: ids, owner, request, reservation)."""

    context: DurableContext
    job_id: str
    kind: str
    owner: str | None
    request: dict[str, Any]
    # What the starter reserved on the payers' budgets (`contentgen.services.jobs.reserve_start`):
    # the paid steps run under it (`job_reservations`) and settle it (`settle_job`).
    reservation: dict[str, Any] | None = None

    def progress(self, step: str, progress: float, name: str | None = None) -> None:
        """Record `step` and `progress` (0..1) on the job row, as a checkpointed step."""
        store_step(
            self.context,
            name or f"progress-{step}",
            lambda: update_job(self.job_id, status="running", step=step, progress=progress),
        )


def now() -> float:
    """Wall clock for checks and deadlines (tests replace it: the runner's skipped waits do not
    advance `time.time()`)."""
    return time.time()


@dataclass(frozen=True)
class Paid:
    """A paid step's outcome: `value` when it succeeded; else `code` / `message` (the provider's
    words) and whether the work may have started unseen (`unconfirmed`: not retried, charged)."""

    value: Any = None
    code: str | None = None
    message: str | None = None
    unconfirmed: bool = False

    @property
    def ok(self) -> bool:
        return self.code is None


# Waits after a refusal made before anything was sent (`unsent_wait`): 5 s growing 1.5x to 2 min,
# never sooner than the refusal's own Retry-After, at most 40 of them (each is a durable wait:
# no compute billed; every wait and attempt is an operation of the execution's history).
UNSENT_FIRST_DELAY = 5
UNSENT_MAX_DELAY = 120
UNSENT_MAX_WAITS = 40


def unsent_wait(exc: BaseException, waits_made: int) -> float | None:
    """Seconds to wait before trying again a paid request refused BEFORE it was sent, when time
    cures the refusal: a circuit breaker open or half-open with another caller's probe in flight
    (`CircuitOpenError`, provider-wide too), or the container's request slots taken (an error
    flagged `not_sent`). None for anything else (sent, or not cured by waiting)."""
    if not (isinstance(exc, CircuitOpenError) or getattr(exc, "not_sent", False)):
        return None
    backoff = min(float(UNSENT_MAX_DELAY), UNSENT_FIRST_DELAY * 1.5**waits_made)
    named = getattr(exc, "retry_after", None)
    return max(backoff, float(named) if isinstance(named, int | float) else 0.0)


def paid_step(
    context: DurableContext,
    name: str,
    call: Callable[[], dict[str, Any]],
    *,
    wait_unsent_until: float | None = None,
) -> Paid:
    """Run `call` (a paid, non-idempotent provider request returning a JSON dict) at most once.

    A `ContentgenError` it raises is a refusal with the provider's words (`unconfirmed` when the
    error says paid work may have started: `unconfirmed_paid_work`); any other error is unconfirmed
    too (it may have come after the request was sent). An invocation that died inside the step
    is `Paid(code="unconfirmed_paid_work", unconfirmed=True)` on replay.

    `wait_unsent_until` (epoch seconds, e.g. the job's deadline): a refusal made before anything
    was sent that time cures (`unsent_wait`: an open or half-open breaker, no request slot) is
    waited out with a durable wait (`<name>-wait-<k>`) and the request tried again as a new step
    (`<name>-again-<k>`), up to `UNSENT_MAX_WAITS` times while the wait ends before that time.
    The decision is made inside the step (its result is checkpointed), so a replay takes the
    same path whatever the clock says then. Without it, such a refusal is returned as is."""

    def attempt(waits_made: int) -> Callable[[StepContext], dict[str, Any]]:
        def body(_: StepContext) -> dict[str, Any]:
            try:
                return {"ok": True, "value": call()}
            except ContentgenError as exc:
                delay = unsent_wait(exc, waits_made)
                if (
                    delay is not None
                    and wait_unsent_until is not None
                    and waits_made < UNSENT_MAX_WAITS
                    and now() + delay < wait_unsent_until
                ):
                    return {"ok": False, "again": math.ceil(delay), "message": exc.message}
                unconfirmed = bool(getattr(exc, "unconfirmed_paid_work", False))
                return {
                    "ok": False,
                    "code": "unconfirmed_paid_work" if unconfirmed else exc.code,
                    "message": exc.message,
                    "unconfirmed": unconfirmed,
                }
            except Exception as exc:
                return {
                    "ok": False,
                    "code": "unconfirmed_paid_work",
                    "message": f"{type(exc).__name__} after the request may have been sent",
                    "unconfirmed": True,
                }

        return body

    waits_made = 0
    try:
        while True:
            step_name = name if waits_made == 0 else f"{name}-again-{waits_made}"
            answer = context.step(attempt(waits_made), name=step_name, config=AT_MOST_ONCE)
            if not answer.get("again"):
                break
            waits_made += 1
            logger.info(
                "paid request refused before it was sent; waiting to try again",
                extra={"step": name, "wait_s": answer["again"], "reason": answer.get("message")},
            )
            context.wait(Duration.from_seconds(int(answer["again"])), name=f"{name}-wait-{waits_made}")
    except StepError as exc:
        return Paid(
            code="unconfirmed_paid_work",
            message=(
                "the invocation ended while the paid request was in flight "
                f"({exc.error_type.rsplit('.', 1)[-1]}); it was not sent again, to avoid paying twice"
            ),
            unconfirmed=True,
        )
    if answer.get("ok"):
        return Paid(value=answer.get("value"))
    return Paid(
        code=str(answer["code"]), message=str(answer["message"]), unconfirmed=bool(answer["unconfirmed"])
    )


def store_step(context: DurableContext, name: str, call: Callable[[], T]) -> T:
    """Run an idempotent write as a step (at least once, retried): returns `call()`'s JSON value."""
    return context.step(lambda _: call(), name=name, config=STORE)


# Time an execution keeps after its job's deadline: the last check, the store, the finish.
FINISH_MARGIN_SECONDS = 900


def job_budget_seconds(seconds: int) -> int:
    """The job's own time budget: `seconds` (its configured deadline), but never more than the
    execution's `ExecutionTimeout` (`JOB_EXECUTION_TIMEOUT_SECONDS`) minus `FINISH_MARGIN_SECONDS`
    (at least 60 s), so a job always fails itself (`deadline_exceeded`, one `JobFailed`) before
    Lambda would end its execution TIMED_OUT. CloudFormation's Rules cannot compare two numbers
    (their functions are Fn::And/Contains/EachMemberEquals/EachMemberIn/Equals/If/Not/Or/RefAll/
    ValueOf/ValueOfAll: intrinsic-function-reference-rules.html, read 2026-12-07), so the bound is
    enforced here; a TIMED_OUT execution is still finished by the dead-letter reaper."""
    timeout = get_settings().job_execution_timeout_seconds
    return max(1, min(seconds, max(60, timeout - FINISH_MARGIN_SECONDS)))


def deadline_step(context: DurableContext, seconds: float, name: str = "deadline") -> float:
    """The job's deadline (epoch seconds), `seconds` from now, taken once and replayed (SDK-GAP-4).
    Pass `job_budget_seconds(...)`."""
    return context.step(lambda _: now() + seconds, name=name, config=STORE)


@dataclass(frozen=True)
class PollOutcome:
    """How a poll ended: `done` (the probe's state says so), `expired` (the deadline passed),
    `permanent` (a permanent error: `error` has the provider's words); `state` the last state."""

    state: State

    @property
    def done(self) -> bool:
        return bool(self.state.get("done"))

    @property
    def expired(self) -> bool:
        return bool(self.state.get("expired")) or not (self.done or self.permanent)

    @property
    def permanent(self) -> bool:
        return bool(self.state.get("permanent"))

    @property
    def error(self) -> str | None:
        error = self.state.get("error")
        return str(error) if error is not None else None


def poll(
    context: DurableContext,
    name: str,
    probe: Callable[[State], State],
    *,
    initial_state: State,
    deadline: float,
    transient: tuple[type[Exception], ...],
    permanent: tuple[type[Exception], ...],
    first_delay: int,
    max_delay: int,
) -> PollOutcome:
    """`wait_for_condition` until `probe(state)` returns a state with `done` true, the deadline
    passes, or a permanent error; backing off 1.5x from `first_delay` to `max_delay` seconds, and
    never sooner than the wait a transient error named (`retry_after`: Retry-After, RetryInfo).

    `probe` makes ONE provider request and returns the new state (JSON values only). Errors in
    `transient` are counted (`transient_errors`, `last_error`) and polled again (checked first);
    errors in `permanent` end the poll with `permanent` and `error` (the provider's words); any
    other error fails the wait (`WaitForConditionError`, SDK-GAP-2). Every poll is
    an invocation and history events: keep `first_delay` and `max_delay` sensible (AWS Lambda's
    durable-monitoring page, metric DurableExecutionOperations: "cumulative number of operations
    performed within a durable execution (max: 3,000)", and DurableExecutionStorageWrittenBytes max
    100 MB, read 2026-12-07 (docs.amazonaws.cn/lambda/latest/dg/durable-monitoring.html); the
    25,000 of the Rust SDK's LIMITS doc is not Lambda's quota). One wait is one operation.)"""

    def check(state: State, _: WaitForConditionCheckContext) -> State:
        checked = {**state, "checks": int(state.get("checks", 0)) + 1}
        if now() >= deadline:
            return {**checked, "expired": True}
        try:
            return {**probe(checked), "checks": checked["checks"], "retry_after": None}
        except Exception as exc:
            message = exc.message if isinstance(exc, ContentgenError) else str(exc)
            if isinstance(exc, transient):  # first: transient errors subclass permanent ones
                wait = getattr(exc, "retry_after", None)
                return {
                    **checked,
                    "transient_errors": int(state.get("transient_errors", 0)) + 1,
                    "last_error": message[:500],
                    "retry_after": float(wait) if isinstance(wait, int | float) else None,
                }
            if isinstance(exc, permanent):
                return {**checked, "permanent": True, "error": message}
            raise

    def strategy(state: State, attempts_made: int) -> WaitForConditionDecision:
        if state.get("done") or state.get("expired") or state.get("permanent"):
            return WaitForConditionDecision.stop_polling()
        # 1.5x backoff from first_delay to max_delay, deterministic (decisions are checkpointed);
        # never sooner than the provider's own wait (Retry-After, RetryInfo) of the last check.
        backoff = min(float(max(first_delay, max_delay)), first_delay * 1.5 ** max(0, attempts_made - 1))
        delay = max(backoff, float(state.get("retry_after") or 0))
        # Not past the deadline by more than a second: the check after it marks the job expired.
        delay = min(delay, max(1.0, deadline - now() + 1))
        return WaitForConditionDecision.continue_waiting(Duration.from_seconds(max(1, math.ceil(delay))))

    final = context.wait_for_condition(
        check,
        WaitForConditionConfig(wait_strategy=strategy, initial_state={"checks": 0, **initial_state}),
        name=name,
    )
    return PollOutcome(state=final)
