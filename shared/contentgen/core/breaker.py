"""Circuit breakers, one per provider and model.

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

from contentgen.config import Settings, get_settings
from contentgen.errors import CircuitOpenError
from contentgen.observability import count_breaker_event, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.circuit_breaker.persistence import CircuitBreakerDynamoDBPersistence

T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN = "CLOSED", "OPEN", "HALF_OPEN"


@dataclass(frozen=True)
class CircuitSnapshot:
    state: str
    opened_at: float | None = None
    probe_owner: str | None = None
    probe_lease_expiry: float | None = None


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
            return self._states.get(name, CircuitSnapshot(CLOSED))

    def open(self, name: str, opened_at: float, failures: int) -> None:
        with self._lock:
            self._states[name] = CircuitSnapshot(OPEN, opened_at)

    def claim_probe(self, name: str, owner: str, opened_at: float) -> bool:
        """The same rule as the DynamoDB condition: open and unclaimed, or a lapsed probe lease."""
        now = self._clock()
        with self._lock:
            current = self._states.get(name, CircuitSnapshot(CLOSED))
            unclaimed = current.state == OPEN and current.opened_at == opened_at
            lapsed = current.state == HALF_OPEN and (current.probe_lease_expiry or 0) <= now
            if not (unclaimed or lapsed):
                return False
            self._states[name] = CircuitSnapshot(HALF_OPEN, opened_at, owner, now + self._lease)
            return True

    def close(self, name: str) -> None:
        with self._lock:
            self._states[name] = CircuitSnapshot(CLOSED)

    def reopen(self, name: str, opened_at: float) -> None:
        self.open(name, opened_at, 0)


class SharedCircuitStore:
    """State shared by every container through Powertools' DynamoDB circuit persistence.

    Reads go through Powertools' per-container cache (`BREAKER_CACHE_SECONDS`); the half-open
    probe is elected with a conditional write, so one container in the fleet probes.
    """

    def __init__(self, table: str, *, cooldown: int, cache_seconds: int) -> None:
        from aws_lambda_powertools.utilities.circuit_breaker import CircuitBreakerConfig
        from aws_lambda_powertools.utilities.circuit_breaker.persistence import (
            CircuitBreakerDynamoDBPersistence,
        )

        from contentgen.connectors.aws import get_dynamodb_client

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
    """Leave to make one call; a probe's outcome decides the breaker's state."""

    probe: bool


class CircuitBreaker:
    def __init__(
        self,
        provider: str,
        model: str,
        store: CircuitStore,
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
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
        self._outcomes: deque[tuple[float, bool]] = deque()

    def _closed_until(self, snapshot: CircuitSnapshot) -> float:
        return (snapshot.opened_at or 0.0) + self._cooldown

    def _open_error(self, retry_after: float) -> CircuitOpenError:
        wait = max(1, math.ceil(retry_after))
        return CircuitOpenError(
            f"{self.provider} model {self.model} is failing; calls to it are paused for {wait} s",
            retry_after=wait,
        )

    def state(self) -> str:
        return self._safe(lambda: self._store.read(self.name), CircuitSnapshot(CLOSED)).state

    def admit(self) -> Permit:
        """Leave to call, or `CircuitOpenError` while open (or while another caller probes)."""
        snapshot = self._safe(lambda: self._store.read(self.name), CircuitSnapshot(CLOSED))
        if snapshot.state == CLOSED:
            return Permit(probe=False)
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
        self._add(False)
        if permit.probe:
            self._safe(lambda: self._store.close(self.name), None)
            with self._lock:
                self._outcomes.clear()
            self._transition(CLOSED, HALF_OPEN)

    def failed(self, permit: Permit) -> None:
        now = self._clock()
        if permit.probe:
            self._safe(lambda: self._store.reopen(self.name, now), None)
            self._transition(OPEN, HALF_OPEN)
            return
        calls, failures = self._add(True)
        if calls >= self._min_calls and failures / calls >= self._rate:
            with self._lock:
                self._outcomes.clear()
            self._safe(lambda: self._store.open(self.name, now, failures), None)
            self._transition(OPEN, CLOSED, calls=calls, failures=failures)

    def released(self, permit: Permit) -> None:
        """The call ended without a verdict on the provider (e.g. our own error): free the probe."""
        if permit.probe:
            snapshot = self._safe(lambda: self._store.read(self.name), CircuitSnapshot(CLOSED))
            opened_at = snapshot.opened_at if snapshot.opened_at is not None else self._clock()
            self._safe(lambda: self._store.reopen(self.name, opened_at), None)

    def _add(self, failed: bool) -> tuple[int, int]:
        now = self._clock()
        with self._lock:
            self._outcomes.append((now, failed))
            horizon = now - self._window_seconds
            while self._outcomes and self._outcomes[0][0] < horizon:
                self._outcomes.popleft()
            return len(self._outcomes), sum(1 for _, bad in self._outcomes if bad)

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


def _build_store(settings: Settings) -> CircuitStore:
    if settings.breaker_table:
        return SharedCircuitStore(
            settings.breaker_table,
            cooldown=settings.breaker_cooldown_seconds,
            cache_seconds=settings.breaker_cache_seconds,
        )
    return LocalCircuitStore(lease_seconds=settings.breaker_cooldown_seconds)


def breaker_for(provider: str, model: str) -> CircuitBreaker:
    """The container's breaker for `model` at `provider` (built on first use)."""
    global _store
    name = f"{provider}#{model}"
    breaker = _breakers.get(name)
    if breaker is not None:
        return breaker
    with _lock:
        settings = get_settings()
        if _store is None:
            _store = _build_store(settings)
        return _breakers.setdefault(name, CircuitBreaker(provider, model, _store, settings))


def breaker_states() -> dict[str, str]:
    """Every breaker this container has used and its state (for the deep health check)."""
    return {name: breaker.state() for name, breaker in list(_breakers.items())}


def reset_breakers() -> None:
    """Forget every breaker and the store (tests, or new settings)."""
    global _store
    with _lock:
        _breakers.clear()
        _store = None
