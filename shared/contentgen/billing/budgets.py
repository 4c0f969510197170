"""Daily budgets per API key: the refusal, the guard a usage meter runs before each provider
request, and what an event's stored result may say of a refusal.

The ledger the standings are read from and charged to is `contentgen.stores.ledger`; the
middleware that applies both around every generation route is `contentgen.entrypoints.spend`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from contentgen.errors import ContentgenError
from contentgen.observability import logger, metrics

# The clock of the ledger (days, Retry-After, TTL); tests replace it to cross midnight.
clock: Callable[[], float] = time.time


class BudgetExceededError(ContentgenError):
    """The API key has spent its daily budget: nothing is generated until 00:00 UTC."""

    status_code = 429
    code = "budget_exceeded"


def is_over_budget(status_code: int, body: Any) -> bool:
    """Whether an answer is the 429 `budget_exceeded` refusal."""
    return status_code == 429 and isinstance(body, dict) and body.get("code") == BudgetExceededError.code


# What an event's stored result says of a budget refusal: results are read by request_id with
# any key (`GET /results/{request_id}`), so neither the key id nor its spend and budget are kept.
STORED_BUDGET_MESSAGE = (
    "a key charged for this request has spent its daily budget; it starts again at 00:00 UTC"
)


def for_storage(status_code: int, body: Any) -> Any:
    """`body` as an event's result may keep it: a `budget_exceeded` answer with its message
    replaced by `STORED_BUDGET_MESSAGE` (the HTTP answer to the key's own holder keeps the key id
    and amounts); its `usage` (this request's cost) and `partial` stay. Other bodies unchanged."""
    if not is_over_budget(status_code, body):
        return body
    return {**body, "message": STORED_BUDGET_MESSAGE}


def utc_day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def seconds_until_midnight(timestamp: float) -> float:
    """Seconds from `timestamp` to the next 00:00 UTC (when a new day's budget starts)."""
    now = datetime.fromtimestamp(timestamp, UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


@dataclass(frozen=True)
class KeyDay:
    """A key's standing on one day."""

    api_key_id: str
    day: str
    spent_usd: Decimal
    budget_usd: Decimal


def refuse_over_budget(standing: KeyDay, running_usd: Decimal, now: float) -> None:
    """Raise `BudgetExceededError` (429, Retry-After until 00:00 UTC) when the standing read at
    the start of the invocation plus its running cost `running_usd` has reached the budget."""
    api_key_id = standing.api_key_id
    spent = standing.spent_usd + running_usd
    if spent >= standing.budget_usd:
        logger.warning(
            "budget exceeded",
            extra={
                "api_key_id": api_key_id,
                "spent_usd": float(spent),
                "budget_usd": float(standing.budget_usd),
            },
        )
        metrics.add_metric(name="BudgetExceeded", unit=MetricUnit.Count, value=1)
        raise BudgetExceededError(
            f"API key {api_key_id} has spent its daily budget ({spent:f} of {standing.budget_usd:f} USD "
            "today); it starts again at 00:00 UTC",
            retry_after=seconds_until_midnight(now),
        )


def budget_guard(standings: list[KeyDay]) -> Callable[[Decimal], None] | None:
    """The meter's guard: before each provider request, every charged key must still be under
    its budget counting what this invocation has already spent."""
    if not standings:
        return None

    def guard(running_usd: Decimal) -> None:
        now = clock()
        for standing in standings:
            refuse_over_budget(standing, running_usd, now)

    return guard
