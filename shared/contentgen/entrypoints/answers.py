"""What the HTTP and event adapters share: the one error answer, synthetic REST proxy events, and
running a request body through a function's resolver.

`contentgen.entrypoints.api` (API Gateway and direct invocations) and
`contentgen.entrypoints.events` (SQS and EventBridge) both answer through these, so an error body
has one shape and one size bound whichever way a request came in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from contentgen.observability import logger


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    errors: list[dict[str, str]] | None = None,
    retry_after: float | None = None,
    partial: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
    unconfirmed_paid_work: bool = False,
) -> Response[str]:
    body: dict[str, Any] = {
        "message": _bounded_text(message, MAX_MESSAGE_CHARS),
        "code": code,
        "status_code": status,
    }
    if errors:
        body["errors"] = bounded_errors(errors)
        if len(errors) > MAX_LISTED_ERRORS:
            body["errors_not_listed"] = len(errors) - MAX_LISTED_ERRORS
    if unconfirmed_paid_work:
        body["unconfirmed_paid_work"] = True  # kept under the request's key (contentgen.stores.idempotency)
    if partial is not None:
        body["partial"] = partial
    if usage is not None:
        body["usage"] = usage
    correlation_id = logger.get_correlation_id()
    if correlation_id:
        body["request_id"] = correlation_id
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers,
    )


# An error answer stays far below Lambda's 6 MB response limit (a larger one is an API Gateway
# 502) whatever the request held: 300,000 unknown fields once made a 22 MB 422 (issue 15).
MAX_LISTED_ERRORS = 20


MAX_FIELD_CHARS = 200


MAX_ERROR_MESSAGE_CHARS = 500


MAX_MESSAGE_CHARS = 4000


def bounded_errors(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    """The first `MAX_LISTED_ERRORS` field errors, each `field` and `message` cut to
    `MAX_FIELD_CHARS` / `MAX_ERROR_MESSAGE_CHARS` characters (an error body says how many more
    there were in `errors_not_listed`)."""
    return [
        {
            **error,
            "field": _bounded_text(str(error.get("field", "")), MAX_FIELD_CHARS),
            "message": _bounded_text(str(error.get("message", "")), MAX_ERROR_MESSAGE_CHARS),
        }
        for error in errors[:MAX_LISTED_ERRORS]
    ]


def _bounded_text(text: str, limit: int) -> str:
    """`text` when it has at most `limit` characters, else its start and `…`."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_rest_proxy_event(event: Any) -> bool:
    return isinstance(event, Mapping) and "httpMethod" in event and "requestContext" in event


def proxy_event_for(body: Any, *, method: str, path: str, request_id: str) -> dict[str, Any]:
    """An API Gateway REST proxy event (payload 1.0) carrying `body`, for direct invocations."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": path,
            "requestId": request_id,
            "stage": "direct",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": json.dumps(body) if method != "GET" else None,
        "isBase64Encoded": False,
    }


def resolve_body(
    app: APIGatewayRestResolver, route: tuple[str, str], body: Any, request_id: str, context: LambdaContext
) -> dict[str, Any]:
    """Run `route` with `body` through the resolver (validation, services, error mapping)."""
    response = app.resolve(
        proxy_event_for(body, method=route[0], path=route[1], request_id=request_id), context
    )
    outcome: dict[str, Any] = {
        "status_code": int(response["statusCode"]),
        "body": json.loads(response.get("body") or "null"),
    }
    retry_after = response_header(response, "Retry-After")
    if retry_after is not None:
        outcome["retry_after"] = float(retry_after)  # an open breaker's or the provider's wait
    return outcome


def response_header(response: Mapping[str, Any], name: str) -> str | None:
    """A header of a proxy response (`headers` or `multiValueHeaders`), case-insensitively."""
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower() and values:
            return str(values[0])
    return None


# Powertools' default serializer, `partial(json.dumps, separators=(",", ":"), cls=Encoder)`, with
# its encoder made once rather than at every answer: the same text.
_encode = Encoder(separators=(",", ":")).encode


class ModelAnswer:
    """A route's answer that is an instance of its response model, kept as the model from response
    validation (`contentgen.entrypoints.api`) to the spend middleware (`contentgen.entrypoints.spend`),
    which sets the invocation's `usage` on a success and writes it as JSON (`json_text`).

    That replaces pydantic's dump to Python objects, `usage` set in the dict, then Powertools'
    `json.dumps` of it (11 µs of a warm request, about 7 µs here): the model is written by
    pydantic's serializer in one pass and `usage`, as the meter gave it (not validated again: a
    provider's odd token count is answered as it came, as before), is put in its place, the last
    field. The same JSON value, key order and separators, and the same escaping but for DEL (0x7f,
    ASCII, written as it is where `json.dumps` wrote `\\u007f`): characters outside ASCII stay
    `\\uXXXX` escapes, as `json.dumps` wrote them, so a client that guesses a body's charset
    (`Content-Type: application/json` names none) reads it right (a public report of such a client:
    https://csdcorp.com/blog/coding/character-encoding-and-go-on-aws/, read 2026-12-07). A float
    may take another equal form (`1e-5`), and an infinite or NaN float is `null` (JSON has no such
    number; `json.dumps` wrote `Infinity`). What pydantic cannot write (a lone surrogate in a
    string), a model whose `usage` is not its last plain field, or one with computed fields or its
    own serializer, is written the old way (`_dict_text`)."""

    __slots__ = ("model", "usage")

    def __init__(self, model: BaseModel) -> None:
        self.model = model
        self.usage: dict[str, Any] | None = None

    def json_text(self) -> str:
        """The answer's JSON text: the model by alias, `usage` in it when set."""
        model = self.model
        usage = self.usage
        try:
            if usage is None:
                return model.model_dump_json(by_alias=True, ensure_ascii=True)
            if _usage_last(type(model)):
                text = model.model_dump_json(by_alias=True, exclude=_USAGE, ensure_ascii=True)
                return f'{text[:-1]}{"," if len(text) > 2 else ""}"usage":{_encode(usage)}}}'
        except PydanticSerializationError:
            pass  # e.g. a lone surrogate, which `json.dumps` escapes
        return _dict_text(model, usage)


_USAGE: set[str] = {"usage"}  # never changed


def _dict_text(model: BaseModel, usage: dict[str, Any] | None) -> str:
    """The old way: pydantic's dump to Python objects, `usage` set in it, Powertools' serializer."""
    body = model.model_dump(mode="json", by_alias=True)
    if usage is not None:
        body["usage"] = usage
    return _encode(body)


# Whether a response model's last field is a plain `usage` (its name written as is, no computed
# fields, no serializer of its own), by model class (a handful per function).
_usage_last_fields: dict[type[BaseModel], bool] = {}


def _usage_last(model: type[BaseModel]) -> bool:
    known = _usage_last_fields.get(model)
    if known is None:
        fields = model.model_fields
        last = next(reversed(fields), None)
        known = (
            last == "usage"
            and fields["usage"].serialization_alias in (None, "usage")
            and fields["usage"].alias in (None, "usage")
            and not model.__pydantic_computed_fields__
            and not model.__pydantic_decorators__.model_serializers
            and not model.__pydantic_decorators__.field_serializers
        )
        _usage_last_fields[model] = known
    return known


def json_text(value: Any) -> str:
    """The resolver's serializer (`create_app`): a `ModelAnswer` written by pydantic, anything else
    as Powertools' default serializer writes it."""
    if type(value) is ModelAnswer:
        return value.json_text()
    return _encode(value)
