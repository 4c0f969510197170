"""What a caller sent, read safely: media type, encoding, size, nesting and number bounds, JSON.

One reader for every entry path (`contentgen.entrypoints.api` for HTTP and direct invocations,
`contentgen.entrypoints.events` for SQS bodies and EventBridge details), so hostile input is a 4xx the same
way everywhere and never reaches a parser that could fail with `RecursionError` (deep nesting) or
`ValueError` (integers past Python's 4,300-digit limit, see
https://docs.python.org/3/library/stdtypes.html#int-max-str-digits).

Bounds are checked on the text BEFORE it is parsed:
- at most `MAX_BODY_BYTES` (6 MiB, Lambda's synchronous payload limit) of UTF-8 → else 413;
- at most `MAX_DEPTH` (32) nested arrays/objects → else 400;
- at most `MAX_NUMBER_DIGITS` (100) digits in a row in a number → else 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from contentgen.errors import (
    BadRequestError,
    InvalidRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

MAX_BODY_BYTES = 6 * 1024 * 1024
MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 100

# A JSON string, or an unterminated one running to the end (so the scan stays linear).
_STRING = re.compile(rb'"(?:[^"\\]|\\.?)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(i for i in range(256) if i not in b"[]{}")
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_DIGIT_RUN = b"0" * (MAX_NUMBER_DIGITS + 1)
_NUMBER_LIMIT = 10**MAX_NUMBER_DIGITS
_CURLY_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_OPEN = ord("[")
_PASSES = 4


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON, matched as RFC 9110 §8.3.1 says: type and subtype
    case-insensitive, parameters allowed (a `charset` must be UTF-8, RFC 8259 §8.1), and
    structured `+json` suffixes (RFC 6839 §3.1, e.g. `application/problem+json`) accepted.
    A missing Content-Type is read as JSON: every route takes only JSON."""
    if content_type is None or not content_type.strip():
        return True
    media_type, *parameters = content_type.split(";")
    kind, _, subtype = media_type.strip().lower().partition("/")
    if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
        return False
    for parameter in parameters:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def decode_http_body(body: str | None, *, is_base64: bool, content_type: str | None) -> Any:
    """The parsed JSON of an API Gateway proxy body (`None` when there is none, or `null`).

    Raises UnsupportedMediaTypeError (415) for a non-JSON Content-Type, BadRequestError (400)
    for invalid base64, non-UTF-8 bytes or text that is not JSON or exceeds the bounds, and
    PayloadTooLargeError (413) over `MAX_BODY_BYTES`."""
    if body is None or body == "":
        return None
    if not isinstance(body, str):  # API Gateway sends text; an invoker wrote something else
        raise BadRequestError(
            "invalid_json", f"request body must be JSON text in a proxy event, not {json_type(body)}"
        )
    if not is_json_media_type(content_type):
        raise UnsupportedMediaTypeError(
            f"Content-Type {content_type!r} is not supported: send application/json"
        )
    raw: str | bytes = body
    if is_base64:
        if len(body) > (MAX_BODY_BYTES // 3 + 1) * 4:
            raise PayloadTooLargeError(f"request body is over {MAX_BODY_BYTES} bytes")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError("invalid_encoding", "request body is not valid base64") from None
    return parse_json_text(raw)


def parse_json_text(raw: str | bytes) -> Any:
    """Parse JSON text (str, or bytes that must be UTF-8) within the bounds; raises as above."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"request body is over {MAX_BODY_BYTES} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequestError("invalid_encoding", "request body is not UTF-8") from None
    else:
        text = raw
        if len(text) > MAX_BODY_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"request body is over {MAX_BODY_BYTES} bytes")
    _check_text_bounds(text)
    try:
        if text.startswith("\ufeff"):  # as `json.loads` refuses it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _decoder.decode(text)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise BadRequestError("invalid_json", f"request body is not valid JSON ({reason})") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# `json.loads(text, parse_constant=_refuse_constant)` makes a decoder at every call (any keyword
# does); this one is made once: the same values and errors (`test_request_body.py`).
_decoder = json.JSONDecoder(parse_constant=_refuse_constant)


def _check_text_bounds(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    if not _over_bounds(data):
        return  # the common case, decided by C-speed byte scans alone
    # Brackets and digits inside strings (a prompt may hold them) do not count.
    skeleton = _STRING.sub(b'""', data)
    if _LONG_DIGIT_RUN in skeleton.translate(_DIGITS_AS_ZERO):
        raise BadRequestError(
            "invalid_json", f"a number in the request body has more than {MAX_NUMBER_DIGITS} digits"
        )
    # Only nesting counts, not which bracket: `{` and `}` become `[` and `]`.
    brackets = skeleton.translate(_CURLY_AS_SQUARE, _NOT_BRACKETS)
    # Each pass removes exactly one level of innermost pairs, at C speed, so ordinary bodies
    # shrink to (almost) nothing; the walk over what is left stops at the first opener past
    # the bound (less the levels removed).
    for _ in range(_PASSES):
        brackets = brackets.replace(b"[]", b"")
    depth = 0
    for byte in brackets:
        depth += 1 if byte == _OPEN else -1
        if depth > MAX_DEPTH - _PASSES:
            raise BadRequestError("invalid_json", f"request body nests deeper than {MAX_DEPTH} levels")


def _over_bounds(data: bytes) -> bool:
    """Whether `data` might break a bound: more openers than `MAX_DEPTH`, or a long digit run."""
    openers = data.count(b"[") + data.count(b"{")
    return openers > MAX_DEPTH or _LONG_DIGIT_RUN in data.translate(_DIGITS_AS_ZERO)


def check_value_bounds(value: Any) -> None:
    """The same bounds on an already parsed value (a direct invocation's event, an EventBridge
    `detail`): depth at most `MAX_DEPTH`, integers at most `MAX_NUMBER_DIGITS` digits."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            if depth >= MAX_DEPTH:
                raise BadRequestError("invalid_json", f"request body nests deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, Mapping) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) >= _NUMBER_LIMIT:
            raise BadRequestError(
                "invalid_json", f"a number in the request body has more than {MAX_NUMBER_DIGITS} digits"
            )


class _Unbounded:
    """A number `parse_json_leniently` read but the strict reader refuses (NaN, Infinity, more
    than `MAX_NUMBER_DIGITS` digits): `value_problem` names where it is."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _lenient_int(text: str) -> Any:
    digits = len(text.lstrip("-"))
    return (
        _Unbounded(f"has more than {MAX_NUMBER_DIGITS} digits") if digits > MAX_NUMBER_DIGITS else int(text)
    )


def _lenient_float(text: str) -> Any:
    longest = max(len(run) for run in re.split(r"[^0-9]", text))
    return (
        _Unbounded(f"has more than {MAX_NUMBER_DIGITS} digits")
        if longest > MAX_NUMBER_DIGITS
        else float(text)
    )


def _lenient_constant(name: str) -> Any:
    return _Unbounded(f"is {name}, which is not a JSON number")


def parse_json_leniently(text: str) -> Any:
    """JSON text the strict reader (`parse_json_text`) refused, read only to find out where it
    breaks a bound: NaN, Infinity (Python's `json.dumps` writes them by default) and numbers of
    more than `MAX_NUMBER_DIGITS` digits become markers `value_problem` names. Used on queue
    messages (at most 1 MiB, the SQS limit), so a message whose `request_id` is readable is
    refused under it rather than dead-lettered. Raises BadRequestError for text that is not JSON
    at all, or nests too deep for the parser (`RecursionError`), and PayloadTooLargeError over
    `MAX_BODY_BYTES`."""
    if len(text) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"request body is over {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(
            text, parse_constant=_lenient_constant, parse_int=_lenient_int, parse_float=_lenient_float
        )
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise BadRequestError("invalid_json", f"request body is not valid JSON ({reason})") from None


def value_problem(value: Any) -> tuple[str, str] | None:
    """(the dotted path, what is wrong) of the first place in a parsed value past the bounds:
    nesting deeper than `MAX_DEPTH`, an integer of more than `MAX_NUMBER_DIGITS` digits, a number
    that is not finite (NaN, Infinity) or a marker of `parse_json_leniently`; None within them.
    The path is `body` for the value itself."""
    stack: list[tuple[Any, tuple[str, ...], int]] = [(value, (), 0)]
    while stack:
        item, path, depth = stack.pop()
        where = ".".join(path) or "body"
        if isinstance(item, _Unbounded):
            return where, item.reason
        if isinstance(item, float) and not math.isfinite(item):
            return where, "must be a finite number"
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) >= _NUMBER_LIMIT:
            return where, f"has more than {MAX_NUMBER_DIGITS} digits"
        if isinstance(item, Mapping | list | tuple):
            if depth >= MAX_DEPTH:
                return where, f"nests deeper than {MAX_DEPTH} levels"
            pairs = item.items() if isinstance(item, Mapping) else enumerate(item)
            stack.extend((child, (*path, str(key)), depth + 1) for key, child in reversed(list(pairs)))
    return None


def require_object(value: Any, field: str = "body") -> dict[str, Any]:
    """`value` when it is a JSON object; else InvalidRequestError (422) naming `field`."""
    if not isinstance(value, dict):
        raise InvalidRequestError(field, f"must be a JSON object, not {json_type(value)}")
    return value


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type (`array`, `string`, `number`, `null`, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    return "an object"


def canonical_json(value: Any) -> str:
    """The request as the caller meant it: sorted keys, no whitespace, whatever the wire form."""
    return _canonical_encode(value)


# `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, its encoder made
# once: the same text.
_canonical_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
