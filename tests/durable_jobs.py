"""Durable jobs under the testing SDK's in-process runner, started the way Lambda starts them.

`RunnerStarter` is a `contentgen.services.jobs.set_execution_starter` target: each start
(function, execution name, payload) becomes `DurableFunctionTestRunner.run_async` of the
function's handler, with `skip_time=True` (durable waits and step-retry timers fire on the next
scheduler turn). It records every start it is given, and does NOT dedupe names (the runner does
not: TESTING-GAP-1), so a test that counts starts proves our own claim dedupes.

`crash_after(step_names)` makes the first run of each named step (or wait_for_condition check)
raise `RetryableSerDesError` AFTER its work was done, before its result is checkpointed: the
invocation ends unfinished and the runner invokes the handler again, as Lambda would after a
crash (tests/unit/durable_sdk shows the SDK's side of it).

`handler(function)` loads a template function's handler once; `JobApi` calls a job's API
function (POST /videos, POST /shorts and their GETs) as API Gateway would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any

from aws_durable_execution_sdk_python import DurableContext
from aws_durable_execution_sdk_python.exceptions import RetryableSerDesError
from aws_durable_execution_sdk_python.lambda_service import InvocationStatus
from aws_durable_execution_sdk_python_testing.executor import Executor
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from contentgen.core.breaker import CLOSED, HALF_OPEN, CircuitSnapshot, LocalCircuitStore
from contentgen.services.jobs import set_execution_starter
from local.lambda_context import LocalLambdaContext
from local.runtime import load_handler
from local.template import functions

EXECUTION_TIMEOUT = 1200  # seconds one execution may take under the runner (a short assembles with ffmpeg): a bound, not a speed check


@dataclass
class Started:
    function: str
    name: str
    payload: str
    arn: str


@dataclass
class RunnerStarter:
    """Runs each started execution on one in-process runner; `starts` is what it was asked."""

    handler: Callable[..., Any]
    runner: DurableFunctionTestRunner = field(init=False)
    starts: list[Started] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The runner answers an execution's result once: later waits read it from here.
    results: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.runner = DurableFunctionTestRunner(handler=self.handler, skip_time=True)

    def __call__(self, function: str, name: str, payload: str) -> str:
        arn = self.runner.run_async(
            input=payload,
            execution_timeout=EXECUTION_TIMEOUT,
            function_name=function.split(":")[0],
            execution_name=name,
        )
        with self.lock:
            self.starts.append(Started(function, name, payload, arn))
        return arn

    def wait_all(self, timeout: int = EXECUTION_TIMEOUT) -> list[Any]:
        """Wait for every started execution to end; their test results (a test may wait again
        after starting more: executions already waited for are not waited for twice)."""
        with self.lock:
            arns = [started.arn for started in self.starts]
        for arn in arns:
            if arn not in self.results:
                self.results[arn] = self.runner.wait_for_result(arn, timeout=timeout)
        return [self.results[arn] for arn in arns]

    def close(self) -> None:
        self.runner.close()  # type: ignore[no-untyped-call]  # testing SDK 1.4.0 leaves close() unannotated


@contextmanager
def running(handler: Callable[..., Any]) -> Iterator[RunnerStarter]:
    """Start executions of `handler` on an in-process runner for the block's duration."""
    starter = RunnerStarter(handler)
    set_execution_starter(starter)
    try:
        yield starter
    finally:
        set_execution_starter(None)
        starter.close()


def succeeded(result: Any) -> bool:
    return bool(result.status is InvocationStatus.SUCCEEDED)


@contextmanager
def crash_after(names: set[str]) -> Iterator[set[str]]:
    """The first run of each step / wait_for_condition check named in `names` crashes after its
    work (see the module docstring); yields the names that did crash."""
    crashed: set[str] = set()
    lock = threading.Lock()
    original_step = DurableContext.step
    original_wait = DurableContext.wait_for_condition

    def once(name: str | None) -> bool:
        with lock:
            if name in names and name not in crashed:
                crashed.add(name)
                return True
            return False

    def step(self: DurableContext, func: Any, name: str | None = None, config: Any = None) -> Any:
        def crashing(context: Any) -> Any:
            result = func(context)
            if once(name):
                raise RetryableSerDesError(f"simulated crash after step {name}'s work")
            return result

        return original_step(self, crashing, name=name, config=config)

    def wait_for_condition(self: DurableContext, check: Any, config: Any, name: str | None = None) -> Any:
        def crashing(state: Any, context: Any) -> Any:
            result = check(state, context)
            if once(name):
                raise RetryableSerDesError(f"simulated crash after a check of {name}")
            return result

        return original_wait(self, crashing, config, name=name)

    DurableContext.step = step  # type: ignore[method-assign]
    DurableContext.wait_for_condition = wait_for_condition  # type: ignore[method-assign]
    saved_backoff = Executor.RETRY_BACKOFF_SECONDS
    Executor.RETRY_BACKOFF_SECONDS = 0  # TESTING-GAP-2: 5 real seconds per crash otherwise
    try:
        yield crashed
    finally:
        DurableContext.step = original_step  # type: ignore[method-assign]
        DurableContext.wait_for_condition = original_wait  # type: ignore[method-assign]
        Executor.RETRY_BACKOFF_SECONDS = saved_backoff


class ProbedElsewhere(LocalCircuitStore):
    """A circuit store where `circuit` (e.g. Google's provider-wide breaker) is HALF_OPEN with
    its one probe held by another container: every caller is refused before sending
    (`CircuitOpenError`), until `refusals` callers were turned away; then that probe succeeded
    and the breaker is closed. Install with `monkeypatch.setattr(breaker, "_build_store", ...)`."""

    def __init__(self, circuit: str, refusals: int, lease_seconds: float = 30) -> None:
        super().__init__(lease_seconds)
        self.circuit = circuit
        self.refusals = refusals
        self.refused = 0
        self._count_lock = threading.Lock()
        now = time.time()
        self._states[circuit] = CircuitSnapshot(HALF_OPEN, now - 60, "elsewhere", now + 3600)

    def read(self, name: str) -> CircuitSnapshot:
        snapshot = super().read(name)
        if name == self.circuit and snapshot.state == HALF_OPEN and snapshot.probe_owner == "elsewhere":
            with self._count_lock:
                self.refused += 1
                if self.refused > self.refusals:  # the other container's probe succeeded
                    self.close(name)
                    return CircuitSnapshot(CLOSED)
        return snapshot


_handlers: dict[str, Callable[..., Any]] = {}


def handler(function: str) -> Callable[..., Any]:
    """The handler of the template's function `function` (logical id), loaded once per run."""
    if function not in _handlers:
        _handlers[function] = load_handler(functions()[function])
    return _handlers[function]


class JobApi:
    """Calls a job's API function `function` as API Gateway would, with an API key id of our
    choosing (default `key_id`): POST `resource` starts a job, GET `resource/{<id_param>}` reads
    one. `api_event` is the `api_event` fixture (the recorded proxy event, tests/conftest.py)."""

    def __init__(
        self,
        api_event: Callable[..., dict[str, Any]],
        *,
        function: str,
        resource: str,
        id_param: str,
        key_id: str,
    ) -> None:
        self.api_event = api_event
        self.function, self.resource, self.id_param, self.key_id = function, resource, id_param, key_id

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key_id: str | EllipsisType | None = ...,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) of `method path` with `body`, sent with API key id `key_id`
        (default: this API's; None: no key) and the sample's headers plus `headers`."""
        template = f"{self.resource}/{{{self.id_param}}}" if method == "GET" else self.resource
        event = self.api_event(method, template, body)
        event["path"] = path
        event["requestContext"]["path"] = f"/prod{path}"
        if method == "GET":
            event["pathParameters"] = {self.id_param: path.rsplit("/", 1)[1]}
        event["requestContext"]["identity"]["apiKeyId"] = self.key_id if key_id is ... else key_id
        event["headers"] = {**(event.get("headers") or {}), **(headers or {})}
        event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
        context = LocalLambdaContext(function_name=self.function, timeout_seconds=29)
        response = handler(self.function)(event, context)
        answer: dict[str, Any] = json.loads(response["body"])
        return response["statusCode"], answer
