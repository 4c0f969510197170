"""Per-container limits on provider requests: how many at once, and how far apart after a 429.

One `ProviderLimiter` per provider. A slot bounds the requests in flight in this container
(`MAX_PARALLEL_REQUESTS`, fan-out in sets and chunks included). After a 429 the provider's
`Retry-After` (or the backoff) holds every request of the container until it has passed, and
requests then start at least a spacing apart: the wait the provider asked for (at least
`RATE_LIMIT_SPACING_SECONDS`), growing by half on each further 429 up to
`RATE_LIMIT_MAX_SPACING_SECONDS` and easing by a tenth on each success, so a container that keeps
being throttled slows down to the provider's rate instead of hammering it.
No wait ever runs past the invocation's deadline: a request that could not start in time fails
at once with the rate-limit error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from contentgen.config import get_settings


class SlotUnavailable(Exception):
    """No slot (or no start time) fits in the time left; `wait` is how long it would have taken."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"no provider slot within {wait:.1f} s")
        self.wait = wait


class ProviderLimiter:
    def __init__(
        self,
        concurrency: int,
        *,
        spacing: float,
        max_spacing: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._base_spacing = spacing
        self._max_spacing = max_spacing
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._not_before = 0.0
        self._spacing = 0.0
        self._last_start = 0.0

    @property
    def spacing(self) -> float:
        return self._spacing

    @contextmanager
    def slot(self, budget: float) -> Iterator[float]:
        """Hold a slot for one request; yields the seconds spent waiting (for the log line).

        Raises `SlotUnavailable` when neither a slot nor the paced start fits in `budget`.
        """
        started = self._clock()
        if not self._slots.acquire(timeout=max(0.0, budget)):
            raise SlotUnavailable(self._clock() - started)
        try:
            with self._lock:
                now = self._clock()
                start = max(now, self._not_before, self._last_start + self._spacing)
                wait = start - now
                if wait > 0 and wait > budget - (now - started):
                    raise SlotUnavailable(wait)
                self._last_start = start
            if wait > 0:
                self._sleep(wait)
            yield self._clock() - started
        finally:
            self._slots.release()

    def throttled(self, pause: float) -> None:
        """The provider answered 429: hold every request for `pause`, and widen the spacing."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + max(0.0, pause))
            # The provider's own wait is the best estimate of its interval between requests.
            widened = max(self._base_spacing, self._spacing * 1.5, pause)
            self._spacing = min(self._max_spacing, widened)

    def succeeded(self) -> None:
        with self._lock:
            if self._spacing:
                eased = self._spacing * 0.9
                self._spacing = eased if eased >= self._base_spacing / 4 else 0.0


_lock = threading.Lock()
_limiters: dict[str, ProviderLimiter] = {}


def limiter_for(provider: str) -> ProviderLimiter:
    """The container's limiter for `provider` (built on first use from the settings)."""
    limiter = _limiters.get(provider)
    if limiter is not None:
        return limiter
    with _lock:
        settings = get_settings()
        return _limiters.setdefault(
            provider,
            ProviderLimiter(
                settings.max_parallel_requests,
                spacing=settings.rate_limit_spacing_seconds,
                max_spacing=settings.rate_limit_max_spacing_seconds,
            ),
        )


def reset_limiters() -> None:
    with _lock:
        _limiters.clear()
