"""The one reader of what callers send: media types, encodings and bounds before parsing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contentgen.entrypoints.request_body import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    canonical_json,
    check_value_bounds,
    decode_http_body,
    is_json_media_type,
    parse_json_leniently,
    parse_json_text,
    require_object,
    value_problem,
)
from contentgen.errors import (
    BadRequestError,
    ContentgenError,
    InvalidRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/vnd.api+json",
        "application/problem+json",
        "APPLICATION/MERGE-PATCH+JSON ; q=1",
    ],
)
def test_json_media_types_are_matched_as_rfc_9110_says(content_type: str | None) -> None:
    assert is_json_media_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/json",
        "application/jsonx",
        "application/json; charset=latin-1",
        "application/xml",
    ],
)
def test_other_media_types_are_415(content_type: str) -> None:
    assert not is_json_media_type(content_type)
    with pytest.raises(UnsupportedMediaTypeError, match="application/json") as raised:
        decode_http_body('{"prompt": "x"}', is_base64=False, content_type=content_type)
    assert raised.value.status_code == 415


def test_base64_bodies_are_decoded_and_checked() -> None:
    encoded = base64.b64encode(json.dumps({"prompt": "é"}).encode()).decode()

    assert decode_http_body(encoded, is_base64=True, content_type="application/json") == {"prompt": "é"}
    with pytest.raises(BadRequestError) as not_base64:
        decode_http_body("%%%not base64", is_base64=True, content_type=None)
    with pytest.raises(BadRequestError) as not_utf8:
        decode_http_body(base64.b64encode(b'{"prompt": "\xff"}').decode(), is_base64=True, content_type=None)

    assert (not_base64.value.status_code, not_base64.value.code) == (400, "invalid_encoding")
    assert (not_utf8.value.status_code, not_utf8.value.code) == (400, "invalid_encoding")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 1000 + "]" * 1000, "nests deeper"),
        ("[" * 1000, "nests deeper"),
        ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "nests deeper"),
        ('{"n": ' + "9" * 5000 + "}", "more than 100 digits"),
        ('{"n": -' + "1" * (MAX_NUMBER_DIGITS + 1) + "}", "more than 100 digits"),
        ('{"n": NaN}', "NaN"),
        ('{"n": Infinity}', "Infinity"),
        ("{", "not valid JSON"),
    ],
)
def test_hostile_json_is_a_400_before_the_parser_can_fail(text: str, message: str) -> None:
    with pytest.raises(BadRequestError, match=message) as raised:
        parse_json_text(text)
    assert raised.value.status_code == 400


def test_the_bounds_are_exact_and_ignore_what_strings_hold() -> None:
    deepest = '{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH
    longest = "9" * MAX_NUMBER_DIGITS
    quoted = json.dumps({"prompt": "[" * 500 + "{" * 500 + "7" * 5000 + '"\\'})

    assert parse_json_text(deepest)
    assert parse_json_text(f'{{"n": {longest}}}') == {"n": int(longest)}
    assert parse_json_text(quoted) == json.loads(quoted)
    assert parse_json_text("[" + ",".join(["{}"] * 10_000) + "]") == [{}] * 10_000


def test_a_body_over_the_limit_is_413() -> None:
    big = json.dumps({"prompt": "x" * MAX_BODY_BYTES})
    with pytest.raises(PayloadTooLargeError) as raised:
        parse_json_text(big)
    with pytest.raises(PayloadTooLargeError):
        decode_http_body(base64.b64encode(big.encode()).decode(), is_base64=True, content_type=None)
    assert raised.value.status_code == 413


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ([{"prompt": "x"}], "an array"),
        ("x", "a string"),
        (3, "a number"),
        (None, "null"),
        (True, "a boolean"),
    ],
)
def test_only_an_object_is_a_request(value: Any, named: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        require_object(value)
    assert raised.value.field == "body"
    assert raised.value.status_code == 422
    assert named in raised.value.message


def test_parsed_values_get_the_same_bounds() -> None:
    deep: Any = 1
    for _ in range(MAX_DEPTH + 1):
        deep = {"a": deep}

    with pytest.raises(BadRequestError, match="nests deeper"):
        check_value_bounds(deep)
    with pytest.raises(BadRequestError, match="digits"):
        check_value_bounds({"n": 10**MAX_NUMBER_DIGITS})
    check_value_bounds(deep["a"])  # exactly MAX_DEPTH levels
    check_value_bounds({"n": 10**MAX_NUMBER_DIGITS - 1})


def test_canonical_json_is_the_same_whatever_the_wire_form() -> None:
    one = parse_json_text('{"b": [1, 2], "a": "é"}')
    other = parse_json_text('{\n  "a":"\\u00e9",\n  "b":[1,2]\n}')

    assert canonical_json(one) == canonical_json(other) == '{"a":"é","b":[1,2]}'


@pytest.mark.slow  # 300 generated bodies
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_are_parsed_or_refused_with_a_4xx(data: bytes) -> None:
    for body, is_base64 in ((base64.b64encode(data).decode(), True), (data.decode("latin-1"), False)):
        status = 200
        try:
            decode_http_body(body, is_base64=is_base64, content_type="application/json")
        except ContentgenError as exc:
            status = exc.status_code
        assert status < 500


@pytest.mark.parametrize("body", [{"prompt": "x"}, ["x"], 7, True])
def test_a_proxy_body_that_is_not_text_is_400_not_a_crash(body: object) -> None:
    """A directly invoked API-Gateway-shaped event whose `body` is an object (a probe's finding:
    it raised AttributeError, an unhandled 500)."""
    with pytest.raises(BadRequestError, match="JSON text"):
        decode_http_body(body, is_base64=False, content_type="application/json")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "path", "reason"),
    [
        ('{"request_id": "r", "request": {"n": NaN}}', "request.n", "NaN"),
        ('{"request": {"n": -Infinity}}', "request.n", "-Infinity"),
        ('{"n": ' + "1" * (MAX_NUMBER_DIGITS + 1) + "}", "n", f"more than {MAX_NUMBER_DIGITS} digits"),
        ('{"n": [1, -' + "1" * (MAX_NUMBER_DIGITS + 1) + "]}", "n.1", "digits"),
        ('{"n": 0.' + "1" * (MAX_NUMBER_DIGITS + 1) + "}", "n", "digits"),
        ('{"a": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}", "a" + ".0" * (MAX_DEPTH - 1), "nests deeper"),
    ],
)
def test_text_the_strict_reader_refuses_is_read_leniently_to_name_where(
    text: str, path: str, reason: str
) -> None:
    with pytest.raises(BadRequestError):
        parse_json_text(text)

    problem = value_problem(parse_json_leniently(text))

    assert problem is not None
    assert problem[0] == path
    assert reason in problem[1]


@pytest.mark.parametrize("text", ["not json", "[" * 5000 + "]" * 5000])
def test_text_that_is_not_json_at_all_is_refused_leniently_too(text: str) -> None:
    with pytest.raises(BadRequestError, match="not valid JSON"):
        parse_json_leniently(text)


@pytest.mark.parametrize(
    "value",
    [{"n": 10**MAX_NUMBER_DIGITS - 1, "x": 1.5, "s": "NaN " * 10}, [[[1]]], "x", None, -0.0],
)
def test_a_value_within_the_bounds_has_no_problem(value: Any) -> None:
    assert value_problem(value) is None
    assert value_problem(parse_json_leniently(json.dumps(value))) is None


@pytest.mark.parametrize(
    ("value", "path"),
    [(float("nan"), "body"), ({"a": [float("inf")]}, "a.0"), ({"n": -(10**MAX_NUMBER_DIGITS)}, "n")],
)
def test_a_parsed_value_past_the_bounds_is_named(value: Any, path: str) -> None:
    problem = value_problem(value)

    assert problem is not None
    assert problem[0] == path


def _as_json_loads_answers(text: str) -> Any:
    """What `json.loads(text, parse_constant=...)` gave: the value, or the refusal's message."""
    from contentgen.entrypoints.request_body import _refuse_constant

    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return f"request body is not valid JSON ({reason})"


_json_texts = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
).map(json.dumps)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        _json_texts,
        _json_texts.map(lambda text: "\ufeff" + text),
        _json_texts.map(lambda text: text[: len(text) // 2]),
        st.text(alphabet='{}[]",:0123456789.eE+-truefalsnNIinfy \ufeff', max_size=20),
    )
)
def test_parsing_answers_as_json_loads_with_the_refusing_hook(text: str) -> None:
    expected = _as_json_loads_answers(text)
    try:
        got = parse_json_text(text)
    except BadRequestError as exc:
        got = exc.message
    assert json.dumps(got) == json.dumps(expected)
