"""Runs the template's handlers in-process, scaling out "containers" per function as Lambda does.

Each container imports its function's `app.py` on its first invocation (its cold start) under a
module name of its own, then stays warm; one container serves one invocation at a time. When an
invocation arrives and every container of that function is busy, a new one is started, so
several invocations of one function run at once (the in-flight `Idempotency-Key` 409 can be
seen locally). Unlike Lambda, the containers share one process: module state of the
`contentgen` package (clients, caches, breakers) is shared between them.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.lambda_context import LocalLambdaContext
from local.template import FunctionSpec, functions

SHARED = str(Path(__file__).resolve().parent.parent / "shared")


def load_handler(spec: FunctionSpec, instance: int = 0) -> Callable[[Any, Any], Any]:
    """Import the function's handler module afresh; `instance` > 0 gives another container's copy."""
    module_file, _, attribute = spec.handler.rpartition(".")
    module_name = f"contentgen_function_{spec.code_dir.name}" + (f"_{instance}" if instance else "")
    if SHARED not in sys.path:
        sys.path.insert(0, SHARED)
    module_spec = importlib.util.spec_from_file_location(module_name, spec.code_dir / f"{module_file}.py")
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {spec.code_dir}")
    module: ModuleType = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    handler: Callable[[Any, Any], Any] = getattr(module, attribute)
    return handler


@dataclass
class Container:
    spec: FunctionSpec
    instance: int = 0
    handler: Callable[[Any, Any], Any] | None = None
    invocations: int = 0

    def invoke(self, event: Any) -> tuple[Any, float]:
        """Call the handler with a fresh context; returns (result, milliseconds)."""
        started = time.perf_counter()
        if self.handler is None:
            self.handler = load_handler(self.spec, self.instance)
        context = LocalLambdaContext(
            function_name=self.spec.logical_id,
            timeout_seconds=self.spec.timeout,
            memory_limit_in_mb=self.spec.memory,
        )
        result = self.handler(event, context)
        self.invocations += 1
        return result, (time.perf_counter() - started) * 1000


@dataclass
class FunctionPool:
    """A function's containers: an idle one serves the next invocation, else a new one starts."""

    spec: FunctionSpec
    containers: list[Container] = field(default_factory=list)
    idle: list[Container] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, event: Any) -> tuple[Any, float]:
        with self.lock:
            if self.idle:
                container = self.idle.pop()
            else:
                container = Container(self.spec, instance=len(self.containers))
                self.containers.append(container)
        try:
            return container.invoke(event)
        finally:
            with self.lock:
                self.idle.append(container)


class LocalRuntime:
    def __init__(self) -> None:
        self.pools = {logical_id: FunctionPool(spec) for logical_id, spec in functions().items()}

    def environment(self) -> dict[str, str]:
        """Every function's template environment merged (all run in this one process)."""
        merged: dict[str, str] = {}
        for pool in self.pools.values():
            merged.update(pool.spec.environment)
        return merged

    def invoke(self, logical_id: str, event: Any) -> tuple[Any, float]:
        """Invoke a function by its template id; returns (result, milliseconds)."""
        return self.pools[logical_id].invoke(event)

    def container_count(self, logical_id: str) -> int:
        """How many containers the function has started so far."""
        return len(self.pools[logical_id].containers)
