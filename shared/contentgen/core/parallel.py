"""Bounded fan-out of provider work within one invocation.

Tasks run on a per-container thread pool whose size is `MAX_PARALLEL_REQUESTS`, each in a copy of
the caller's context (so the invocation's deadline applies to it). Results come back in task
order; every task is allowed to finish, so results already paid for are never dropped.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from contentgen.config import get_settings

T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=get_settings().max_parallel_requests, thread_name_prefix="contentgen-fanout"
            )
        return _executor


def reset_pool() -> None:
    """Drop the pool (tests that change MAX_PARALLEL_REQUESTS)."""
    global _executor
    with _lock:
        if _executor is not None:
            _executor.shutdown(wait=True)
        _executor = None


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None
    error: BaseException | None


def run_bounded(tasks: Sequence[Callable[[], T]]) -> list[Outcome[T]]:
    """Run `tasks` at most MAX_PARALLEL_REQUESTS at a time; one outcome per task, in order."""
    if len(tasks) == 1:  # no thread hop for the common single case
        try:
            return [Outcome(tasks[0](), None)]
        except Exception as exc:
            return [Outcome(None, exc)]
    futures: list[Future[T]] = [_pool().submit(contextvars.copy_context().run, task) for task in tasks]
    outcomes: list[Outcome[T]] = []
    for future in futures:
        error = future.exception()
        outcomes.append(Outcome(None, error) if error is not None else Outcome(future.result(), None))
    return outcomes
