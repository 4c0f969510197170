"""The invocation's deadline, derived once from the Lambda context and read by the retry policy.

The adapter opens a `deadline_scope` per invocation; domain code never sees the context. Worker
threads inherit it by running in a copied `contextvars` context.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from contentgen.config import get_settings


class HasRemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock after which the function must have answered."""

    expires_at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    @classmethod
    def from_context(cls, context: HasRemainingTime | None) -> Deadline:
        if context is None or not hasattr(context, "get_remaining_time_in_millis"):
            return cls.after(get_settings().default_deadline_seconds)
        return cls.after(context.get_remaining_time_in_millis() / 1000.0)

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()


_current: ContextVar[Deadline | None] = ContextVar("contentgen_deadline", default=None)


@contextmanager
def deadline_scope(deadline: Deadline) -> Iterator[Deadline]:
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def current_deadline() -> Deadline:
    """The invocation's deadline; outside an invocation, the configured default from now."""
    deadline = _current.get()
    return deadline if deadline is not None else Deadline.after(get_settings().default_deadline_seconds)
