"""Circuit breakers: one per provider, and one per model at that provider.

A breaker counts the outcomes of calls in a sliding time window. When at least
`BREAKER_FAILURE_RATE` of them failed (rate limits, 5xx, timeouts, dropped connections; never a
request the provider rejected) and there were at least `BREAKER_MIN_CALLS`, it opens: calls fail
fast with `CircuitOpenError` (503, `Retry-After` = the cooldown left) instead of queuing behind a
provider that is down. After `BREAKER_COOLDOWN_SECONDS` one caller wins the half-open probe; its
success closes the breaker, its failure opens it for another cooldown.

The outcome window is always this container's. The open / half-open state lives in a store: in
memory by default, or (with `BREAKER_TABLE`) in DynamoDB through Powertools' circuit breaker
persistence layer, so that every container fails fast once one has seen the provider fail, and
only one container in the fleet probes it. A store that cannot be read fails open.

Provider-wide outages and a model's own outage are told apart: every model at OpenRouter shares
one upstream, so one burst of 5xx used to open every model's breaker in turn as fallback walked the
chain. Now each call's outcome feeds both the model's window and its provider's (`provider#*`).
The provider breaker opens when the failure share across the provider crosses the threshold and
the failures come from at least two models: that is an outage of the provider, so calls fail fast
with `ProviderCircuitOpenError` (fallback does not walk the chain, there is nothing to fall back
to) and the model windows are cleared, so that no model stays open for the provider's fault. A
model's breaker opens only for failures of that model alone (no other model of the provider
failing in the window). The windows keep running counts: O(1) per call.
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from contentgen.clients.aws import get_dynamodb_client
from contentgen.config import Settings, get_settings
from contentgen.errors import CircuitOpenError
from contentgen.observability import count_breaker_event, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN = "CLOSED", "OPEN", "HALF_OPEN"
PROVIDER_SCOPE = "*"  # the model name of a provider's own breaker (`openrouter#*`)


class ProviderCircuitOpenError(CircuitOpenError):
    """The provider's breaker is open: no model of it is tried (503, `Retry-After`)."""


class OutcomeWindow:
    """Outcomes of the last `seconds`, with running counts: `add` is O(1) amortised.

    Each outcome enters once and leaves once; the totals and the failures per model are kept as
    counters updated on entry and exit, never recounted.
    """

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._outcomes: deque[tuple[float, bool, str]] = deque()
        self.calls = 0
        self.failures = 0
        self._failures_by_model: dict[str, int] = {}

    def add(self, now: float, failed: bool, model: str) -> None:
        self._outcomes.append((now, failed, model))
        self.calls += 1
        if failed:
            self.failures += 1
            self._failures_by_model[model] = self._failures_by_model.get(model, 0) + 1
        self.expire(now)

    def expire(self, now: float) -> None:
        horizon = now - self._seconds
        while self._outcomes and self._outcomes[0][0] < horizon:
            _, failed, model = self._outcomes.popleft()
            self.calls -= 1
            if failed:
                self.failures -= 1
                left = self._failures_by_model[model] - 1
                if left:
                    self._failures_by_model[model] = left
                else:
                    del self._failures_by_model[model]

    def failing_models(self) -> frozenset[str]:
        return frozenset(self._failures_by_model)

    def clear(self) -> None:
        self._outcomes.clear()
        self.calls = self.failures = 0
        self._failures_by_model.clear()


@dataclass(frozen=True)
class CircuitSnapshot:
    state: str
    opened_at: float | None = None
    probe_owner: str | None = None
    probe_lease_expiry: float | None = None


# Frozen, so one instance serves every read of a closed breaker (no object built per call).
_CLOSED_SNAPSHOT = CircuitSnapshot(CLOSED)


class CircuitStore(Protocol):
    """Where the open / half-open state of each breaker lives (`name` is provider#model)."""

    def read(self, name: str) -> CircuitSnapshot: ...
    def open(self, name: str, opened_at: float, failures: int) -> None: ...
    def claim_probe(self, name: str, owner: str, opened_at: float) -> bool: ...
    def close(self, name: str) -> None: ...
    def reopen(self, name: str, opened_at: float) -> None: ...


class LocalCircuitStore:
    """This container's state only (the default)."""

    def __init__(self, lease_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self._lease = lease_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, CircuitSnapshot] = {}

    def read(self, name: str) -> CircuitSnapshot:
        with self._lock:
            return self._states.get(name, _CLOSED_SNAPSHOT)

    def open(self, name: str, opened_at: float, failures: int) -> None:
        with self._lock:
            self._states[name] = CircuitSnapshot(OPEN, opened_at)

    def claim_probe(self, name: str, owner: str, opened_at: float) -> bool:
        """The same rule as the DynamoDB condition: open and unclaimed, or a lapsed probe lease."""
        now = self._clock()
        with self._lock:
            current = self._states.get(name, _CLOSED_SNAPSHOT)
            unclaimed = current.state == OPEN and current.opened_at == opened_at
            lapsed = current.state == HALF_OPEN and (current.probe_lease_expiry or 0) <= now
            if not (unclaimed or lapsed):
                return False
            self._states[name] = CircuitSnapshot(HALF_OPEN, opened_at, owner, now + self._lease)
            return True

    def close(self, name: str) -> None:
        with self._lock:
            self._states[name] = _CLOSED_SNAPSHOT

    def reopen(self, name: str, opened_at: float) -> None:
        self.open(name, opened_at, 0)


class SharedCircuitStore:
    """State shared by every container through Powertools' DynamoDB circuit persistence.

    Reads go through Powertools' per-container cache (`BREAKER_CACHE_SECONDS`); the half-open
    probe is elected with a conditional write, so one container in the fleet probes.
    """

    def __init__(self, table: str, *, cooldown: int, cache_seconds: int) -> None:
        # Cold start: this Powertools utility loads on the path that uses it, not at import.
        from aws_lambda_powertools.utilities.circuit_breaker import CircuitBreakerConfig
        from aws_lambda_powertools.utilities.circuit_breaker.persistence import (
            CircuitBreakerDynamoDBPersistence,
        )

        self._config = CircuitBreakerConfig(recovery_timeout=cooldown, local_cache_max_age=cache_seconds)
        self._layer: CircuitBreakerDynamoDBPersistence = CircuitBreakerDynamoDBPersistence(
            table_name=table, boto3_client=get_dynamodb_client()
        )
        self._configured: set[str] = set()

    def _named(self, name: str) -> str:
        if name not in self._configured:
            self._layer.configure(self._config, name)
            self._configured.add(name)
        return name

    def read(self, name: str) -> CircuitSnapshot:
        record = self._layer.get_state(self._named(name))  # fails open (CLOSED) on errors
        return CircuitSnapshot(
            str(record.state.value),
            float(record.opened_at) if record.opened_at is not None else None,
            record.half_open_owner,
            float(record.probe_lease_expiry) if record.probe_lease_expiry is not None else None,
        )

    def open(self, name: str, opened_at: float, failures: int) -> None:
        self._layer.save_open(self._named(name), failures, int(opened_at))

    def claim_probe(self, name: str, owner: str, opened_at: float) -> bool:
        return self._layer.try_acquire_half_open(self._named(name), owner, int(opened_at))

    def close(self, name: str) -> None:
        self._layer.save_closed(self._named(name))

    def reopen(self, name: str, opened_at: float) -> None:
        self._layer.save_reopen(self._named(name), int(opened_at))


@dataclass(frozen=True)
class Permit:
    """Leave to make one call; a probe's outcome decides the breaker's state.

    `provider_probe`: the call is also the probe of the provider's breaker.
    """

    probe: bool
    provider_probe: bool = False


_NO_PROBE = Permit(probe=False)  # frozen: the one permit of every call to a closed breaker


class CircuitBreaker:
    def __init__(
        self,
        provider: str,
        model: str,
        store: CircuitStore,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        provider_breaker: CircuitBreaker | None = None,
    ) -> None:
        """`provider_breaker`: the provider's own breaker, fed by this model's outcomes too."""
        self.provider = provider
        self.model = model
        self.name = f"{provider}#{model}"
        self._store = store
        self._clock = clock
        self._rate = settings.breaker_failure_rate
        self._min_calls = settings.breaker_min_calls
        self._window_seconds = settings.breaker_window_seconds
        self._cooldown = settings.breaker_cooldown_seconds
        self._owner = f"{os.environ.get('AWS_LAMBDA_LOG_STREAM_NAME', 'local')}:{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()
        self._window = OutcomeWindow(self._window_seconds)
        self._provider_breaker = provider_breaker
        self._children: list[CircuitBreaker] = []
        if provider_breaker is not None:
            provider_breaker._children.append(self)

    @property
    def is_provider(self) -> bool:
        return self.model == PROVIDER_SCOPE

    def _closed_until(self, snapshot: CircuitSnapshot) -> float:
        return (snapshot.opened_at or 0.0) + self._cooldown

    def _open_error(self, retry_after: float) -> CircuitOpenError:
        wait = max(1, math.ceil(retry_after))
        if self.is_provider:
            return ProviderCircuitOpenError(
                f"{self.provider} is failing for every model; calls to it are paused for {wait} s",
                retry_after=wait,
            )
        return CircuitOpenError(
            f"{self.provider} model {self.model} is failing; calls to it are paused for {wait} s",
            retry_after=wait,
        )

    def state(self) -> str:
        return self._safe(lambda: self._store.read(self.name), _CLOSED_SNAPSHOT).state

    def admit(self) -> Permit:
        """Leave to call, or `CircuitOpenError` while open (or while another caller probes).

        The provider's breaker is asked first: while it is open, `ProviderCircuitOpenError`.
        """
        if self._provider_breaker is None:
            return self._admit_own()
        provider_permit = self._provider_breaker._admit_own()
        try:
            own = self._admit_own()
        except CircuitOpenError:
            self._provider_breaker._release_own(provider_permit)
            raise
        if not own.probe and not provider_permit.probe:
            return _NO_PROBE
        return Permit(probe=own.probe, provider_probe=provider_permit.probe)

    def _admit_own(self) -> Permit:
        snapshot = self._safe(lambda: self._store.read(self.name), _CLOSED_SNAPSHOT)
        if snapshot.state == CLOSED:
            return _NO_PROBE
        now = self._clock()
        if snapshot.state == OPEN and now < self._closed_until(snapshot):
            raise self._open_error(self._closed_until(snapshot) - now)
        if snapshot.state == HALF_OPEN and (snapshot.probe_lease_expiry or 0) > now:
            raise self._open_error(min(self._cooldown, (snapshot.probe_lease_expiry or now) - now))
        if self._safe(
            lambda: self._store.claim_probe(self.name, self._owner, snapshot.opened_at or 0.0), True
        ):
            self._transition(HALF_OPEN, OPEN if snapshot.state == OPEN else HALF_OPEN)
            return Permit(probe=True)
        raise self._open_error(self._cooldown)

    def succeeded(self, permit: Permit) -> None:
        if self._provider_breaker is not None:
            provider_permit = Permit(probe=True) if permit.provider_probe else _NO_PROBE
            self._provider_breaker._succeeded_own(provider_permit, self.model)
        self._succeeded_own(permit, self.model)

    def failed(self, permit: Permit) -> None:
        """A failure the breakers count: the provider's first, then this model's if it alone fails."""
        provider = self._provider_breaker
        if provider is not None:
            provider._failed_own(Permit(probe=permit.provider_probe), self.model)
            if provider.state() != CLOSED or provider.failing_models() - {self.model}:
                # The provider as a whole is failing: not this model's fault.
                self._release_own(permit)
                return
        self._failed_own(permit, self.model)

    def released(self, permit: Permit) -> None:
        """The call ended without a verdict on the provider (e.g. our own error): free the probe."""
        if self._provider_breaker is not None and permit.provider_probe:
            self._provider_breaker._release_own(Permit(probe=True))
        self._release_own(permit)

    def _release_own(self, permit: Permit) -> None:
        if permit.probe:
            snapshot = self._safe(lambda: self._store.read(self.name), _CLOSED_SNAPSHOT)
            opened_at = snapshot.opened_at if snapshot.opened_at is not None else self._clock()
            self._safe(lambda: self._store.reopen(self.name, opened_at), None)

    def failing_models(self) -> frozenset[str]:
        """Models with a failure in this breaker's window (the provider's: every model's)."""
        with self._lock:
            self._window.expire(self._clock())
            return self._window.failing_models()

    def _succeeded_own(self, permit: Permit, model: str) -> None:
        with self._lock:
            self._window.add(self._clock(), False, model)
        if permit.probe:
            self._safe(lambda: self._store.close(self.name), None)
            self._clear_window()
            self._transition(CLOSED, HALF_OPEN)

    def _failed_own(self, permit: Permit, model: str) -> None:
        now = self._clock()
        if permit.probe:
            self._safe(lambda: self._store.reopen(self.name, now), None)
            self._transition(OPEN, HALF_OPEN)
            return
        with self._lock:
            self._window.add(now, True, model)
            calls, failures = self._window.calls, self._window.failures
            models = len(self._window.failing_models())
        if calls < self._min_calls or failures / calls < self._rate:
            return
        if self.is_provider and models < 2:
            return  # one model failing is that model's outage, judged by its own breaker
        self._clear_window()
        self._safe(lambda: self._store.open(self.name, now, failures), None)
        self._transition(OPEN, CLOSED, calls=calls, failures=failures)
        for child in list(self._children):
            child._clear_window()  # the provider's outage is not held against any model

    def _clear_window(self) -> None:
        with self._lock:
            self._window.clear()

    def _transition(self, to: str, from_: str, **details: int) -> None:
        extra = {
            "provider": self.provider,
            "model": self.model,
            "from_state": from_,
            "to_state": to,
            **details,
        }
        if to == OPEN:
            logger.warning("circuit breaker opened", extra={**extra, "cooldown_s": self._cooldown})
        else:
            logger.info(f"circuit breaker {to.lower().replace('_', '-')}", extra=extra)
        count_breaker_event(model=self.model, to_state=to)

    def _safe(self, action: Callable[[], T], fallback: T) -> T:
        """A store that fails must not become the outage: log it and carry on as if closed."""
        try:
            return action()
        except Exception:
            logger.warning("circuit breaker store unavailable", extra={"breaker": self.name}, exc_info=True)
            return fallback


_lock = threading.Lock()
_store: CircuitStore | None = None
_breakers: dict[str, CircuitBreaker] = {}

WALL_CLOCK: Callable[[], float] = time.time
"""The clock of the breakers `breaker_for` builds: seconds since the epoch (the shared store's
`opened_at` is wall time). Read at every call, so a test passes a cooldown by moving it, not by
sleeping."""


def _wall_clock() -> float:
    return WALL_CLOCK()


def _build_store(settings: Settings) -> CircuitStore:
    if settings.breaker_table:
        return SharedCircuitStore(
            settings.breaker_table,
            cooldown=settings.breaker_cooldown_seconds,
            cache_seconds=settings.breaker_cache_seconds,
        )
    return LocalCircuitStore(lease_seconds=settings.breaker_cooldown_seconds, clock=_wall_clock)


def breaker_for(provider: str, model: str) -> CircuitBreaker:
    """The container's breaker for `model` at `provider`, linked to the provider's (built on first use)."""
    global _store
    name = f"{provider}#{model}"
    breaker = _breakers.get(name)
    if breaker is not None:
        return breaker
    with _lock:
        settings = get_settings()
        if _store is None:
            _store = _build_store(settings)
        provider_name = f"{provider}#{PROVIDER_SCOPE}"
        provider_breaker = _breakers.get(provider_name)
        if provider_breaker is None:
            provider_breaker = _breakers[provider_name] = CircuitBreaker(
                provider, PROVIDER_SCOPE, _store, settings, clock=_wall_clock
            )
        if model == PROVIDER_SCOPE:
            return provider_breaker
        return _breakers.setdefault(
            name,
            CircuitBreaker(
                provider, model, _store, settings, clock=_wall_clock, provider_breaker=provider_breaker
            ),
        )


def provider_breaker_for(provider: str) -> CircuitBreaker:
    """The container's breaker for `provider` as a whole (`provider#*`)."""
    return breaker_for(provider, PROVIDER_SCOPE)


def breaker_states() -> dict[str, str]:
    """Every breaker this container has used and its state (for the deep health check)."""
    return {name: breaker.state() for name, breaker in list(_breakers.items())}


def reset_breakers() -> None:
    """Forget every breaker and the store (tests, or new settings)."""
    global _store
    with _lock:
        _breakers.clear()
        _store = None
