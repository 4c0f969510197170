"""Runs the template's handlers in-process, one warm "container" per function.

Each function's `app.py` is imported on its first invocation (its cold start) under a unique
module name, then reused; invocations of one function are serialised, as one Lambda container
serves one request at a time.
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


def load_handler(spec: FunctionSpec) -> Callable[[Any, Any], Any]:
    module_file, _, attribute = spec.handler.rpartition(".")
    module_name = f"contentgen_function_{spec.code_dir.name}"
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
    lock: threading.Lock = field(default_factory=threading.Lock)
    handler: Callable[[Any, Any], Any] | None = None
    invocations: int = 0

    def invoke(self, event: Any) -> tuple[Any, float]:
        """Call the handler with a fresh context; returns (result, milliseconds)."""
        with self.lock:
            started = time.perf_counter()
            if self.handler is None:
                self.handler = load_handler(self.spec)
            context = LocalLambdaContext(
                function_name=self.spec.logical_id,
                timeout_seconds=self.spec.timeout,
                memory_limit_in_mb=self.spec.memory,
            )
            result = self.handler(event, context)
            self.invocations += 1
            return result, (time.perf_counter() - started) * 1000


class LocalRuntime:
    def __init__(self) -> None:
        self.containers = {logical_id: Container(spec) for logical_id, spec in functions().items()}

    def environment(self) -> dict[str, str]:
        """Every function's template environment merged (all run in this one process)."""
        merged: dict[str, str] = {}
        for container in self.containers.values():
            merged.update(container.spec.environment)
        return merged

    def invoke(self, logical_id: str, event: Any) -> tuple[Any, float]:
        return self.containers[logical_id].invoke(event)
