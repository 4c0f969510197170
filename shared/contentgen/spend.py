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

Every generation route (the POSTs) goes through `spend_middleware` (a Powertools middleware
registered by `contentgen.api.create_app`): it reads the key's spend today and its budget with one
consistent Query (`sk >= today` returns today's item and the budget item) and refuses a key at or
over its budget with 429 `budget_exceeded` and `Retry-After` until 00:00 UTC, before any provider
request. Otherwise the route runs under a usage meter whose guard refuses every further provider
request (429 `budget_exceeded`, with the paid `partial` where the service returns partials) once
the standing read at the start plus the invocation's running cost reaches the budget (no extra
read per request) (`contentgen.usage`); afterwards the
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

import functools
import json
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from contentgen.config import get_settings
from contentgen.connectors.aws import get_dynamodb_client, get_events_client
from contentgen.errors import ContentgenError, ForbiddenError
from contentgen.observability import logger, metrics
from contentgen.usage import Meter, metered

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

T = TypeVar("T")

# The clock of the ledger (days, Retry-After, TTL); tests replace it to cross midnight.
clock: Callable[[], float] = time.time

BUDGET_SK = "budget"
EVENT_SOURCE = "contentgen"
HISTORY_DAYS = 30


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
class _EventCharge:
    api_key_id: str | None  # the key the message names


# Set by contentgen.events for event-triggered invocations.
_charged_key: ContextVar[_EventCharge | None] = ContextVar("contentgen_charged_key", default=None)


def charged_to(api_key_id: str | None, call: Callable[[], T]) -> Callable[[], T]:
    """`call`, an event-triggered request, charging what it runs to `api_key_id` and, always, to
    the pipeline key (`PIPELINE_API_KEY_ID`): a message cannot escape the pipeline's budget."""

    def charged() -> T:
        token = _charged_key.set(_EventCharge(api_key_id))
        try:
            return call()
        finally:
            _charged_key.reset(token)

    return charged


@dataclass(frozen=True)
class Invocation:
    function: str | None
    api_key_id: str | None


# Set by the function's handler from its own event and context. Powertools keeps the resolver's
# current event and context on the class (one per process, which is one invocation at a time in
# Lambda); this copy stays right when several functions share a process (tests, the local stack).
_invocation: ContextVar[Invocation | None] = ContextVar("contentgen_invocation", default=None)


def invocation_scope(handler: Callable[[Any, Any], T]) -> Callable[[Any, Any], T]:
    """Wrap a Lambda handler: while it runs, remember the function's name (from the context) and,
    in a REST proxy event, the caller's API key id."""

    @functools.wraps(handler)
    def scoped(event: Any, context: Any) -> T:
        from contentgen.api import is_rest_proxy_event  # contentgen.api imports this module

        # Only API Gateway puts the caller's key in a REST proxy event; any other event's
        # `requestContext` was written by whoever sent it.
        rest = is_rest_proxy_event(event)
        request_context = event.get("requestContext") if rest else None
        identity = request_context.get("identity") if isinstance(request_context, dict) else None
        api_key_id = identity.get("apiKeyId") if isinstance(identity, dict) else None
        token = _invocation.set(
            Invocation(
                function=getattr(context, "function_name", None),
                api_key_id=str(api_key_id) if api_key_id else None,
            )
        )
        try:
            return handler(event, context)
        finally:
            _invocation.reset(token)

    return scoped


def api_key_id_of(event: APIGatewayProxyEvent) -> str | None:
    """The API key id API Gateway put in the proxy event (None when the route needs no key)."""
    invocation = _invocation.get()
    if invocation is not None:
        return invocation.api_key_id
    return event.request_context.identity.api_key_id or None


def charged_keys(event: APIGatewayProxyEvent) -> tuple[str, ...]:
    """Who pays for this request: the caller's API key over HTTP; for an event-triggered request
    the key the message names and the pipeline key (each checked against its budget, each
    charged); otherwise the pipeline key."""
    caller = api_key_id_of(event)
    if caller:
        return (caller,)
    pipeline = get_settings().pipeline_api_key_id
    message = _charged_key.get()
    if message is not None and message.api_key_id and message.api_key_id != pipeline:
        return (message.api_key_id, pipeline)
    return (pipeline,)


def charged_key(event: APIGatewayProxyEvent) -> str:
    """The first key `charged_keys` names (the caller's, else the message's, else the pipeline's)."""
    return charged_keys(event)[0]


@dataclass(frozen=True)
class KeyDay:
    """A key's standing on one day."""

    api_key_id: str
    day: str
    spent_usd: Decimal
    budget_usd: Decimal


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
    now = clock()
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


def _guard(standings: list[KeyDay]) -> Callable[[Decimal], None] | None:
    """The meter's guard: before each provider request, every charged key must still be under
    its budget counting what this invocation has already spent."""
    if not standings:
        return None

    def guard(running_usd: Decimal) -> None:
        now = clock()
        for standing in standings:
            refuse_over_budget(standing, running_usd, now)

    return guard


def charge(api_key_id: str, function: str, meter: Meter, standing: KeyDay | None) -> None:
    """Add one invocation's usage to the key's day with one atomic UpdateItem; then, at most once
    per key and day, announce `BudgetThresholdReached` when the day crossed the alarm share."""
    table = _table()
    if table is None:
        return
    settings = get_settings()
    now = clock()
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


def _function_name(app: APIGatewayRestResolver) -> str:
    invocation = _invocation.get()
    if invocation is not None and invocation.function:
        return invocation.function
    context = app.lambda_context
    name = getattr(context, "function_name", None) if context is not None else None
    return str(name or "unknown")


def _with_usage(response: Response[Any], usage: dict[str, Any]) -> Response[Any]:
    """The success answer with `usage` set (a model's dict, or a JSON object already serialised)."""
    body = response.body
    if isinstance(body, dict):
        body["usage"] = usage
    elif isinstance(body, str | bytes):
        try:
            parsed = json.loads(body)
        except ValueError:
            return response
        if isinstance(parsed, dict):
            parsed["usage"] = usage
            response.body = json.dumps(parsed)
    return response


def _paid_internal_error(meter: Meter) -> ContentgenError:
    """An unexpected error after provider requests were paid: the trace goes to the log (as the
    API's generic handler does), the caller gets the generic 500 with the invocation's `usage`."""
    logger.exception("unhandled error")
    failure = ContentgenError("internal error")
    failure.usage = meter.as_usage()
    return failure


def spend_middleware(
    app: APIGatewayRestResolver, next_middleware: Callable[..., Response[Any]]
) -> Response[Any]:
    """Around every generation route (POST): budget check, usage meter, one charge, `usage`."""
    event = app.current_event
    if event.http_method != "POST":
        return next_middleware(app)
    keys = charged_keys(event)
    standings = [check_budget(api_key_id) for api_key_id in keys]
    with metered() as meter:
        meter.guard = _guard([standing for standing in standings if standing is not None])
        try:
            response = next_middleware(app)
        except ContentgenError as exc:
            if meter.provider_requests:
                exc.usage = meter.as_usage()  # a paid failure says what it cost
            raise
        except Exception as exc:
            if not meter.provider_requests:
                raise
            raise _paid_internal_error(meter) from exc
        finally:
            if meter.provider_requests or meter.cost_usd is not None:
                for api_key_id, standing in zip(keys, standings, strict=True):
                    charge(api_key_id, _function_name(app), meter, standing)
    if 200 <= response.status_code < 300:
        return _with_usage(response, meter.as_usage())
    return response


# --- GET /usage ---------------------------------------------------------------------------------


def calling_key(event: APIGatewayProxyEvent) -> str:
    """The API key id of the caller; `ForbiddenError` (403) when API Gateway named none."""
    api_key_id = api_key_id_of(event)
    if api_key_id is None:
        raise ForbiddenError("this route needs an API key (x-api-key)")
    return api_key_id


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
    from contentgen.errors import ConfigurationError

    table = _table()
    if table is None:
        raise ConfigurationError("service misconfigured: environment variable SPEND_TABLE is not set")
    now = clock()
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
