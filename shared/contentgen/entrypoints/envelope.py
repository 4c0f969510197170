"""The shape of the event a function is invoked with, checked once at the entry point
(`contentgen.entrypoints.api.lambda_entrypoint`) before Powertools or a route reads any of it (issue 15).

API Gateway, SQS and EventBridge always send well-formed events; anyone allowed to call
`lambda:InvokeFunction` can send anything. What is checked:

- a REST proxy event (payload 1.0, https://docs.aws.amazon.com/apigateway/latest/developerguide/
  set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format): each
  field it carries has its documented type, and every header, query and path value is text that
  can be written as UTF-8. `proxy_event_problem` names the first field that is not: the caller is
  answered 400 `invalid_event` naming it;
- an SQS batch (`Records`, https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html): every
  record is an object with a `messageId`, the only way a failed record can be reported
  (`batchItemFailures`). `check_record_batch` raises `UnusableEventError` otherwise; a record
  with a `messageId` but no usable body fails alone (`contentgen.entrypoints.events`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contentgen.entrypoints.request_body import json_type


class UnusableEventError(ValueError):
    """An event that cannot be answered and holds nothing to store an answer under: an SQS batch
    with a record without `messageId`, or an EventBridge event whose `detail` has no readable
    `request_id`. Raised out of the handler, so the invocation fails as a whole: Lambda retries an
    asynchronous event and then sends it to the function's on-failure destination (its DLQ), and
    SQS delivers a batch again until its records reach the queue's DLQ. The message names the
    field that is wrong."""


_TEXT_MAPS = ("headers", "queryStringParameters", "pathParameters", "stageVariables")
_LIST_MAPS = ("multiValueHeaders", "multiValueQueryStringParameters")
_OPTIONAL_TEXT = ("resource",)


def is_record_batch(event: Any) -> bool:
    """Whether `event` is shaped as a batch (`Records`, a non-empty array): an SQS event source's."""
    return isinstance(event, Mapping) and isinstance(event.get("Records"), list) and bool(event["Records"])


def check_record_batch(event: Mapping[str, Any]) -> None:
    """Raise `UnusableEventError` naming the first record that is not an object with a non-empty
    string `messageId` (SQS sends one with every record; a batch failure is reported by it)."""
    for index, record in enumerate(event["Records"]):
        if not isinstance(record, Mapping):
            raise UnusableEventError(
                f"Records[{index}] must be an SQS record object, not {json_type(record)}"
            )
        message_id = record.get("messageId")
        if not isinstance(message_id, str) or not message_id:
            raise UnusableEventError(
                f"Records[{index}].messageId must be a non-empty string, not {json_type(message_id)}"
            )


def proxy_event_problem(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """(the field, what is wrong) for the first field of a REST proxy event that is not of its
    documented type or holds text that cannot be written as UTF-8 (a lone surrogate); None when
    the event can be read."""
    for name in ("httpMethod", "path"):
        value = event.get(name)
        if not isinstance(value, str) or not value:
            return name, f"must be a non-empty string, not {json_type(value)}"
        if not _is_utf8(value):
            return name, "must be text that can be written as UTF-8"
    for name in _OPTIONAL_TEXT:
        value = event.get(name)
        if value is not None and not isinstance(value, str):
            return name, f"must be a string or null, not {json_type(value)}"
    for name in _TEXT_MAPS:
        problem = _map_problem(event.get(name), lists=False)
        if problem is not None:
            return _joined(name, problem[0]), problem[1]
    for name in _LIST_MAPS:
        problem = _map_problem(event.get(name), lists=True)
        if problem is not None:
            return _joined(name, problem[0]), problem[1]
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        return "body", f"must be a string or null, not {json_type(body)}"
    encoded = event.get("isBase64Encoded")
    if encoded is not None and not isinstance(encoded, bool):
        return "isBase64Encoded", f"must be a boolean, not {json_type(encoded)}"
    return _request_context_problem(event.get("requestContext"))


def _request_context_problem(context: Any) -> tuple[str, str] | None:
    if not isinstance(context, Mapping):
        return "requestContext", f"must be an object, not {json_type(context)}"
    for name in ("requestId", "resourcePath", "httpMethod", "path", "stage"):
        value = context.get(name)
        if value is not None and not (isinstance(value, str) and _is_utf8(value)):
            return f"requestContext.{name}", f"must be a string or null, not {json_type(value)}"
    identity = context.get("identity")
    if identity is None:
        return None
    if not isinstance(identity, Mapping):
        return "requestContext.identity", f"must be an object or null, not {json_type(identity)}"
    for name, value in identity.items():
        if value is not None and not (isinstance(value, str) and _is_utf8(value)):
            return f"requestContext.identity.{name}", f"must be a string or null, not {json_type(value)}"
    return None


def _map_problem(value: Any, *, lists: bool) -> tuple[str, str] | None:
    """(the key, what is wrong) for a map of text (or, with `lists`, of arrays of text)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        kind = "arrays of strings" if lists else "strings"
        return "", f"must be an object of {kind} or null, not {json_type(value)}"
    if _all_ascii_text(value, lists=lists):
        return None  # the usual request: decided by a few C-speed joins, not a check per value
    for key, item in value.items():
        if not isinstance(key, str) or not _is_utf8(key):
            return "", "has a name that cannot be written as UTF-8"
        items = item if lists and isinstance(item, list) else [item]
        if lists and not isinstance(item, list):
            return key, f"must be an array of strings, not {json_type(item)}"
        for text in items:
            if not isinstance(text, str):
                return key, f"must hold strings, not {json_type(text)}"
            if not _is_utf8(text):
                return key, "must be text that can be written as UTF-8"
    return None


def _all_ascii_text(value: Mapping[Any, Any], *, lists: bool) -> bool:
    """Whether every key of `value` and every value (with `lists`, every item of every value, each
    value a list) is an ASCII string: such a map has no problem. False when any is not, or is not
    ASCII (then `_map_problem` looks at each)."""
    try:
        if not "".join(value).isascii():
            return False
        if not lists:
            return "".join(value.values()).isascii()
        items = list(value.values())
        if not all(type(item) is list for item in items):
            return False
        return "".join([text for item in items for text in item]).isascii()
    except TypeError:  # a key or value that is not a string
        return False


def _joined(name: str, key: str) -> str:
    return f"{name}.{key}" if key else name


def _is_utf8(text: str) -> bool:
    """Whether `text` can be written as UTF-8 (it holds no lone surrogate, e.g. from `\\ud800`)."""
    if text.isascii():  # a flag of the string: no copy (every header of a usual request)
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
