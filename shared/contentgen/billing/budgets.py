"""Daily budgets per API key: the refusal, the guard a usage meter runs before each provider
request, and what an event's stored result may say of a refusal.

The ledger the standings are read from and charged to is `contentgen.stores.ledger`; the
middleware that applies both around every generation route is `contentgen.entrypoints.spend`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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


# The last day formatted: (its first second, a microsecond before its end, "YYYY-MM-DD"), both in
# epoch seconds; a timestamp within the last microsecond (which `datetime` may round up to the next
# day) is formatted afresh.
_last_day: tuple[float, float, str] | None = None


def utc_day(timestamp: float) -> str:
    """The UTC date of `timestamp` (epoch seconds) as YYYY-MM-DD."""
    global _last_day
    known = _last_day
    if known is not None and known[0] <= timestamp < known[1]:
        return known[2]
    moment = datetime.fromtimestamp(timestamp, UTC)
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    day = moment.strftime("%Y-%m-%d")
    _last_day = (start, start + 86400 - 1e-6, day)
    return day


def seconds_until_midnight(timestamp: float) -> float:
    """Seconds from `timestamp` to the next 00:00 UTC (when a new day's budget starts)."""
    now = datetime.fromtimestamp(timestamp, UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


def budget_refusal(
    api_key_id: str, settled_usd: Decimal, reserved_usd: Decimal, budget_usd: Decimal, now: float
) -> BudgetExceededError:
    """The refusal of a key whose day has no budget left (settled plus reserved by requests in
    flight at or over its budget): 429 with Retry-After until 00:00 UTC; logged and counted as
    `BudgetExceeded`. The caller raises it."""
    logger.warning(
        "budget exceeded",
        extra={
            "api_key_id": api_key_id,
            "spent_usd": float(settled_usd),
            "reserved_usd": float(reserved_usd),
            "budget_usd": float(budget_usd),
        },
    )
    metrics.add_metric(name="BudgetExceeded", unit=MetricUnit.Count, value=1)
    in_flight = f" and {reserved_usd:f} USD reserved by requests in flight" if reserved_usd else ""
    return BudgetExceededError(
        f"API key {api_key_id} has spent its daily budget ({settled_usd:f} USD spent{in_flight}, "
        f"of {budget_usd:f} USD today); it starts again at 00:00 UTC",
        retry_after=seconds_until_midnight(now),
    )
