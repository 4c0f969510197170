"""What one invocation used: provider requests, tokens and USD, summed across its threads.

`metered()` opens an invocation's meter in a context variable; every provider request (the call
policy's `record_attempt`) adds to it through `add_request`. The fan-out in
`contentgen.core.parallel` runs tasks in copies of the caller's context, and a copy holds the
same `Meter` object, so requests made on pool threads add to the same total (under a lock).
Costs are summed as decimals, so a total is exactly the sum of what the providers reported.

A meter may carry a `guard` (set by `contentgen.entrypoints.spend`: the key's budget): the call
policy calls `before_request(max_cost_usd)` before every provider request with the most that
request can cost, and the guard reserves it against the key's day (`contentgen.stores.ledger`)
or refuses the request (raises `BudgetExceededError`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Meter:
    """The running usage of one invocation (thread-safe)."""

    provider_requests: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: Decimal | None = None
    model: str | None = None  # the model that answered the last successful request
    # Called before each provider request with the most it can cost (USD; None: no known price);
    # reserves it against the key's budget or raises to refuse the request.
    guard: Callable[[Decimal | None], None] | None = field(default=None, repr=False, compare=False)
    # Called after each provider request with the cost it reported (None: none), on the thread
    # that made it (the guard's reservation for it may be reused by a retry it did not pay for).
    after: Callable[[float | None], None] | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(
        self,
        *,
        model: str | None,
        ok: bool,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        cost_usd: float | None,
    ) -> Decimal | None:
        """Count one provider request; returns the invocation's cost so far (None: none known)."""
        with self._lock:
            self.provider_requests += 1
            if ok and model:
                self.model = model
            if prompt_tokens is not None:
                self.prompt_tokens = (self.prompt_tokens or 0) + prompt_tokens
            if completion_tokens is not None:
                self.completion_tokens = (self.completion_tokens or 0) + completion_tokens
            if cost_usd is not None:
                self.cost_usd = (self.cost_usd or Decimal(0)) + Decimal(str(cost_usd))
            total = self.cost_usd
        if self.after is not None:
            self.after(cost_usd)
        return total

    def as_usage(self) -> dict[str, Any]:
        """The contract's `usage`: `{"model", "prompt_tokens", "completion_tokens",
        "provider_requests", "cost_usd"}`, null where no provider reported a value."""
        with self._lock:
            return {
                "model": self.model,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "provider_requests": self.provider_requests,
                "cost_usd": float(self.cost_usd) if self.cost_usd is not None else None,
            }


_meter: ContextVar[Meter | None] = ContextVar("contentgen_usage_meter", default=None)


@contextmanager
def metered() -> Iterator[Meter]:
    """Count the provider requests made inside the block (and its fan-out) on a new meter."""
    meter = Meter()
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


def current_meter() -> Meter | None:
    return _meter.get()


def before_request(max_cost_usd: Decimal | None = None) -> None:
    """Before a provider request (the call policy): the open meter's guard reserves
    `max_cost_usd` (USD, the most the request can cost; None: no known price) against the key's
    budget, or refuses the request (raises)."""
    meter = _meter.get()
    if meter is None or meter.guard is None:
        return
    meter.guard(max_cost_usd)


def add_unconfirmed_cost(cost_usd: float) -> None:
    """Add `cost_usd` (USD) to the open meter without counting a request: the upper bound of paid
    work a provider may have started without confirming it (a start that timed out), so the key
    is charged what the provider may bill rather than nothing."""
    meter = _meter.get()
    if meter is None:
        return
    with meter._lock:
        meter.cost_usd = (meter.cost_usd or Decimal(0)) + Decimal(str(cost_usd))


def add_request(
    *,
    model: str | None,
    ok: bool,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    cost_usd: float | None,
) -> Decimal | None:
    """Add one provider request to the invocation's meter, if one is open; returns its total."""
    meter = _meter.get()
    if meter is None:
        return None
    return meter.add(
        model=model,
        ok=ok,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=cost_usd,
    )
