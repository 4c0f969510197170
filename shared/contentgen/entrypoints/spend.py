"""Spend control around the handlers: who pays for an invocation, and the middleware that
reserves each provider request's most against every charged key's budget before it is paid,
meters the route and settles each key once (the holds released, the actual cost charged).

The rules are `contentgen.billing.budgets`, the ledger `contentgen.stores.ledger` (its module
docstring describes the table, the overshoot bound and the fail-open behaviour).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import Response

from contentgen.billing.meter import Meter, metered
from contentgen.config import get_settings
from contentgen.entrypoints.answers import ModelAnswer, is_rest_proxy_event
from contentgen.errors import ContentgenError, ForbiddenError
from contentgen.observability import logger
from contentgen.stores.ledger import Reservations, settle

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

T = TypeVar("T")


@dataclass(frozen=True)
class _EventCharge:
    api_key_id: str | None  # the key the message names


# Set by contentgen.entrypoints.events for event-triggered invocations.
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


# Set by the function's handler from its own event and context, before the resolver runs (also
# for what an event-triggered invocation does outside it). The resolver's own current event and
# context are per invocation too (`contentgen.entrypoints.api.InvocationResolver`).
_invocation: ContextVar[Invocation | None] = ContextVar("contentgen_invocation", default=None)


def invocation_scope(handler: Callable[[Any, Any], T]) -> Callable[[Any, Any], T]:
    """Wrap a Lambda handler: while it runs, remember the function's name (from the context) and,
    in a REST proxy event, the caller's API key id."""

    @functools.wraps(handler)
    def scoped(event: Any, context: Any) -> T:

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


def _function_name(app: APIGatewayRestResolver) -> str:
    invocation = _invocation.get()
    if invocation is not None and invocation.function:
        return invocation.function
    context = app.lambda_context
    name = getattr(context, "function_name", None) if context is not None else None
    return str(name or "unknown")


def _with_usage(response: Response[Any], usage: dict[str, Any]) -> Response[Any]:
    """The success answer with `usage` set (an answer kept as its model, a model's dict, or a JSON
    object already serialised)."""
    body = response.body
    if type(body) is ModelAnswer:
        body.usage = usage
    elif isinstance(body, dict):
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
    """Around every generation route (POST): a usage meter whose guard reserves each provider
    request's most on every charged key before it is paid (429 `budget_exceeded` when a key has no
    budget left), then one settle per key whatever the outcome, and `usage` on a success."""
    event = app.current_event
    if event.http_method != "POST":
        return _written(next_middleware(app), None)
    keys = charged_keys(event)
    reservations = Reservations(keys)
    with metered() as meter:
        meter.guard = reservations
        meter.after = reservations.after
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
            paid = bool(meter.provider_requests or meter.cost_usd is not None)
            for api_key_id in keys:
                holds = reservations.of(api_key_id)
                if paid or holds:
                    settle(api_key_id, _function_name(app), meter if paid else None, holds)
    if 200 <= response.status_code < 300:
        response = _with_usage(response, meter.as_usage())
    return _written(response, meter)


def _written(response: Response[Any], meter: Meter | None) -> Response[Any]:
    """`response` with an answer kept as its model (`ModelAnswer`, left by response validation)
    written as JSON text here, inside the route's chain: whatever fails there is mapped by the
    API's exception handlers (and, once providers were paid, answered with `usage`) rather than
    escaping from the response builder."""
    body = response.body
    if type(body) is ModelAnswer:
        try:
            response.body = body.json_text()
        except Exception as exc:
            if meter is None or not meter.provider_requests:
                raise
            raise _paid_internal_error(meter) from exc
    return response


def calling_key(event: APIGatewayProxyEvent) -> str:
    """The API key id of the caller; `ForbiddenError` (403) when API Gateway named none."""
    api_key_id = api_key_id_of(event)
    if api_key_id is None:
        raise ForbiddenError("this route needs an API key (x-api-key)")
    return api_key_id
