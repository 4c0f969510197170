"""Spend per API key and day, and daily budgets that hold under concurrency: every provider
request with a price is RESERVED against its key's day, with one conditional write, before it is
paid.

The ledger is one DynamoDB table (`SPEND_TABLE`), partition key `pk` = the API key's id (API
Gateway's `requestContext.identity.apiKeyId`; for event-triggered and direct invocations the
message's `api_key_id` AND `PIPELINE_API_KEY_ID` (both reserved against, both charged: inventing
ids in messages dodges no budget), else `PIPELINE_API_KEY_ID`), sort key `sk`:

- `sk` = a UTC day `YYYY-MM-DD`, the day item:
  - `hold#<id>`: one per reservation in flight, `{"usd": N, "until": epoch s}`;
  - `settled#<id>`: when a settle made once under that id (a durable job's start, whose `charge`
    step a replay may run again: `settle(once=...)`) was written; a repeat changes nothing;
  - `committed_usd` = `cost_usd` + the holds' `usd` (settled plus reserved, kept in step by every
    write), the one number a reservation's condition reads;
  - the settled totals: `requests`, `provider_requests`, `prompt_tokens`, `completion_tokens`,
    `cost_usd` (USD, exact decimal sums) and per function `fn#<function>#requests` /
    `fn#<function>#cost_usd`; `expires_at` (TTL, `SPEND_RETENTION_DAYS`); `alarmed_at` (0 until
    `BudgetThresholdReached` was sent that day, then when).

A key's budget item lives in its own partition, `pk` = `budget#<api key id>`, `sk` = `budget`:
`daily_budget_usd`, the key's own daily budget (else `DAILY_BUDGET_USD`), written by operators
only. The generation roles may read it (Query) and write nothing in a `budget#` partition
(template.yaml, `SpendAccountingPolicy`: UpdateItem only where every `dynamodb:LeadingKeys` is
`ForAllValues:StringNotLike` `budget#*`, and limited by `dynamodb:Attributes` to the day's
attributes): not its limit, nor its TTL attribute `expires_at` (a budget item in the key's own
partition, the layout before 2026-12-07, could be made to expire by a role: docs/operations.md
has the one-time migration; such an item is no longer read).

Reserve (`reserve`), before every provider request with a price: ONE UpdateItem,
`SET committed_usd = if_not_exists(committed_usd, :settled) + :most, hold#<id> = {usd, until}`
under `ConditionExpression: attribute_not_exists(committed_usd) OR committed_usd < :budget`.
`:most` is the most the request can cost (`contentgen.billing.prices`: exact for a video, per
second x duration, and an image; an upper bound for text from the prompt's bytes and `max_tokens`
or the model's largest answer). `:budget` is the key's budget item (else the default) as this
container last read it (a consistent Query of the day and one of the budget item, at the key's
first request in the container and every `BUDGET_REFRESH_SECONDS`; a changed budget applies
within that). A key is admitted while
its day has budget left (settled + reserved < budget: the rule spend control has always had, a key
at or over its budget is refused) and every admitted request has reserved its most before it is
paid, so concurrent requests see each other: the day ends below budget + the cost of the one
request that crossed it, under any concurrency (only that request passes a budget it crosses). A
refusal is 429 `budget_exceeded` with `Retry-After` until 00:00 UTC.

Settle (`settle`), once per key at the end of the invocation whatever its outcome (success,
error, exception): ONE UpdateItem removes the invocation's holds, adds the actual usage to the
totals and moves `committed_usd` by cost - held, in the same write, under `attribute_exists` of
each hold. A request that failed unpaid thus releases its reservation; a paid failure is charged
what it cost.

Durable jobs reserve before their execution starts (`reserve_once`, `contentgen.services.jobs`):
the hold id is derived from the job and the write is also conditional on `attribute_not_exists`
of that hold, so duplicate starts hold once; the job settles it with `settle(once=<hold id>)`.

Leaks (a Lambda killed mid-request never settles): each hold carries `until` = the invocation's
deadline + `HOLD_MARGIN_SECONDS`. A refused reservation re-reads the day and the budget (two
consistent Queries) and repairs the day in one conditional write (`committed_usd` unchanged since
the read): expired holds are removed and `committed_usd` = settled + live holds, so a leak can
refuse a key only until its invocation's deadline plus the margin, never for the rest of the day;
then the reservation is tried again. Holds also stop counting at day rollover (a new day item)
and go with the item's TTL. A settle that finds a hold reaped charges the cost without releasing
it again.

Round trips: two in the common case (the reservation, the settle); a container's first request
for a key (and one every `BUDGET_REFRESH_SECONDS`) adds the two Queries; a refusal is the refused
write and the two Queries.

When the ledger cannot be read or written, generation goes on (fail open): the failure is logged
with the amounts (`spend not recorded`, for reconciliation) and counted (`SpendLedgerErrors`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from contentgen.billing import budgets
from contentgen.billing.budgets import budget_refusal, utc_day
from contentgen.billing.meter import Meter
from contentgen.clients.aws import get_events_client
from contentgen.clients.dynamodb import DynamoDBError, get_ledger_client
from contentgen.config import get_settings
from contentgen.core.deadline import current_deadline
from contentgen.errors import ConfigurationError
from contentgen.observability import logger, metrics

BUDGET_SK = "budget"
# A key's budget item: pk = BUDGET_PREFIX + its id (a partition the generation roles cannot write).
BUDGET_PREFIX = "budget#"
EVENT_SOURCE = "contentgen"
HISTORY_DAYS = 30
HOLD_PREFIX = "hold#"
# A settle made once under an id (a durable job's start): `settled#<id>` = when, on the charge day.
SETTLED_PREFIX = "settled#"
# A hold outlives its invocation's deadline by this much before a refused reservation may reap it.
HOLD_MARGIN_SECONDS = 60
# How long a container uses a key's budget as it read it before reading the budget item again.
BUDGET_REFRESH_SECONDS = 60
# Reservations are rounded up to this (USD): short numbers, never less than the bound.
_RESERVATION_STEP = Decimal("0.0000000001")

# api key id -> (its budget, when this container read it: monotonic seconds).
_budgets: dict[str, tuple[Decimal, float]] = {}


@dataclass(frozen=True)
class Hold:
    """One reservation in flight: `amount` USD held on `api_key_id`'s `day` under `hold_id`,
    until `until` (epoch seconds; 0: not known here, e.g. a hold read back from a job's payload)."""

    api_key_id: str
    day: str
    hold_id: str
    amount: Decimal
    until: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class _Day:
    """A key's day as one Query read it, with its budget."""

    budget: Decimal
    item: dict[str, Any] | None

    def settled(self) -> Decimal:
        return _settled(self.item or {})

    def live(self, now: float) -> dict[str, Decimal]:
        return {hold_id: usd for hold_id, (usd, until) in _holds(self.item or {}).items() if until > now}

    def expired(self, now: float) -> list[str]:
        return sorted(hold_id for hold_id, (_, until) in _holds(self.item or {}).items() if until <= now)


def _table() -> str | None:
    return get_settings().spend_table


def _number(item: dict[str, Any], name: str) -> Decimal:
    value = item.get(name, {}).get("N")
    return Decimal(value) if value is not None else Decimal(0)


def _error_code(exc: Exception) -> str | None:
    return exc.code if isinstance(exc, DynamoDBError) else None


def _expires(day: str) -> int:
    start = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())  # C; strptime: ~20 µs
    return start + get_settings().spend_retention_days * 86400


def _query(table: str, api_key_id: str, first_day: str) -> list[dict[str, Any]]:
    """The key's day items from `first_day` on (one consistent Query; paged)."""
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND sk >= :first",
        "ExpressionAttributeValues": {":pk": {"S": api_key_id}, ":first": {"S": first_day}},
        "ConsistentRead": True,
    }
    while True:
        page = get_ledger_client().query(**arguments)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def budget_key(api_key_id: str) -> dict[str, Any]:
    """The DynamoDB key of `api_key_id`'s budget item: `{pk: budget#<id>, sk: budget}`."""
    return {"pk": {"S": BUDGET_PREFIX + api_key_id}, "sk": {"S": BUDGET_SK}}


def _budget(table: str, api_key_id: str) -> Decimal:
    """The key's own budget (one consistent Query of its budget item: the read the roles have),
    when it is a non-negative finite number; else DAILY_BUDGET_USD (an invalid item is logged at
    WARNING and counted as `InvalidBudgetItems`)."""
    key = budget_key(api_key_id)
    found = get_ledger_client().query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND sk = :sk",
        ExpressionAttributeValues={":pk": key["pk"], ":sk": key["sk"]},
        ConsistentRead=True,
    )
    for item in found.get("Items", []):
        if "daily_budget_usd" in item:
            value = item["daily_budget_usd"]
            try:
                budget = Decimal(value["N"]) if isinstance(value, dict) and "N" in value else None
            except ArithmeticError:
                budget = None
            if budget is not None and budget.is_finite() and budget >= 0:
                return budget
            logger.warning(
                "invalid budget item ignored; the default budget applies",
                extra={"api_key_id": api_key_id, "daily_budget_usd": str(value)},
            )
            metrics.add_metric(name="InvalidBudgetItems", unit=MetricUnit.Count, value=1)
    return Decimal(str(get_settings().daily_budget_usd))


def _holds(item: dict[str, Any]) -> dict[str, tuple[Decimal, float]]:
    """The day item's holds: hold id -> (USD, until epoch seconds); malformed ones are skipped."""
    found: dict[str, tuple[Decimal, float]] = {}
    for name, value in item.items():
        if not name.startswith(HOLD_PREFIX):
            continue
        entry = value.get("M") if isinstance(value, dict) else None
        if not isinstance(entry, dict):
            continue
        try:
            found[name[len(HOLD_PREFIX) :]] = (Decimal(entry["usd"]["N"]), float(entry["until"]["N"]))
        except (KeyError, TypeError, ArithmeticError, ValueError):
            continue
    return found


def _settled(item: dict[str, Any]) -> Decimal:
    """`cost_usd` when it is a number (a corrupted total counts as 0 until it is restarted)."""
    value = item.get("cost_usd")
    try:
        return Decimal(value["N"]) if isinstance(value, dict) and "N" in value else Decimal(0)
    except ArithmeticError:
        return Decimal(0)


def _read_day(table: str, api_key_id: str, day: str) -> _Day:
    """The key's day item and budget (two consistent Queries); the budget is remembered."""
    items = _query(table, api_key_id, day)
    budget = _budget(table, api_key_id)
    _budgets[api_key_id] = (budget, time.monotonic())
    return _Day(budget, next((item for item in items if item["sk"]["S"] == day), None))


def forget_budgets() -> None:
    """Read every key's budget item again at its next request (tests; after `set_daily_budget`)."""
    _budgets.clear()


def budget_of(api_key_id: str) -> Decimal | None:
    """The key's budget as this container last read it (None: not read)."""
    known = _budgets.get(api_key_id)
    return known[0] if known is not None else None


# --- reserve -------------------------------------------------------------------------------------


def reserve(api_key_id: str, most_usd: Decimal, until: float) -> Hold | None:
    """Reserve `most_usd` (the most a provider request can cost) against the key's day, held
    until `until` (epoch seconds). Raises `BudgetExceededError` (429, Retry-After until 00:00 UTC)
    when the key's day has no budget left (settled + reserved >= budget). None when there is no
    ledger or it could not be read or written (fail open, logged and counted)."""
    taken = _reserve(api_key_id, most_usd, until, os.urandom(8).hex(), once=False)
    return taken[0] if taken is not None else None


def reserve_once(api_key_id: str, hold_id: str, most_usd: Decimal, until: float) -> tuple[Hold, bool] | None:
    """`reserve` under a hold id the caller chose (a durable job's start: derived from the job),
    at most once per key and day: (the hold, whether this call made it). A hold of that id already
    on the key's day (a duplicate start in flight) is answered as it is, `made` False, nothing
    reserved again (the reservation's condition includes `attribute_not_exists(hold#<id>)`).
    Refusal and fail-open as `reserve`."""
    return _reserve(api_key_id, most_usd, until, hold_id, once=True)


def _reserve(
    api_key_id: str, most_usd: Decimal, until: float, hold_id: str, *, once: bool
) -> tuple[Hold, bool] | None:
    table = _table()
    if table is None:
        return None
    now = budgets.clock()
    day = utc_day(now)
    most = most_usd.quantize(_RESERVATION_STEP, rounding=ROUND_CEILING).normalize()
    hold = Hold(api_key_id, day, hold_id, most, until)
    try:
        known = _budgets.get(api_key_id)
        fresh = known is None or time.monotonic() - known[1] > BUDGET_REFRESH_SECONDS
        read = _read_day(table, api_key_id, day) if fresh else None
        budget = read.budget if read is not None else known[0] if known is not None else Decimal(0)
        for _ in range(3):
            if once and (held := _held(read, hold, now)) is not None:
                return held, False
            if read is not None and not _admits(table, api_key_id, day, read, now):
                break
            if budget > 0 and _try_reserve(table, hold, budget, until, once=once):
                return hold, True
            read = _read_day(table, api_key_id, day)  # refused: the day may hold expired holds
            budget = read.budget
        if once and (held := _held(read, hold, now)) is not None:
            return held, False
    except Exception:
        logger.exception("spend ledger not readable; budget not checked", extra={"api_key_id": api_key_id})
        metrics.add_metric(name="SpendLedgerErrors", unit=MetricUnit.Count, value=1)
        return None
    settled = read.settled() if read is not None else Decimal(0)
    reserved = sum(read.live(now).values(), Decimal(0)) if read is not None else Decimal(0)
    raise budget_refusal(api_key_id, settled, reserved, budget, now)


def _held(read: _Day | None, hold: Hold, now: float) -> Hold | None:
    """The live hold of `hold`'s id on the day as read (its amount as held), else None (an expired
    one is reaped by `_admits` and reserved again)."""
    found = read.live(now).get(hold.hold_id) if read is not None else None
    return Hold(hold.api_key_id, hold.day, hold.hold_id, found) if found is not None else None


def _try_reserve(table: str, hold: Hold, budget: Decimal, until: float, *, once: bool = False) -> bool:
    """The one conditional write: hold `hold.amount` while the day has budget left (a day with
    nothing on it yet starts at 0; one that settled without reserving is seeded by `_admits`);
    `once`: and while no hold of its id is there."""
    amount = {"N": format(hold.amount, "f")}
    try:
        get_ledger_client().update_item(
            TableName=table,
            Key={"pk": {"S": hold.api_key_id}, "sk": {"S": hold.day}},
            UpdateExpression="SET committed_usd = if_not_exists(committed_usd, :zero) + :most, #hold = :hold",
            ConditionExpression=("attribute_not_exists(#hold) AND (" if once else "(")
            + "(attribute_not_exists(committed_usd) AND attribute_not_exists(cost_usd)) "
            "OR committed_usd < :budget)",
            ExpressionAttributeNames={"#hold": HOLD_PREFIX + hold.hold_id},
            ExpressionAttributeValues={
                ":zero": {"N": "0"},
                ":most": amount,
                ":budget": {"N": format(budget, "f")},
                ":hold": {"M": {"usd": amount, "until": {"N": str(int(until) + 1)}}},
            },
        )
    except DynamoDBError as exc:
        if _error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _admits(table: str, api_key_id: str, day: str, read: _Day, now: float) -> bool:
    """Whether the day as read has budget left, once repaired: expired holds dropped and
    `committed_usd` = settled + live holds, in one write conditional on `committed_usd` being
    what was read (a day not reserved on yet needs none)."""
    live = read.live(now)
    expected = read.settled() + sum(live.values(), Decimal(0))
    item = read.item
    if item is None:
        return expected < read.budget
    if "committed_usd" not in item:
        # Settled without reserving (a ledger that failed open, a day from before reservations):
        # `committed_usd` starts from what it settled.
        get_ledger_client().update_item(
            TableName=table,
            Key={"pk": {"S": api_key_id}, "sk": {"S": day}},
            UpdateExpression="SET committed_usd = if_not_exists(committed_usd, :settled)",
            ExpressionAttributeValues={":settled": {"N": format(expected, "f")}},
        )
        return expected < read.budget
    expired = read.expired(now)
    current = item["committed_usd"].get("N")
    if not expired and current is not None and Decimal(current) == expected:
        return expected < read.budget
    names = {f"#e{index}": HOLD_PREFIX + hold_id for index, hold_id in enumerate(expired)}
    if expired:
        logger.warning(
            "expired spend reservations released",
            extra={"api_key_id": api_key_id, "day": day, "holds": expired},
        )
        metrics.add_metric(name="SpendHoldsExpired", unit=MetricUnit.Count, value=len(expired))
    arguments: dict[str, Any] = {
        "TableName": table,
        "Key": {"pk": {"S": api_key_id}, "sk": {"S": day}},
        "UpdateExpression": "SET committed_usd = :expected"
        + (f" REMOVE {', '.join(names)}" if names else ""),
        "ConditionExpression": " AND ".join(
            ["committed_usd = :seen", *(f"attribute_exists({alias})" for alias in names)]
        ),
        "ExpressionAttributeValues": {
            ":expected": {"N": format(expected, "f")},
            ":seen": item["committed_usd"],
        },
    }
    if names:
        arguments["ExpressionAttributeNames"] = names
    try:
        get_ledger_client().update_item(**arguments)
    except DynamoDBError as exc:
        if _error_code(exc) != "ConditionalCheckFailedException":
            raise
        return True  # the day moved since the read: the reservation's own condition decides
    return expected < read.budget


def set_daily_budget(api_key_id: str, usd: Decimal) -> None:
    """Give the key its own daily budget (USD): its budget item `{pk: budget#<id>, sk: budget}`
    (what operators write; the generation roles may not write in a `budget#` partition).
    Containers apply it within `BUDGET_REFRESH_SECONDS`, this one at once."""
    table = _table()
    if table is None:
        raise ConfigurationError("service misconfigured: environment variable SPEND_TABLE is not set")
    get_ledger_client().put_item(
        TableName=table,
        Item={**budget_key(api_key_id), "daily_budget_usd": {"N": format(usd, "f")}},
    )
    _budgets.pop(api_key_id, None)


# --- settle --------------------------------------------------------------------------------------


def settle(
    api_key_id: str, function: str, meter: Meter | None, holds: Iterable[Hold], *, once: str | None = None
) -> None:
    """End an invocation for one key: ONE UpdateItem per day held on (one in the common case)
    releases its holds and adds its usage (`meter`, None: nothing was paid) to the day it first
    reserved on, whatever the outcome; then, at most once per key and day, announce
    `BudgetThresholdReached` when the day crossed the alarm share.

    `once`: a settle id (a durable job's start, whose settle a replay may run again): the write
    also sets `settled#<once>` on the day, conditional on its absence, so a repeat changes nothing
    (not even a hold reaped meanwhile is charged twice); and a failed write RAISES, so the job's
    step retries it (at least once + idempotent = exactly once), instead of being logged and
    skipped as a request's settle is."""
    table = _table()
    if table is None:
        return
    now = budgets.clock()
    by_day: dict[str, dict[str, Decimal]] = {}
    # Days whose every hold is known to be live now: none of them can have been reaped, so if they
    # are all gone when the write is refused, it was this very write, applied once already (the
    # client re-sends an UpdateItem whose answer was lost, e.g. past its read timeout:
    # `contentgen.clients.dynamodb`).
    live: dict[str, bool] = {}
    for hold in holds:
        by_day.setdefault(hold.day, {})[hold.hold_id] = hold.amount
        live[hold.day] = live.get(hold.day, True) and hold.until > now
    charge_day = next(iter(by_day), utc_day(now))
    usage = meter.as_usage() if meter is not None else None
    cost = meter.cost_usd if meter is not None and meter.cost_usd is not None else Decimal(0)
    for day in sorted({charge_day, *by_day}):
        adds: dict[str, str] = {}
        if day == charge_day and usage is not None:
            adds = {
                "requests": "1",
                "provider_requests": str(usage["provider_requests"]),
                "prompt_tokens": str(usage["prompt_tokens"] or 0),
                "completion_tokens": str(usage["completion_tokens"] or 0),
                "cost_usd": format(cost, "f"),
                f"fn#{function}#requests": "1",
                f"fn#{function}#cost_usd": format(cost, "f"),
            }
        elif day == charge_day and not by_day.get(day):
            continue
        try:
            stored = _settle_day(
                table, api_key_id, day, adds, by_day.get(day, {}), once, ours_if_gone=live.get(day, False)
            )
        except Exception:
            if once is not None:
                raise  # a durable job's step: retried, and the `settled#` marker keeps it single
            logger.exception(
                "spend not recorded",
                extra={"api_key_id": api_key_id, "day": day, "function": function, **(usage or {})},
            )
            metrics.add_metric(name="SpendLedgerErrors", unit=MetricUnit.Count, value=1)
            continue
        if adds:
            _maybe_alarm(table, api_key_id, day, stored.get("Attributes", {}), now)


def _settle_day(
    table: str,
    api_key_id: str,
    day: str,
    adds: dict[str, str],
    held: dict[str, Decimal],
    once: str | None = None,
    *,
    ours_if_gone: bool = False,
) -> dict[str, Any]:
    """Release `held` and add `adds` on one day: conditional on the holds still being there; a
    hold reaped meanwhile (expired) is no longer released; a total that is not a number (an
    operator's edit) restarts from this charge, logged and counted. With `once`, a day already
    settled under that id is left as it is (answered `{}`). With `ours_if_gone` (every hold of
    `held` was live when the settle began, so none can have been reaped), a refusal that finds
    all of them gone means this write was applied already: the SDK re-sent it after its answer was
    lost. It is not written again (answered `{}`): ADD is not idempotent, so a second write would
    charge the invocation twice."""
    reset: set[str] = set()
    touch_committed = True
    for _ in range(4):
        try:
            return _settle_write(table, api_key_id, day, adds, held, reset, touch_committed, once)
        except DynamoDBError as exc:
            code = _error_code(exc)
            if code == "ConditionalCheckFailedException":
                items = _query(table, api_key_id, day)
                item = next((found for found in items if found["sk"]["S"] == day), {})
                if once is not None and SETTLED_PREFIX + once in item:
                    logger.info("spend already settled", extra={"api_key_id": api_key_id, "settle_id": once})
                    return {}
                present = _holds(item)  # a hold reaped meanwhile (expired) is not released again
                # (not after a refused ValidationException: moto applies such a write's REMOVE)
                if (
                    ours_if_gone
                    and once is None
                    and not reset
                    and held
                    and not any(h in present for h in held)
                ):
                    logger.info(
                        "spend already settled: an earlier send of this write was applied",
                        extra={"api_key_id": api_key_id, "day": day, "holds": sorted(held)},
                    )
                    return {}
                held = {hold_id: amount for hold_id, amount in held.items() if hold_id in present}
                touch_committed = "committed_usd" in item
                continue
            corrupted = (
                _corrupted(exc, table, api_key_id, day, adds) if code == "ValidationException" else set()
            )
            if not corrupted or corrupted <= reset:
                raise
            logger.error(
                "spend day item corrupted; totals restarted",
                extra={"api_key_id": api_key_id, "day": day, "attributes": sorted(corrupted)},
            )
            metrics.add_metric(name="SpendLedgerCorrupt", unit=MetricUnit.Count, value=1)
            reset |= corrupted
    raise RuntimeError(f"spend day {day} kept changing while it was settled")


def _settle_write(
    table: str,
    api_key_id: str,
    day: str,
    adds: dict[str, str],
    held: dict[str, Decimal],
    reset: set[str],
    touch_committed: bool,
    once: str | None = None,
) -> dict[str, Any]:
    """One atomic UpdateItem: ADD `adds` (attribute -> decimal string; those in `reset` are SET,
    only while they are still not numbers), REMOVE the holds in `held` and move `committed_usd`
    by cost - held."""
    names = {f"#a{index}": name for index, name in enumerate(adds)}
    values: dict[str, Any] = {f":v{index}": {"N": value} for index, value in enumerate(adds.values())}
    values[":expires"] = {"N": str(_expires(day))}
    values[":never"] = {"N": "0"}
    # alarmed_at is written (kept) so UPDATED_NEW returns it: the roles may not ask for ALL_NEW.
    sets = [
        "expires_at = if_not_exists(expires_at, :expires)",
        "alarmed_at = if_not_exists(alarmed_at, :never)",
    ]
    sets += [f"{alias} = {alias.replace('#a', ':v')}" for alias, name in names.items() if name in reset]
    added = [f"{alias} {alias.replace('#a', ':v')}" for alias, name in names.items() if name not in reset]
    conditions: list[str] = []
    hold_names = {f"#h{index}": HOLD_PREFIX + hold_id for index, hold_id in enumerate(held)}
    if touch_committed:
        delta = Decimal(adds.get("cost_usd", "0")) - sum(held.values(), Decimal(0))
        values[":delta"] = {"N": format(delta, "f")}
        sets.append("committed_usd = committed_usd + :delta")
        conditions.append("attribute_exists(committed_usd)")
    conditions += [f"attribute_exists({alias})" for alias in hold_names]
    if once is not None:
        hold_names["#once"] = SETTLED_PREFIX + once
        values[":settled_at"] = {"N": str(int(budgets.clock()))}
        sets.append("#once = :settled_at")
        conditions.append("attribute_not_exists(#once)")
    if reset:
        values[":number"] = {"S": "N"}
        conditions += [f"NOT attribute_type({a}, :number)" for a, name in names.items() if name in reset]
    expression = f"SET {', '.join(sets)}"
    released = [alias for alias in hold_names if alias != "#once"]
    if released:
        expression += f" REMOVE {', '.join(released)}"
    if added:
        expression += f" ADD {', '.join(added)}"
    arguments: dict[str, Any] = {
        "TableName": table,
        "Key": {"pk": {"S": api_key_id}, "sk": {"S": day}},
        "UpdateExpression": expression,
        "ExpressionAttributeNames": {**names, **hold_names} or None,
        "ExpressionAttributeValues": values,
        "ReturnValues": "UPDATED_NEW",
    }
    if not arguments["ExpressionAttributeNames"]:
        del arguments["ExpressionAttributeNames"]
    if conditions:
        arguments["ConditionExpression"] = " AND ".join(conditions)
    return get_ledger_client().update_item(**arguments)


def _corrupted(exc: Exception, table: str, api_key_id: str, day: str, adds: dict[str, str]) -> set[str]:
    """The day's attributes among `adds` that are not numbers, when DynamoDB refused the ADD for
    a type mismatch; empty otherwise."""
    # A Query, the read the role already has for budgets (no GetItem grant for this rare path).
    found = get_ledger_client().query(
        TableName=table,
        KeyConditionExpression="pk = :key AND sk = :day",
        ExpressionAttributeValues={":key": {"S": api_key_id}, ":day": {"S": day}},
        ConsistentRead=True,
    )
    item = (found.get("Items") or [{}])[0]
    return {name for name in adds if name in item and "N" not in item[name]}


def _maybe_alarm(table: str, api_key_id: str, day: str, item: dict[str, Any], now: float) -> None:
    """After a charge (`item`: the day's updated attributes), announce the threshold when the
    day's settled spend crossed it against the key's budget (as this container knows it; read
    once when it never reserved for the key: a durable job settling a hold its starter made)."""
    threshold = Decimal(str(get_settings().budget_alarm_threshold))
    if threshold <= 0 or not item or _number(item, "alarmed_at") > 0:
        return  # off, settled already (a repeat of a settle made once), or announced today
    budget = budget_of(api_key_id)
    if budget is None:
        try:
            budget = _read_day(table, api_key_id, day).budget
        except Exception:
            logger.exception("budget not readable; alarm not checked", extra={"api_key_id": api_key_id})
            return
    spent = _settled(item)
    if spent >= budget * threshold:
        _announce_threshold(table, api_key_id, day, budget, spent, threshold, now)


def _announce_threshold(
    table: str, api_key_id: str, day: str, budget: Decimal, spent: Decimal, threshold: Decimal, now: float
) -> None:
    """`BudgetThresholdReached` on the bus, once per key and day (a conditional write elects it)."""
    try:
        get_ledger_client().update_item(
            TableName=table,
            Key={"pk": {"S": api_key_id}, "sk": {"S": day}},
            UpdateExpression="SET alarmed_at = :now",
            ConditionExpression="attribute_not_exists(alarmed_at) OR alarmed_at = :never",
            ExpressionAttributeValues={":now": {"N": str(int(now))}, ":never": {"N": "0"}},
        )
    except DynamoDBError as exc:
        if exc.code != "ConditionalCheckFailedException":
            logger.exception("budget alarm not recorded", extra={"api_key_id": api_key_id})
        return
    detail = {
        "api_key_id": api_key_id,
        "day": day,
        "spent_usd": float(spent),
        "daily_budget_usd": float(budget),
        "threshold": float(threshold),
    }
    logger.warning("budget threshold reached", extra=detail)
    bus = get_settings().event_bus_name
    if bus is None:
        return
    try:
        get_events_client().put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": "BudgetThresholdReached",
                    "Detail": json.dumps(detail),
                    "EventBusName": bus,
                }
            ]
        )
    except Exception:
        logger.exception("budget alarm not published", extra={"api_key_id": api_key_id})


# --- GET /usage ---------------------------------------------------------------------------------


def _day_totals(items: list[dict[str, Any]], day: str) -> dict[str, Any]:
    functions: dict[str, dict[str, Any]] = {}
    totals = {"requests": 0, "provider_requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
    cost = Decimal(0)
    for item in items:
        for name in totals:
            totals[name] += int(_number(item, name))
        cost += _number(item, "cost_usd")
        for attribute in item:
            if attribute.startswith("fn#"):
                _, function, metric = attribute.split("#", 2)
                entry = functions.setdefault(function, {"requests": 0, "cost_usd": Decimal(0)})
                entry[metric] += (
                    _number(item, attribute) if metric == "cost_usd" else int(_number(item, attribute))
                )
    return {
        "day": day,
        **totals,
        "cost_usd": float(cost),
        "functions": {
            name: {"requests": entry["requests"], "cost_usd": float(entry["cost_usd"])}
            for name, entry in sorted(functions.items())
        },
    }


def usage_report(api_key_id: str) -> dict[str, Any]:
    """The key's spend today and over the last 30 days (today included), and its budget.

    Shape: `contentgen.models.usage.UsageReport`. Raises `ConfigurationError` (503) without
    SPEND_TABLE.
    """

    table = _table()
    if table is None:
        raise ConfigurationError("service misconfigured: environment variable SPEND_TABLE is not set")
    now = budgets.clock()
    today = utc_day(now)
    first = utc_day(now - (HISTORY_DAYS - 1) * 86400)
    items = _query(table, api_key_id, first)
    budget = _budget(table, api_key_id)
    days = sorted(
        # "budget" sorts after every day: a budget item of the old layout is not a day.
        (item for item in items if item["sk"]["S"] != BUDGET_SK and item["sk"]["S"] <= today),
        key=lambda item: str(item["sk"]["S"]),
    )
    today_items = [item for item in days if item["sk"]["S"] == today]
    spent_today = sum((_settled(item) for item in today_items), Decimal(0))
    reserved_today = sum(
        (usd for item in today_items for usd, until in _holds(item).values() if until > now), Decimal(0)
    )
    return {
        "api_key_id": api_key_id,
        "day": today,
        "daily_budget_usd": float(budget),
        "settled_today_usd": float(spent_today),
        "reserved_today_usd": float(reserved_today),
        "remaining_today_usd": float(max(Decimal(0), budget - spent_today - reserved_today)),
        "today": _day_totals(today_items, today),
        "last_30_days": _day_totals(days, first),
        "days": [_day_totals([item], str(item["sk"]["S"])) for item in days],
    }


# A hold never outlives this (Lambda's longest timeout) plus the margin, whatever the deadline says.
_LONGEST_INVOCATION_SECONDS = 900.0


# The reservation the current provider request runs under (USD), on its own thread's context.
_claim: ContextVar[Decimal | None] = ContextVar("contentgen_reservation_claim", default=None)


@dataclass
class Reservations:
    """The meter's guard for one invocation: before each provider request with a price, reserve
    its most on every charged key (`contentgen.stores.ledger.reserve`, one conditional write per
    key); remember the holds (across fan-out threads) for the settle. A request that reported no
    cost (a failed attempt) hands its reservation back to the invocation, so its retry (or the
    next model) runs under it without reserving again; a paid request's reservation is used up."""

    keys: tuple[str, ...]
    holds: list[Hold] = field(default_factory=list)
    unused: Decimal = Decimal(0)  # reserved by requests that reported no cost, for the next
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, most_usd: Decimal | None) -> None:
        if most_usd is None or most_usd <= 0:
            _claim.set(None)
            return  # no known price: nothing is charged for it either
        with self._lock:
            if self.unused >= most_usd:
                self.unused -= most_usd
                _claim.set(most_usd)
                return
        remaining = min(max(current_deadline().remaining(), 0.0), _LONGEST_INVOCATION_SECONDS)
        until = budgets.clock() + remaining + HOLD_MARGIN_SECONDS
        taken: list[Hold] = []
        try:
            for api_key_id in self.keys:
                hold = reserve(api_key_id, most_usd, until)
                if hold is not None:
                    taken.append(hold)
        finally:
            with self._lock:
                self.holds.extend(taken)  # a refusal of the second key leaves the first's hold to release
        _claim.set(most_usd)

    def after(self, cost_usd: float | None) -> None:
        """After a provider request: one that reported no cost leaves its reservation unused."""
        claimed = _claim.get()
        _claim.set(None)
        if claimed is not None and not cost_usd:
            with self._lock:
                self.unused += claimed

    def of(self, api_key_id: str) -> list[Hold]:
        with self._lock:
            return [hold for hold in self.holds if hold.api_key_id == api_key_id]
