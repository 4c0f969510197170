"""Spend per API key and day, and daily budgets enforced before any provider is paid.

The ledger is one DynamoDB table (`SPEND_TABLE`), partition key `pk` = the API key's id (API
Gateway's `requestContext.identity.apiKeyId`; for event-triggered and direct invocations the
message's `api_key_id` AND `PIPELINE_API_KEY_ID` (both checked, both charged: inventing ids in
messages dodges no budget), else `PIPELINE_API_KEY_ID`), sort key `sk`:

- `sk` = a UTC day `YYYY-MM-DD`: that day's totals, `requests`, `provider_requests`,
  `prompt_tokens`, `completion_tokens`, `cost_usd` (USD, exact decimal sums) and per function
  `fn#<function>#requests` / `fn#<function>#cost_usd`; `expires_at` (TTL,
  `SPEND_RETENTION_DAYS`); `alarmed_at` once `BudgetThresholdReached` was sent that day.
- `sk` = `budget`: `daily_budget_usd`, the key's own daily budget (else `DAILY_BUDGET_USD`).

Every generation route (the POSTs) goes through `contentgen.entrypoints.spend.spend_middleware` (a Powertools middleware
registered by `contentgen.entrypoints.api.create_app`): it reads the key's spend today and its budget with one
consistent Query (`sk >= today` returns today's item and the budget item) and refuses a key at or
over its budget with 429 `budget_exceeded` and `Retry-After` until 00:00 UTC, before any provider
request. Otherwise the route runs under a usage meter whose guard refuses every further provider
request (429 `budget_exceeded`, with the paid `partial` where the service returns partials) once
the standing read at the start plus the invocation's running cost reaches the budget (no extra
read per request) (`contentgen.billing.meter`); afterwards the
invocation's requests, tokens and cost are added with ONE atomic UpdateItem, whatever the outcome
(a failed request that was paid for is charged too), and a success answer gets `usage`.

Overshoot: the check and the charge are not one transaction. Invocations of one key that pass the
check at the same time all run, so a key can end a day over its budget by at most the cost of the
invocations that were in flight when it crossed it; within one invocation the guard bounds that to
one provider request's cost (requests already running on fan-out threads finish); the next
invocation is refused. The ledger's totals stay exact (ADD is atomic).

When the ledger cannot be read or written, generation goes on (fail open): the failure is logged
with the amounts (`spend not recorded`, for reconciliation) and counted (`SpendLedgerErrors`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from aws_lambda_powertools.metrics import MetricUnit

from contentgen.billing import budgets
from contentgen.billing.budgets import KeyDay, refuse_over_budget, utc_day
from contentgen.billing.meter import Meter
from contentgen.clients.aws import get_dynamodb_client, get_events_client
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError
from contentgen.observability import logger, metrics

BUDGET_SK = "budget"
EVENT_SOURCE = "contentgen"
HISTORY_DAYS = 30


def _table() -> str | None:
    return get_settings().spend_table


def _number(item: dict[str, Any], name: str) -> Decimal:
    value = item.get(name, {}).get("N")
    return Decimal(value) if value is not None else Decimal(0)


def _query(table: str, api_key_id: str, first_day: str) -> list[dict[str, Any]]:
    """The key's day items from `first_day` on, and its budget item (one consistent Query)."""
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND sk >= :first",
        "ExpressionAttributeValues": {":pk": {"S": api_key_id}, ":first": {"S": first_day}},
        "ConsistentRead": True,
    }
    while True:
        page = get_dynamodb_client().query(**arguments)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _budget(items: list[dict[str, Any]]) -> Decimal:
    """The key's own budget item, when it is a non-negative finite number; else DAILY_BUDGET_USD
    (an invalid item is logged at WARNING and counted as `InvalidBudgetItems`)."""
    for item in items:
        if item["sk"]["S"] == BUDGET_SK and "daily_budget_usd" in item:
            value = item["daily_budget_usd"]
            try:
                budget = Decimal(value["N"]) if isinstance(value, dict) and "N" in value else None
            except ArithmeticError:
                budget = None
            if budget is not None and budget.is_finite() and budget >= 0:
                return budget
            logger.warning(
                "invalid budget item ignored; the default budget applies",
                extra={"api_key_id": item.get("pk", {}).get("S"), "daily_budget_usd": str(value)},
            )
            metrics.add_metric(name="InvalidBudgetItems", unit=MetricUnit.Count, value=1)
    return Decimal(str(get_settings().daily_budget_usd))


def check_budget(api_key_id: str) -> KeyDay | None:
    """Raise `BudgetExceededError` (429, Retry-After until 00:00 UTC) when the key has spent its
    budget today; its standing otherwise, None when the ledger could not be read (fail open)."""
    table = _table()
    if table is None:
        return None
    now = budgets.clock()
    day = utc_day(now)
    try:
        items = _query(table, api_key_id, day)
    except Exception:
        logger.exception("spend ledger not readable; budget not checked", extra={"api_key_id": api_key_id})
        metrics.add_metric(name="SpendLedgerErrors", unit=MetricUnit.Count, value=1)
        return None
    spent = sum((_number(item, "cost_usd") for item in items if item["sk"]["S"] == day), Decimal(0))
    standing = KeyDay(api_key_id, day, spent, _budget(items))
    refuse_over_budget(standing, Decimal(0), now)
    return standing


def charge(api_key_id: str, function: str, meter: Meter, standing: KeyDay | None) -> None:
    """Add one invocation's usage to the key's day with one atomic UpdateItem; then, at most once
    per key and day, announce `BudgetThresholdReached` when the day crossed the alarm share."""
    table = _table()
    if table is None:
        return
    settings = get_settings()
    now = budgets.clock()
    day = standing.day if standing is not None else utc_day(now)
    usage = meter.as_usage()
    cost = meter.cost_usd if meter.cost_usd is not None else Decimal(0)
    expires = int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
    expires += settings.spend_retention_days * 86400
    adds = {
        "requests": "1",
        "provider_requests": str(usage["provider_requests"]),
        "prompt_tokens": str(usage["prompt_tokens"] or 0),
        "completion_tokens": str(usage["completion_tokens"] or 0),
        "cost_usd": format(cost, "f"),
        f"fn#{function}#requests": "1",
        f"fn#{function}#cost_usd": format(cost, "f"),
    }
    try:
        try:
            stored = _add_to_day(table, api_key_id, day, adds, expires)
        except Exception as exc:
            corrupted = _corrupted(exc, table, api_key_id, day, adds)
            if not corrupted:
                raise
            # A total that is not a number (an operator's edit) would make every ADD fail and
            # leave the key unbudgeted all day: it restarts from this charge, logged and counted.
            logger.error(
                "spend day item corrupted; totals restarted",
                extra={"api_key_id": api_key_id, "day": day, "attributes": sorted(corrupted)},
            )
            metrics.add_metric(name="SpendLedgerCorrupt", unit=MetricUnit.Count, value=1)
            stored = _add_to_day(table, api_key_id, day, adds, expires, reset=corrupted)
    except Exception:
        logger.exception(
            "spend not recorded",
            extra={"api_key_id": api_key_id, "day": day, "function": function, **usage},
        )
        metrics.add_metric(name="SpendLedgerErrors", unit=MetricUnit.Count, value=1)
        return
    item = stored.get("Attributes", {})
    threshold = Decimal(str(settings.budget_alarm_threshold))
    if standing is None or threshold <= 0 or "alarmed_at" in item:
        return
    spent = _number(item, "cost_usd")
    if spent >= standing.budget_usd * threshold:
        _announce_threshold(table, standing, spent, threshold, now)


def _add_to_day(
    table: str,
    api_key_id: str,
    day: str,
    adds: dict[str, str],
    expires: int,
    *,
    reset: set[str] | None = None,
) -> dict[str, Any]:
    """One atomic UpdateItem adding `adds` (attribute → decimal string) to the key's day; the
    attributes in `reset` are SET to the amount instead, only while they are still not numbers."""
    reset = reset or set()
    names = {f"#a{index}": name for index, name in enumerate(adds)}
    values: dict[str, Any] = {f":v{index}": {"N": value} for index, value in enumerate(adds.values())}
    values[":expires"] = {"N": str(expires)}
    sets = ["expires_at = if_not_exists(expires_at, :expires)"]
    sets += [f"{alias} = {alias.replace('#a', ':v')}" for alias, name in names.items() if name in reset]
    added = [f"{alias} {alias.replace('#a', ':v')}" for alias, name in names.items() if name not in reset]
    arguments: dict[str, Any] = {
        "TableName": table,
        "Key": {"pk": {"S": api_key_id}, "sk": {"S": day}},
        "UpdateExpression": f"SET {', '.join(sets)}" + (f" ADD {', '.join(added)}" if added else ""),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValues": "ALL_NEW",
    }
    if reset:
        values[":number"] = {"S": "N"}
        aliases = [alias for alias, name in names.items() if name in reset]
        arguments["ConditionExpression"] = " AND ".join(f"NOT attribute_type({a}, :number)" for a in aliases)
    return cast(dict[str, Any], get_dynamodb_client().update_item(**arguments))


def _corrupted(exc: Exception, table: str, api_key_id: str, day: str, adds: dict[str, str]) -> set[str]:
    """The day's attributes among `adds` that are not numbers, when `exc` is DynamoDB refusing the
    ADD for a type mismatch; empty otherwise."""
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError) or exc.response.get("Error", {}).get("Code") != "ValidationException":
        return set()
    # A Query, the read the role already has for budget checks (no GetItem grant for this rare path).
    found = get_dynamodb_client().query(
        TableName=table,
        KeyConditionExpression="pk = :key AND sk = :day",
        ExpressionAttributeValues={":key": {"S": api_key_id}, ":day": {"S": day}},
        ConsistentRead=True,
    )
    item = (found.get("Items") or [{}])[0]
    return {name for name in adds if name in item and "N" not in item[name]}


def _announce_threshold(table: str, standing: KeyDay, spent: Decimal, threshold: Decimal, now: float) -> None:
    """`BudgetThresholdReached` on the bus, once per key and day (a conditional write elects it)."""
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    try:
        get_dynamodb_client().update_item(
            TableName=table,
            Key={"pk": {"S": standing.api_key_id}, "sk": {"S": standing.day}},
            UpdateExpression="SET alarmed_at = :now",
            ConditionExpression="attribute_not_exists(alarmed_at)",
            ExpressionAttributeValues={":now": {"N": str(int(now))}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            logger.exception("budget alarm not recorded", extra={"api_key_id": standing.api_key_id})
        return
    detail = {
        "api_key_id": standing.api_key_id,
        "day": standing.day,
        "spent_usd": float(spent),
        "daily_budget_usd": float(standing.budget_usd),
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
        logger.exception("budget alarm not published", extra={"api_key_id": standing.api_key_id})


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
    budget = _budget(items)
    days = sorted(
        (item for item in items if item["sk"]["S"] != BUDGET_SK and item["sk"]["S"] <= today),
        key=lambda item: str(item["sk"]["S"]),
    )
    today_items = [item for item in days if item["sk"]["S"] == today]
    spent_today = sum((_number(item, "cost_usd") for item in today_items), Decimal(0))
    return {
        "api_key_id": api_key_id,
        "day": today,
        "daily_budget_usd": float(budget),
        "remaining_today_usd": float(max(Decimal(0), budget - spent_today)),
        "today": _day_totals(today_items, today),
        "last_30_days": _day_totals(days, first),
        "days": [_day_totals([item], str(item["sk"]["S"])) for item in days],
    }
