"""The shape of an invocation's event, checked once at the entry point (issue 15)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contentgen.entrypoints.envelope import (
    UnusableEventError,
    _all_ascii_text,
    check_record_batch,
    is_record_batch,
    proxy_event_problem,
)
from tests.conftest import load_event


def story_event() -> dict[str, Any]:
    return load_event("story_segments.json")


def test_the_recorded_sample_events_have_no_problem() -> None:
    for name in ("story_segments.json", "health.json"):
        assert proxy_event_problem(load_event(name)) is None


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"httpMethod": None}, "httpMethod", "non-empty string, not null"),
        ({"httpMethod": ""}, "httpMethod", "non-empty string"),
        ({"path": 3}, "path", "not a number"),
        ({"path": "/\ud800"}, "path", "UTF-8"),
        ({"resource": {}}, "resource", "string or null, not an object"),
        ({"headers": ["x"]}, "headers", "object of strings or null, not an array"),
        ({"headers": {"x-api-key": 5}}, "headers.x-api-key", "strings, not a number"),
        ({"headers": {"x-api-key": "k\udfff"}}, "headers.x-api-key", "UTF-8"),
        ({"headers": {"\ud800": "x"}}, "headers", "name"),
        ({"multiValueHeaders": {"a": "b"}}, "multiValueHeaders.a", "array of strings, not a string"),
        ({"multiValueHeaders": {"a": [1]}}, "multiValueHeaders.a", "strings, not a number"),
        ({"queryStringParameters": "deep=true"}, "queryStringParameters", "not a string"),
        ({"multiValueQueryStringParameters": []}, "multiValueQueryStringParameters", "not an array"),
        ({"pathParameters": {"id": None}}, "pathParameters.id", "not null"),
        ({"stageVariables": 1}, "stageVariables", "not a number"),
        ({"body": 5}, "body", "string or null, not a number"),
        ({"isBase64Encoded": "false"}, "isBase64Encoded", "boolean, not a string"),
        ({"requestContext": "x"}, "requestContext", "object, not a string"),
        ({"requestContext": {"requestId": 1}}, "requestContext.requestId", "not a number"),
        ({"requestContext": {"identity": []}}, "requestContext.identity", "not an array"),
        (
            {"requestContext": {"identity": {"apiKeyId": {}}}},
            "requestContext.identity.apiKeyId",
            "not an object",
        ),
    ],
)
def test_a_field_of_the_wrong_type_is_named(changes: dict[str, Any], field: str, reason: str) -> None:
    problem = proxy_event_problem({**story_event(), **changes})

    assert problem is not None
    assert problem[0] == field
    assert reason in problem[1]


@pytest.mark.parametrize(
    "changes",
    [
        {"headers": None, "multiValueHeaders": None},
        {"queryStringParameters": None, "pathParameters": None, "stageVariables": None},
        {"body": None, "isBase64Encoded": None},
        {"requestContext": {}},
        {"requestContext": {"identity": None}},
        {"resource": None},
    ],
)
def test_what_api_gateway_may_leave_null_is_accepted(changes: dict[str, Any]) -> None:
    assert proxy_event_problem({**story_event(), **changes}) is None


@pytest.mark.parametrize(
    ("event", "batch"),
    [
        ({"Records": [{}]}, True),
        ({"Records": []}, False),
        ({"Records": "x"}, False),
        ([1], False),
        (None, False),
    ],
)
def test_a_batch_is_a_non_empty_records_array(event: Any, batch: bool) -> None:
    assert is_record_batch(event) is batch


def test_a_batch_whose_records_all_have_a_message_id_passes() -> None:
    event = load_event("story_segments_sqs.json")
    event["Records"].append({"messageId": "m-2", "body": json.dumps({})})

    check_record_batch(event)


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([1], r"Records\[0\] must be an SQS record object, not a number"),
        ([{"messageId": "a"}, {"messageId": ""}], r"Records\[1\]\.messageId must be a non-empty string"),
        ([{"messageId": 7}], r"Records\[0\]\.messageId must be a non-empty string, not a number"),
    ],
)
def test_a_record_without_a_message_id_is_one_named_error(records: list[Any], message: str) -> None:
    with pytest.raises(UnusableEventError, match=message):
        check_record_batch({"Records": records})


_texts = st.text(st.characters(codec="utf-8") | st.sampled_from(["\ud800", "é"]), max_size=8)
_items = _texts | st.integers() | st.none()


@settings(max_examples=400, deadline=None)
@given(
    lists=st.booleans(),
    value=st.dictionaries(_texts | st.integers(), _items | st.lists(_items, max_size=3), max_size=5),
)
def test_the_ascii_fast_path_passes_only_maps_the_full_check_passes(
    lists: bool, value: dict[Any, Any]
) -> None:
    if not _all_ascii_text(value, lists=lists):
        return
    for key, item in value.items():
        assert isinstance(key, str)
        assert key.isascii()
        assert isinstance(item, list) == lists
        for text in item if lists else [item]:
            assert isinstance(text, str)
            assert text.isascii()
