"""Durable functions on the local stack: the testing SDK's runner in place of Lambda's durable service.

moto has no durable-execution APIs (moto 5.2: nothing in moto/awslambda), so the local stack runs
each durable function (template functions with `DurableConfig`) in an
`aws-durable-execution-sdk-python-testing` `DurableFunctionTestRunner` in this process, as the SDK
intends for local runs: in-memory checkpoint store, the handler replayed per invocation. Starts
come through `contentgen.services.jobs.set_execution_starter`, the seam where the layer would
call Lambda's `Invoke(DurableExecutionName=...)`; this starter does what Lambda documents for a
name (durable-execution-idempotency.html): the same name with the same payload returns the
existing execution, another payload is refused (`DurableExecutionAlreadyStartedException`), so
the local stack behaves as AWS even though the runner itself ignores names (TESTING-GAP-1).

`skip_time=False` by default: waits take their real (local: 1 s and up) time, so `make demo` and
`contentgen video --wait` show a job's progress as it happens.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from local.runtime import load_handler
from local.template import FunctionSpec, functions, physical_name


class DurableExecutionAlreadyStarted(Exception):
    """Lambda's answer (409) to a known execution name with another payload."""


@dataclass
class LocalDurableService:
    """One runner per durable function of the template; `start` is the layer's execution starter."""

    skip_time: bool = False
    runners: dict[str, DurableFunctionTestRunner] = field(default_factory=dict)
    executions: dict[tuple[str, str], tuple[str, str]] = field(
        default_factory=dict
    )  # (fn, name) -> (payload, arn)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start_runners(self) -> LocalDurableService:
        for spec in durable_functions():
            handler = load_handler(spec, instance=1000)  # its own "container" of the module
            self.runners[physical_name(spec.logical_id)] = DurableFunctionTestRunner(
                handler=handler, skip_time=self.skip_time
            )
        from contentgen.services.jobs import set_execution_starter

        set_execution_starter(self.start)
        return self

    def start(self, function: str, name: str, payload: str) -> str:
        """Start (or find) the execution `name` of `function` (a name, `name:qualifier` or an ARN)."""
        function_name = function.rsplit(":function:", 1)[-1].split(":")[0]
        runner = self.runners.get(function_name)
        if runner is None:
            raise LookupError(f"no durable function {function_name} on the local stack")
        with self.lock:
            known = self.executions.get((function_name, name))
            if known is not None:
                if known[0] != payload:
                    raise DurableExecutionAlreadyStarted(f"execution {name} exists with another payload")
                return known[1]
            # An hour per execution: a short's assembly alone takes minutes on a loaded laptop.
            arn = runner.run_async(
                input=payload, function_name=function_name, execution_name=name, execution_timeout=3600
            )
            self.executions[(function_name, name)] = (payload, arn)
            return arn

    def result(self, function: str, name: str, timeout: int = 600) -> Any:
        """Wait for the execution `name` of `function` to end; the runner's test result."""
        runner = self.runners[function]
        with self.lock:
            _, arn = self.executions[(function, name)]
        return runner.wait_for_result(arn, timeout=timeout)

    def stop(self, drain_seconds: float = 0) -> None:
        """Stop starting executions and close the runners.

        `drain_seconds` > 0 (tests): first stop every execution still running, as Lambda's
        `StopDurableExecution` does, then wait up to that long in all for the invocations in
        flight to return. The testing SDK's `close()` does not wait for them (1.4.0,
        `DaemonThreadPool.shutdown`: "a worker busy in a blocking call is left alone"): a short's
        step still calling the provider would otherwise go on into the next test, reading that
        test's environment (settings cached without its tables) and taking its provider faults.
        A stopped execution's invocation ends at its next checkpoint, so the wait is one step.
        """
        from contentgen.services.jobs import set_execution_starter

        set_execution_starter(None)
        if drain_seconds > 0:
            with self.lock:
                started = list(self.executions.items())
            for (function, _), (_, arn) in started:
                executor = self.runners[function]._executor
                if not executor.get_execution(arn).is_complete:
                    executor.stop_execution(arn)
        for runner in self.runners.values():
            runner.close()  # type: ignore[no-untyped-call]  # testing SDK 1.4.0 leaves close() unannotated
        if drain_seconds > 0:
            deadline = time.monotonic() + drain_seconds
            for thread in self._invocation_threads():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _invocation_threads(self) -> list[threading.Thread]:
        """The threads that ran the handlers' invocations (the one place that reads the testing
        SDK's private pool, 1.4.0: `Executor._invocation_pool._threads`; tests/unit/local/
        test_durable.py fails if it moves)."""
        return [
            thread
            for runner in self.runners.values()
            for thread in runner._executor._invocation_pool._threads
            if thread is not threading.current_thread()
        ]


def durable_functions() -> list[FunctionSpec]:
    return [spec for spec in functions().values() if spec.durable]
