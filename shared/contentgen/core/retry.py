"""The one retry policy for every provider call.

A connector classifies its SDK's exceptions into `ProviderFailure`s; this module decides whether
to try again, how long to wait (honouring `Retry-After`), and stops before the Lambda's deadline
minus a safety margin, raising the `ProviderError` that maps to 502/503/504. The SDKs' own retries
are switched off so that nothing retries twice and nothing waits past the deadline.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from contentgen.config import Settings, get_settings
from contentgen.core.deadline import current_deadline
from contentgen.errors import (
    DeadlineExceededError,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderRequestRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from contentgen.observability import count_provider_failure, logger

ClientT = TypeVar("ClientT")
ClientT_co = TypeVar("ClientT_co", covariant=True)
ResultT = TypeVar("ResultT")


class FailureKind(StrEnum):
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    AUTH = "auth"
    REJECTED = "rejected"

    @property
    def retryable(self) -> bool:
        return self not in (FailureKind.AUTH, FailureKind.REJECTED)


_ERROR_FOR_KIND: dict[FailureKind, type[ProviderError]] = {
    FailureKind.RATE_LIMITED: ProviderRateLimitedError,
    FailureKind.SERVER_ERROR: ProviderUnavailableError,
    FailureKind.CONNECTION: ProviderUnavailableError,
    FailureKind.TIMEOUT: ProviderTimeoutError,
    FailureKind.AUTH: ProviderAuthError,
    FailureKind.REJECTED: ProviderRequestRejectedError,
}

_MESSAGE_FOR_KIND: dict[FailureKind, str] = {
    FailureKind.RATE_LIMITED: "is rate limiting requests",
    FailureKind.SERVER_ERROR: "returned a server error",
    FailureKind.CONNECTION: "could not be reached",
    FailureKind.TIMEOUT: "did not answer in time",
    FailureKind.AUTH: "rejected the API key",
    FailureKind.REJECTED: "rejected the request",
}


@dataclass(frozen=True)
class ProviderFailure:
    """What went wrong with one attempt, in SDK-neutral terms."""

    kind: FailureKind
    status: int | None = None
    retry_after: float | None = None

    def to_error(self, provider: str, *, attempts: int) -> ProviderError:
        status = f" (HTTP {self.status})" if self.status else ""
        tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}"
        return _ERROR_FOR_KIND[self.kind](
            f"{provider} {_MESSAGE_FOR_KIND[self.kind]}{status}{tries}", retry_after=self.retry_after
        )


class Connector(Protocol[ClientT_co]):
    def get(self) -> ClientT_co: ...
    def reset(self) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_delay: float
    max_delay: float
    attempt_timeout: float
    margin: float
    min_attempt: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.provider_max_attempts,
            base_delay=settings.retry_base_delay_seconds,
            max_delay=settings.retry_max_delay_seconds,
            attempt_timeout=settings.provider_timeout_seconds,
            margin=settings.deadline_margin_seconds,
            min_attempt=settings.min_attempt_seconds,
        )

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt `attempt + 1`: the server's word, else full jitter."""
        if retry_after is not None:
            return max(0.0, retry_after)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class ProviderCaller(Generic[ClientT]):
    """Runs `operation(client, timeout_seconds)` under the retry policy for one provider."""

    def __init__(
        self,
        provider: str,
        connector: Connector[ClientT],
        classify: Callable[[BaseException], ProviderFailure | None],
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.provider = provider
        self._connector = connector
        self._classify = classify
        self._sleep = sleep

    def call(self, operation: Callable[[ClientT, float], ResultT]) -> ResultT:
        policy = RetryPolicy.from_settings(get_settings())
        deadline = current_deadline()
        attempt = 0
        refreshed_key = False
        while True:
            budget = deadline.remaining() - policy.margin
            if budget < policy.min_attempt:
                raise DeadlineExceededError(
                    f"not enough time left to call {self.provider} "
                    f"after {attempt} attempt{'s' if attempt != 1 else ''}"
                )
            attempt += 1
            client = self._connector.get()
            try:
                return operation(client, min(policy.attempt_timeout, budget))
            except Exception as exc:
                failure = self._classify(exc)
                if failure is None:
                    raise
            count_provider_failure(provider=self.provider, kind=failure.kind.value)
            logger.warning(
                "provider call failed",
                extra={
                    "provider": self.provider,
                    "attempt": attempt,
                    "failure": failure.kind.value,
                    "status": failure.status,
                },
            )
            if failure.kind is FailureKind.AUTH and not refreshed_key:
                # The key may have been rotated in SSM: drop the client and key, try once more.
                refreshed_key = True
                self._connector.reset()
                attempt -= 1
                continue
            if not failure.kind.retryable or attempt >= policy.max_attempts:
                raise failure.to_error(self.provider, attempts=attempt)
            delay = policy.backoff(attempt, failure.retry_after)
            if deadline.remaining() - policy.margin - delay < policy.min_attempt:
                # Waiting would leave no time for the next attempt: answer now.
                raise failure.to_error(self.provider, attempts=attempt)
            (self._sleep or time.sleep)(delay)
