"""The adapter between Lambda events and the domain services.

`create_app()` gives a Powertools `APIGatewayRestResolver` with request validation and the layer's
one exception-to-response mapping; `lambda_entrypoint()` wraps it with Logger, Metrics and Tracer,
opens the invocation's deadline and accepts:
- API Gateway proxy events, optionally with an `Idempotency-Key` header (`contentgen.stores.idempotency`);
- direct invocations (the request body itself as the event, as from `aws lambda invoke` or Step
  Functions), answered with the same JSON body HTTP would get;
- SQS batches and EventBridge events carrying `request_id` and a request (`contentgen.entrypoints.events`).
Every path runs the same routes, so validation, services and error mapping exist once.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
    OpenAPIResponseValidationMiddleware,
    _is_or_contains_sequence,
    _request_body_to_args,
    _validate_field,
)
from aws_lambda_powertools.event_handler.openapi.compat import (
    ModelField,
    _normalize_errors,
    get_missing_field_error,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from contentgen.config import get_settings
from contentgen.core.deadline import Deadline, deadline_scope
from contentgen.entrypoints import coldstart
from contentgen.entrypoints.answers import (
    ModelAnswer,
    bounded_errors,
    error_response,
    is_rest_proxy_event,
    json_text,
    proxy_event_for,
    response_header,
)
from contentgen.entrypoints.envelope import check_record_batch, is_record_batch, proxy_event_problem
from contentgen.entrypoints.request_body import (
    canonical_json,
    check_value_bounds,
    decode_http_body,
    require_object,
)
from contentgen.entrypoints.spend import invocation_scope, spend_middleware
from contentgen.errors import ConfigurationError, ContentgenError, InvalidRequestError
from contentgen.observability import logger, metrics, traced_handler

Handler = Callable[[Any, LambdaContext], Any]
# A route's hook for an answer given again from the idempotency store: (status_code, body) -> the
# body to answer, e.g. with a fresh presigned URL for the stored object (see `lambda_entrypoint`).
ReplayHook = Callable[[int, Any], Any]

DEFAULT_API_GATEWAY_TIMEOUT = 29.0
# A REST API's integration timeout is 29 s by default, raisable for Regional and private REST APIs
# ("Amazon API Gateway integration timeout limit increase beyond 29 seconds", AWS What's New,
# 2024-06-04; `API_GATEWAY_TIMEOUT_SECONDS`); a `requestTimeEpoch` older than an hour belongs to
# a replayed sample, not a live request.
REPLAYED_EVENT_AGE_SECONDS = 3600.0


def _field_name(location: Any) -> str:
    parts = [str(part) for part in location if part != "body"] if isinstance(location, list | tuple) else []
    return ".".join(parts) or "body"


def _validation_response(exc: RequestValidationError) -> Response[str]:
    problems = list(exc.errors())
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return error_response(400, "invalid_json", "request body is not valid JSON")
    if any(
        problem.get("type") in ("missing", "model_attributes_type")
        and _field_name(problem.get("loc")) == "body"
        for problem in problems
    ):
        message = "request body must be a JSON object"
        return error_response(422, "invalid_request", message, errors=[{"field": "body", "message": message}])
    errors = [
        {"field": _field_name(problem.get("loc")), "message": str(problem.get("msg", "invalid"))}
        for problem in problems
    ]
    summary = "; ".join(f"{error['field']}: {error['message']}" for error in bounded_errors(errors[:5]))
    if len(errors) > 5:
        summary += f"; and {len(errors) - 5} more"
    return error_response(422, "invalid_request", f"invalid request: {summary}", errors=errors)


def _is_response_failure(exc: RequestValidationError) -> bool:
    """Whether Powertools raised `exc` for the route's ANSWER (its response validation, without
    `response_validation_error_http_code`, reports errors located under "response")."""
    for problem in exc.errors():
        location = problem.get("loc")
        if isinstance(location, list | tuple) and location and location[0] == "response":
            return True
    return False


def _answer_code(response: Mapping[str, Any]) -> str | None:
    """The `code` (and, for a 422, the first field) of an error answer, for its log line."""
    try:
        body = json.loads(response.get("body") or "null")
    except (TypeError, ValueError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return None
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    return f"{body['code']}:{first['field']}" if isinstance(first.get("field"), str) else str(body["code"])


# What a resolver is resolving, per invocation: Powertools keeps the current event and Lambda
# context on its `BaseRouter` CLASS (`BaseRouter.current_event = ...` in `resolve()`), i.e. one per
# process for every resolver in it. That is one invocation at a time in Lambda (on demand; and on
# Managed Instances, whose Python runtime runs "each concurrent request in a separate process",
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-python-runtime.html, read
# 2026-12-07), but two invocations resolving at once in one process (the local stack's containers,
# the integration tests' threads) would route and validate each other's events. The routing dict
# (`context`: the matched route, its path arguments, the parsed request) is per resolver instance,
# so one resolver called on two threads would mix those too. These variables hold all three for
# the invocation that set them; the fan-out threads (`contentgen.core.parallel`) run in a copy of
# the invocation's context, so they see its values.
_current_event: ContextVar[APIGatewayProxyEvent | None] = ContextVar("contentgen_current_event", default=None)
_lambda_context: ContextVar[LambdaContext | None] = ContextVar("contentgen_lambda_context", default=None)
_routing: ContextVar[dict[str, Any] | None] = ContextVar("contentgen_routing_context", default=None)
# The body `read_request` put in the proxy event as canonical JSON, with the value that text parses
# to, so request validation takes the value rather than parsing the text again
# (`_RequestValidation._get_body`).
_canonical_body: ContextVar[tuple[str, Any] | None] = ContextVar("contentgen_canonical_body", default=None)


class InvocationResolver(APIGatewayRestResolver):
    """`APIGatewayRestResolver` whose `current_event`, `lambda_context` and routing `context` belong
    to the invocation being resolved (context variables set by `resolve`), not to the process or
    the resolver instance: resolvers resolving at once on several threads of one process never see
    each other's request. Outside `resolve`, `context` is the resolver's own dict (what Powertools
    lets callers append before resolution) and `current_event` raises `LookupError`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._idle_context: dict[str, Any] = {}
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def current_event(self) -> APIGatewayProxyEvent:
        """The REST proxy event of the invocation this thread (or its fan-out copy) is resolving."""
        event = _current_event.get()
        if event is None:
            raise LookupError("no event is being resolved")
        return event

    @current_event.setter
    def current_event(self, value: APIGatewayProxyEvent) -> None:
        _current_event.set(value)

    @property
    def lambda_context(self) -> LambdaContext:
        """The Lambda context of the invocation being resolved."""
        context = _lambda_context.get()
        if context is None:
            raise LookupError("no event is being resolved")
        return context

    @lambda_context.setter
    def lambda_context(self, value: LambdaContext) -> None:
        _lambda_context.set(value)

    @property
    def context(self) -> dict[str, Any]:
        """The routing context of the invocation being resolved (Powertools' `append_context`)."""
        routing = _routing.get()
        return self._idle_context if routing is None else routing

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        if _routing.get() is None:
            self._idle_context = value
        else:
            _routing.set(value)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Powertools' `resolve` with this invocation's event, context and routing dict."""
        tokens = (
            _current_event.set(cast(APIGatewayProxyEvent, self._to_proxy_event(dict(event)))),
            _lambda_context.set(context),
            _routing.set(dict(self._idle_context)),
        )
        try:
            return super().resolve(event, context)
        finally:
            _routing.reset(tokens[2])
            _lambda_context.reset(tokens[1])
            _current_event.reset(tokens[0])


# `_takes_whole_body`'s answers, by the field's id, the field kept with it (so its id is never
# another field's): a route's fields are made once, with its dependant, and never change. A
# function has a few; a process building resolver after resolver (tests) starts again at 1,024.
_whole_body_fields: dict[int, tuple[ModelField, bool]] = {}


def _takes_whole_body(field: ModelField) -> bool:
    """Whether `field` takes the whole body as one model (`Annotated[Model, Body(embed=False)]`,
    the generation routes' shape); worked out once per field (15 µs of a warm request otherwise)."""
    known = _whole_body_fields.get(id(field))
    if known is not None and known[0] is field:
        return known[1]
    answer = _whole_body_answer(field)
    if len(_whole_body_fields) >= 1024:
        _whole_body_fields.clear()
    _whole_body_fields[id(field)] = (field, answer)
    return answer


def _whole_body_answer(field: ModelField) -> bool:
    annotation = field.field_info.annotation
    return bool(
        not getattr(field.field_info, "embed", None)
        and isinstance(annotation, type)
        and issubclass(annotation, BaseModel)
        and not getattr(annotation, "__pydantic_root_model__", False)
        and not _is_or_contains_sequence(annotation)
    )


def _validated_body(body_params: list[ModelField], body: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Powertools' `_request_body_to_args`, for one parameter taking the whole body as a model
    without its generic steps (embedding, sequence normalisation, the alias lookup): the same value
    validated at the same location (`body`), the same "missing" error for no body."""
    if len(body_params) != 1 or not _takes_whole_body(body_params[0]):
        return _request_body_to_args(required_params=body_params, received_body=body)
    field = body_params[0]
    if body is None:
        if field.required:
            return {}, [get_missing_field_error(("body",))]
        return {field.name: field.get_default()}, []
    if isinstance(body, list) and body:
        body = body[0]  # as Powertools does for a field that is not a sequence
    errors: list[dict[str, Any]] = []
    value = _validate_field(field=field, value=body, loc=("body",), existing_errors=errors)
    return {field.name: value}, errors


class _RouteArgs(dict[str, Any]):
    """A route's arguments, shown by name and type: Powertools formats them into a DEBUG line on
    every request whatever the level (`_registered_api_adapter`'s f-string, 3.x), which built the
    text of the whole request model (the caller's prompt) each time: 15 µs of a warm request."""

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{name!r}: {type(value).__name__}" for name, value in self.items()) + "}"


class _RequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, without its parsing of the query string, headers and
    cookies for a route that declares none of them (every generation route: a body only).

    Powertools normalises the query string, the headers (multi-value merged) and the cookies of
    every request before it validates the route's declared parameters of each kind; with none
    declared, each kind validates to nothing, so this skips straight to the body, validated as
    Powertools does (same errors, same locations). A route with path, query, header or cookie
    parameters goes through Powertools' own handler."""

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Response[Any]:
        """Validate the body (the only declared input) and call the next middleware."""
        dependant = app.context["_route"].dependant
        if (
            dependant.path_params
            or dependant.query_params
            or dependant.header_params
            or dependant.cookie_params
        ):
            return super().handler(app, next_middleware)
        values: dict[str, Any] = {}
        if dependant.body_params:
            # Powertools' own parsing of the event's body: over HTTP, the canonical JSON the entry
            # point wrote (keys sorted, so errors about unknown fields come in that order).
            values, errors = _validated_body(dependant.body_params, self._get_body(app))
            if errors:
                raise RequestValidationError(_normalize_errors(errors))
        app.context["_route_args"] = _RouteArgs(values)
        return next_middleware(app)

    def _get_body(self, app: Any) -> Any:
        """Powertools' parsed body: for a body `read_request` wrote (this very text), the value it
        parses to, known already; any other body is parsed by Powertools."""
        known = _canonical_body.get()
        if known is not None and known[0] is app.current_event.get("body"):
            return known[1]
        return super()._get_body(app)


def _validated_by_construction(model: type[BaseModel]) -> bool:
    """Whether validating an instance of `model` would only hand it back: pydantic does not
    validate a model instance again (`revalidate_instances` "never", its default) except through
    the model's own model validators, which run on instances too."""
    return (
        model.model_config.get("revalidate_instances", "never") == "never"
        and not model.__pydantic_decorators__.model_validators
    )


class _ResponseValidation(OpenAPIResponseValidationMiddleware):
    """Powertools' response validation, without validating again an answer that is already an
    instance of the route's return model (built, and so validated, by the service) when that
    validation would only hand it back (`_validated_by_construction`): it is kept as the model
    (`ModelAnswer`) and written as JSON once, with its `usage`, by the spend middleware
    (`contentgen.entrypoints.spend`), or else by the resolver's serializer. Any other answer (a
    dict, a `Response`, a subclass, a model with model validators or `revalidate_instances`, a
    route with a custom validation status) goes through Powertools' own validation."""

    def _handle_response(self, *, route: Any, response: Response[Any]) -> Response[Any]:
        field = route.dependant.return_param
        if (
            field is not None
            and type(response.body) is field.type_
            and not field.field_info.metadata
            and route.custom_response_validation_http_code is None
            and isinstance(response.body, BaseModel)
            and _validated_by_construction(type(response.body))
        ):
            response.body = ModelAnswer(response.body)
            return response
        result: Response[Any] = super()._handle_response(route=route, response=response)
        return result


class _ResponseBuilder(ResponseBuilder[Any]):
    """Powertools' `ResponseBuilder`, without reading the request's headers (a case-insensitive copy
    of them, 14 µs of a warm request) for its route options when the route and the response ask
    for none: no CORS, no `Cache-Control`, no compression. Powertools compresses only when gzip is
    accepted and the response's `compress` is True, or is None and the route's is
    (`ResponseBuilder._has_compression_enabled`); with neither, its `_route` does nothing."""

    def _route(self, event: Any, cors: Any) -> None:
        route = self.route
        if route is not None and not route.cors and not route.cache_control:
            compress = self.response.compress
            if not (compress if compress is not None else route.compress):
                return
        super()._route(event, cors)


def create_app() -> APIGatewayRestResolver:
    """A resolver (`InvocationResolver`: its request state is per invocation) with validation on
    and every exception mapped to a JSON error response."""
    app = InvocationResolver(enable_validation=True, serializer=json_text)
    app._response_builder_class = _ResponseBuilder
    # Powertools adds this middleware first in every route's stack (built on the route's first call).
    app._request_validation_middleware = _RequestValidation()  # type: ignore[no-untyped-call]
    app._response_validation_middleware = _ResponseValidation(
        validation_serializer=app._serializer,
        has_response_validation_error=app._has_response_validation_error,
    )
    # Generation routes: budget check before any provider request, spend charged, `usage` answered.
    app.use(middlewares=[spend_middleware])

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(exc: RequestValidationError) -> Response[str]:
        if _is_response_failure(exc):
            # Powertools reports an answer that fails the route's response model as a request
            # validation error (`loc` starting with "response"): it is our fault, not the caller's.
            logger.error(
                "answer failed its response model",
                extra={"errors": [_field_name(problem.get("loc")) for problem in exc.errors()][:10]},
            )
            return error_response(500, "internal_error", "internal error")
        return _validation_response(exc)

    @app.exception_handler(ContentgenError)  # type: ignore[untyped-decorator]
    def _known(exc: ContentgenError) -> Response[str]:
        log = logger.warning if exc.status_code < 500 else logger.error
        log("request failed", extra={"code": exc.code, "status": exc.status_code, "reason": exc.message})
        errors = [{"field": exc.field, "message": exc.message}] if hasattr(exc, "field") else None
        return error_response(
            exc.status_code,
            exc.code,
            exc.message,
            errors=errors,
            retry_after=exc.retry_after,
            partial=exc.partial,
            usage=exc.usage,
            unconfirmed_paid_work=exc.unconfirmed_paid_work,
        )

    @app.not_found
    def _not_found(exc: NotFoundError) -> Response[str]:
        event = app.current_event
        return error_response(404, "not_found", f"no route for {event.http_method} {event.path}")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(exc: Exception) -> Response[str]:
        # The trace goes to the log only; the caller gets a generic message and the request id.
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal error")

    return app


class InvalidEventError(InvalidRequestError):
    """A REST proxy event with a field that is not of its documented type (`contentgen.entrypoints.envelope`):
    400 `invalid_event` naming the field. Only a direct `lambda:InvokeFunction` can send one."""

    status_code = 400
    code = "invalid_event"


def _event_problem(event: Mapping[str, Any]) -> InvalidEventError | None:
    """The error answering a REST proxy event that cannot be read, None when it can."""

    problem = proxy_event_problem(event)
    if problem is None:
        return None
    field, reason = problem
    return InvalidEventError(field, reason)


def gateway_time_left(event: Mapping[str, Any], gateway_timeout: float, *, now: float | None = None) -> float:
    """Seconds API Gateway still waits for this request: its timeout counted from when the
    gateway received the request (`requestContext.requestTimeEpoch`, epoch milliseconds), not
    from when the handler started, so a cold start and the gateway's own queueing are counted.
    The whole timeout when the event has no usable epoch (a direct invocation's synthetic event),
    one in the future (clock skew), or one older than `REPLAYED_EVENT_AGE_SECONDS` (a recorded
    sample replayed by `sam local invoke -e events/...`: no gateway is waiting); never negative.

    Sources (read 2026-12-06): API Gateway quotas, "Integration timeout: 50 milliseconds - 29
    seconds for all integration types" (https://docs.aws.amazon.com/apigateway/latest/developerguide/
    limits.html); the REST proxy event's `requestContext.requestTimeEpoch`
    (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html, sample event)."""
    context = event.get("requestContext")
    epoch = context.get("requestTimeEpoch") if isinstance(context, Mapping) else None
    if isinstance(epoch, bool) or not isinstance(epoch, int | float) or not math.isfinite(epoch):
        return gateway_timeout
    elapsed = (time.time() if now is None else now) - epoch / 1000.0
    if elapsed < 0 or elapsed > REPLAYED_EVENT_AGE_SECONDS:
        return gateway_timeout
    return max(0.0, gateway_timeout - elapsed)


def _deadline_for(context: LambdaContext, event: Any, *, over_http: bool) -> Deadline:
    """The Lambda's remaining time; over HTTP, no later than API Gateway's own timeout counted
    from the gateway's clock (`gateway_time_left`)."""
    deadline = Deadline.from_context(context)
    if not over_http:
        return deadline
    try:
        gateway_timeout = get_settings().api_gateway_timeout_seconds
    except ConfigurationError:
        gateway_timeout = DEFAULT_API_GATEWAY_TIMEOUT  # the route itself answers 503 naming the variable
    left = gateway_time_left(event, gateway_timeout) if isinstance(event, Mapping) else gateway_timeout
    return min(deadline, Deadline.after(left), key=lambda candidate: candidate.expires_at)


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _idempotent_http(
    app: APIGatewayRestResolver,
    event: dict[str, Any],
    key: str,
    context: LambdaContext,
    request: Any = None,
    *,
    owner: str,
    on_replay: ReplayHook | None = None,
) -> Any:
    """An API request carrying `Idempotency-Key`: a repeat gets the first answer, no second call.

    `owner` is the path of the function's own route (its records' key prefix). The key belongs to
    the caller's API key (`requestContext.identity.apiKeyId`, `idempotency.http_scope`): another
    key sending the same `Idempotency-Key` has its own record. A replayed answer goes through
    `on_replay` when given."""
    # Cold start: the idempotency store loads with the first request that carries the header.
    from contentgen.stores.idempotency import http_scope, run_once

    def execute() -> dict[str, Any]:
        response = app.resolve(event, context)
        outcome: dict[str, Any] = {
            "status_code": int(response["statusCode"]),
            "body": json.loads(response.get("body") or "null"),
            "headers": answer_headers(response),
        }
        retry_after = response_header(response, "Retry-After")
        if retry_after is not None:
            outcome["retry_after"] = retry_after  # the provider's wait reaches the caller too
        return outcome

    try:
        outcome, executed = run_once(
            owner=owner,
            route=f"{event.get('httpMethod')} {event.get('resource') or event.get('path')}",
            key=key,
            request=request,
            execute=execute,
            context=context,
            scope=http_scope(_api_key_id_of(event)),
        )
    except ContentgenError as exc:
        response = error_response(exc.status_code, exc.code, exc.message, retry_after=exc.retry_after)
        return _proxy_response(exc.status_code, response.body, dict(response.headers))
    if not executed and on_replay is not None:
        outcome = _replayed(outcome, on_replay)
    headers = {**(outcome.get("headers") or {}), "Idempotency-Key": key}
    return _proxy_response(outcome["status_code"], json.dumps(outcome["body"]), headers)


def _api_key_id_of(event: Mapping[str, Any]) -> str | None:
    """The API key id API Gateway put in a REST proxy event, None when there is none."""
    identity = (event.get("requestContext") or {}).get("identity")
    api_key_id = identity.get("apiKeyId") if isinstance(identity, Mapping) else None
    return str(api_key_id) if api_key_id else None


def _replayed(outcome: dict[str, Any], on_replay: ReplayHook) -> dict[str, Any]:
    """`outcome` with its body passed through the route's replay hook; the stored body when the
    hook fails (logged: the answer is still the one that was paid for)."""
    try:
        body = on_replay(int(outcome["status_code"]), outcome["body"])
    except Exception:
        logger.exception("replay hook failed; the stored answer is given")
        return outcome
    return {**outcome, "body": body}


def answer_headers(response: Mapping[str, Any]) -> dict[str, list[str]]:
    """The headers a route's proxy response sets (`Retry-After`, `Location`, ...), as
    `{name: [values]}`, so an answer kept under an `Idempotency-Key` is given back with them, the
    first time and on every replay (an outcome stored before headers were kept has none)."""
    headers: dict[str, list[str]] = {}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[str(name)] = [str(value) for value in (values if isinstance(values, list) else [values])]
    for name, value in (response.get("headers") or {}).items():
        headers.setdefault(str(name), [str(value)])
    return headers


def _proxy_response(status: int, body: Any, headers: dict[str, Any]) -> dict[str, Any]:
    """A REST API proxy response (payload 1.0)."""
    values = {name: value if isinstance(value, list) else [value] for name, value in headers.items()}
    values.setdefault("Content-Type", [content_types.APPLICATION_JSON])
    return {"statusCode": status, "multiValueHeaders": values, "body": body, "isBase64Encoded": False}


def lambda_entrypoint(
    app: APIGatewayRestResolver,
    *,
    direct_route: tuple[str, str] | None = None,
    on_replay: ReplayHook | None = None,
) -> Handler:
    """The function's `lambda_handler`: API Gateway events (with an optional `Idempotency-Key`),
    direct invocations of `direct_route`, and, for `direct_route`, SQS batches and EventBridge
    events carrying `request_id` and the request (see `contentgen.entrypoints.events`).

    `on_replay(status_code, body)` gives the body to answer when an `Idempotency-Key` repeat is
    answered from the store (e.g. a presigned URL signed again: a stored one may have expired).

    The event's shape is checked first (`contentgen.entrypoints.envelope`): a proxy event with a field not of
    its documented type is answered 400 `invalid_event` naming the field; a batch with a record
    without `messageId` raises `UnusableEventError`."""

    # The function's own route owns its idempotency records (contentgen.stores.record_keys), whatever
    # path a request names.
    # A function without a route of its own (none today) keeps no records: it ignores the header.
    owner = direct_route[1] if direct_route is not None else None

    @logger.inject_lambda_context(clear_state=True)
    @traced_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    @invocation_scope
    def handler(event: Any, context: LambdaContext) -> Any:
        started = time.perf_counter()
        idempotency_key: str | None = None
        direct = not is_rest_proxy_event(event)
        problem = None if direct else _event_problem(event)
        request_id = (
            ((event.get("requestContext") or {}).get("requestId") if not direct and not problem else None)
            or getattr(context, "aws_request_id", None)
            or str(uuid.uuid4())
        )
        logger.set_correlation_id(request_id)
        if direct and direct_route is not None:
            # Imported on this path only (cold start): the event adapter and its batch processor
            # are for direct invocations with a record batch, never for an API Gateway request.
            from contentgen.entrypoints import events

            if is_record_batch(event):
                check_record_batch(event)  # raises UnusableEventError naming the record
                return events.handle_generation_batch(app, direct_route, event, context)
            if events.is_eventbridge_event(event):
                return events.handle_generation_event(app, direct_route, event, context)
        with deadline_scope(_deadline_for(context, event, over_http=not direct)):
            if direct and direct_route is None:
                response = error_response(400, "unsupported_event", "this function is served over HTTP only")
                return json.loads(response.body or "{}")
            try:
                if problem is not None:
                    raise problem
                proxy, request = read_request(event, direct_route=direct_route if direct else None)
            except ContentgenError as exc:
                proxy, request = (event if not direct and problem is None else {}), None
                result: dict[str, Any] = refused_request(exc)
            else:
                idempotency_key = idempotency_key_of(proxy) if not direct and owner else None
                result = (
                    _idempotent_http(
                        app, proxy, idempotency_key, context, request, owner=owner, on_replay=on_replay
                    )
                    if idempotency_key and owner
                    else app.resolve(proxy, context)
                )
        _canonical_body.set(None)  # the body is not kept alive until the next invocation
        with_request_id(result, request_id)
        status = int(result.get("statusCode", 500))
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        if status >= 400:
            metrics.add_metric(
                name="ServerErrors" if status >= 500 else "ClientErrors", unit=MetricUnit.Count, value=1
            )
        # A success over HTTP is in API Gateway's access log already (the stack's ApiAccessLogGroup:
        # request id, API key, method, resource, status, latencies): its line is DEBUG. Errors (with
        # their `code`), direct invocations and `Idempotency-Key` requests, which that log does not
        # tell apart, are INFO (docs/operations.md).
        level = logging.INFO if status >= 400 or direct or idempotency_key else logging.DEBUG
        if logger.writes(level):  # the line's fields are not built for nothing
            (logger.info if level == logging.INFO else logger.debug)(
                "request served",
                extra={
                    "method": proxy.get("httpMethod"),
                    "path": proxy.get("path"),
                    "status": status,
                    "code": _answer_code(result) if status >= 400 else None,
                    "direct": direct,
                    "idempotency_key": idempotency_key,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        return json.loads(result.get("body") or "null") if direct else result

    coldstart.init_done(app, direct_route)
    return cast(Handler, handler)


# What callers send (issue 10 items 7-9, issue 15): read and bounded here, once, for every entry.

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def read_request(
    event: Mapping[str, Any], *, direct_route: tuple[str, str] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(the proxy event to resolve, the parsed request body or None).

    A direct invocation of `direct_route` carries the body as the event itself; an API Gateway
    event carries it as text (`contentgen.entrypoints.request_body.decode_http_body`). The body must be a
    JSON object (else 422 naming `body`) within the bounds of `contentgen.entrypoints.request_body`; the
    event handed on carries it re-serialised canonically with `Content-Type: application/json`,
    so nothing downstream parses what the caller sent. Raises the 400/413/415/422 errors of
    `contentgen.entrypoints.request_body`."""

    if direct_route is not None:
        method, path = direct_route
        request_id = str(logger.get_correlation_id() or uuid.uuid4())
        if method not in _BODY_METHODS:
            return proxy_event_for(None, method=method, path=path, request_id=request_id), None
        check_value_bounds(event)
        body = require_object(event)
        return proxy_event_for(body, method=method, path=path, request_id=request_id), body
    if str(event.get("httpMethod", "")).upper() not in _BODY_METHODS:
        return dict(event), None
    if event.get("body") in (None, ""):
        return _with_json_body(event, None), None  # validation names what is missing
    parsed = decode_http_body(
        event.get("body"),
        is_base64=bool(event.get("isBase64Encoded")),
        content_type=_header(event, "Content-Type"),
    )
    body = require_object(parsed)
    return _with_json_body(event, body), body


def _with_json_body(event: Mapping[str, Any], body: dict[str, Any] | None) -> dict[str, Any]:

    proxy = dict(event)
    for name in ("headers", "multiValueHeaders"):
        headers = {k: v for k, v in (event.get(name) or {}).items() if k.lower() != "content-type"}
        headers["Content-Type"] = "application/json" if name == "headers" else ["application/json"]
        proxy[name] = headers
    proxy["body"] = _canonical_text(body) if body is not None else None
    proxy["isBase64Encoded"] = False
    return proxy


def _canonical_text(body: Any) -> str:
    """`canonical_json(body)`, remembered with the value it parses to (`_key_sorted(body)`) for
    request validation (`_RequestValidation._get_body`)."""
    text = canonical_json(body)
    _canonical_body.set((text, _key_sorted(body)))
    return text


def _key_sorted(value: Any) -> Any:
    """What `json.loads(canonical_json(value))` gives for `value` parsed from JSON (dicts, lists,
    strings, numbers, booleans, None): the same values, every object's keys in sorted order."""
    if type(value) is dict:
        return {key: _key_sorted(value[key]) for key in sorted(value)}
    if type(value) is list:
        return [_key_sorted(item) for item in value]
    return value


def idempotency_key_of(event: Mapping[str, Any]) -> str | None:
    """The `Idempotency-Key` header of a POST; GET and other methods ignore it (they are
    idempotent already, RFC 9110 §9.2.2), so it never costs them a table read."""
    if str(event.get("httpMethod", "")).upper() != "POST":
        return None
    return _header(event, "Idempotency-Key") or None


def refused_request(exc: ContentgenError) -> dict[str, Any]:
    """The proxy response for a request refused before any route ran."""
    logger.warning(
        "request refused", extra={"code": exc.code, "status": exc.status_code, "reason": exc.message}
    )
    errors = [{"field": exc.field, "message": exc.message}] if isinstance(exc, InvalidRequestError) else None
    response = error_response(exc.status_code, exc.code, exc.message, errors=errors)
    return _proxy_response(exc.status_code, response.body, dict(response.headers))


def with_request_id(result: dict[str, Any], request_id: str) -> None:
    """Put the invocation's request id (the one error bodies carry) in an `X-Request-Id` header."""
    if "multiValueHeaders" in result or "headers" not in result:
        result.setdefault("multiValueHeaders", {})["X-Request-Id"] = [request_id]
    else:
        result["headers"]["X-Request-Id"] = request_id
