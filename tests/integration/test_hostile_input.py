"""What callers really send, over every handler with the emulator and moto up (issue 10 items
7-9, issue 15): non-object bodies, media types, base64, the Idempotency-Key header on every route,
the request id header, and the open deep health check's key comparison."""

from __future__ import annotations

import base64
import json
from copy import deepcopy
from typing import Any

import pytest

from local.lambda_context import LocalLambdaContext
from local.runtime import load_handler
from local.template import Route, functions, routes
from tests.conftest import load_event
from tests.integration.conftest import Stack, _loaded

pytestmark = pytest.mark.integration

STORY = "StorySegmentsFunction"


def sample_event(route: Route) -> dict[str, Any]:
    """The recorded sample event of `route` (events/<function folder>.json), a valid request."""
    name = functions()[route.function].code_dir.name
    if route.function == "GenerateVideoFunction" and route.method == "GET":
        name = "generate_video_status"
    event = load_event(f"{name}.json")
    if route.function == "ShortsFunction" and route.method == "GET":  # no recorded status event
        short_id = "short-0123456789abcdef0123456789abcdef01234567"
        event["httpMethod"], event["body"] = "GET", None
        event["resource"], event["path"] = route.path, f"/shorts/{short_id}"
        event["pathParameters"] = {"short_id": short_id}
    return event


def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
    handler = _loaded.get(function)
    if handler is None:
        handler = _loaded[function] = load_handler(functions()[function])
    response: dict[str, Any] = handler(event, LocalLambdaContext(function_name=function))
    return response


def story_event(raw_body: str, **headers: str) -> dict[str, Any]:
    event = load_event("story_segments.json")
    event["body"] = raw_body
    event["headers"].update(headers)
    return event


@pytest.mark.parametrize("raw", ['[{"prompt": "x", "segment_count": 1}]', '"x"', "3", "null", "true"])
def test_a_body_that_is_not_an_object_costs_nothing_and_is_422_naming_body(stack: Stack, raw: str) -> None:
    response = call(STORY, story_event(raw))

    body = json.loads(response["body"])
    assert response["statusCode"] == 422, body
    assert [error["field"] for error in body["errors"]] == ["body"]
    assert stack.provider.requests() == []


def test_a_direct_invocation_with_an_array_is_422_naming_body(stack: Stack) -> None:
    answer = call(STORY, [{"prompt": "x", "segment_count": 1}])  # type: ignore[arg-type]

    assert answer["status_code"] == 422
    assert answer["errors"][0]["field"] == "body"
    assert stack.provider.requests() == []


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json; charset=utf-8", 200),
        ("Application/Json", 200),
        ("application/vnd.api+json", 200),
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
    ],
)
def test_content_types_over_the_handler(stack: Stack, content_type: str, status: int) -> None:
    event = story_event(json.dumps({"prompt": "A robot learns to paint", "segment_count": 1}))
    event["headers"]["Content-Type"] = content_type
    event["multiValueHeaders"] = {}

    response = call(STORY, event)

    assert response["statusCode"] == status, response["body"]
    assert len(stack.provider.requests()) == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (base64.b64encode(b'{"prompt": "\xff\xfe"}').decode(), "invalid_encoding"),
        ("!!!", "invalid_encoding"),
        (base64.b64encode(b"[" * 1000 + b"]" * 1000).decode(), "invalid_json"),
    ],
)
def test_hostile_base64_bodies_are_400(stack: Stack, raw: str, code: str) -> None:
    event = story_event(raw)
    event["isBase64Encoded"] = True

    response = call(STORY, event)

    assert (response["statusCode"], json.loads(response["body"])["code"]) == (400, code)


def test_the_same_request_re_serialised_is_a_replay_not_a_conflict(stack: Stack) -> None:
    request = {"prompt": "A robot learns to paint", "segment_count": 2, "language": "en"}
    compact = json.dumps(request, separators=(",", ":"))
    reordered = json.dumps(dict(reversed(list(request.items()))), indent=4)
    encoded = base64.b64encode(json.dumps(request).encode()).decode()

    answers = []
    for raw, is_base64 in ((compact, False), (reordered, False), (encoded, True)):
        event = story_event(raw, **{"Idempotency-Key": "order-canonical"})
        event["isBase64Encoded"] = is_base64
        answers.append(call(STORY, event))

    assert [a["statusCode"] for a in answers] == [200, 200, 200]
    assert json.loads(answers[1]["body"]) == json.loads(answers[2]["body"]) == json.loads(answers[0]["body"])
    assert len(stack.provider.requests()) == 1


def test_a_request_refused_by_validation_is_not_remembered(stack: Stack) -> None:
    key = {"Idempotency-Key": "order-fix-and-retry"}

    refused = call(STORY, story_event(json.dumps({"prompt": "", "segment_count": 0}), **key))
    fixed = call(STORY, story_event(json.dumps({"prompt": "A robot", "segment_count": 1}), **key))
    again = call(STORY, story_event(json.dumps({"prompt": "A robot", "segment_count": 1}), **key))

    assert refused["statusCode"] == 422
    assert fixed["statusCode"] == again["statusCode"] == 200, fixed["body"]
    assert len(stack.provider.requests()) == 1


@pytest.mark.parametrize("route", routes(), ids=lambda route: f"{route.method} {route.path}")
def test_every_route_answers_the_idempotency_key_consistently(
    stack: Stack, route: Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POST: a repeat is the first answer, without a second provider call. GET ignores it.
    (POST /videos hands its job to Lambda by name: here the starts are only recorded, so the
    job's own provider calls cannot land between the two answers; jobs run in test_video_jobs.)"""
    from contentgen.services.jobs import set_execution_starter

    started: list[str] = []

    def record(function: str, name: str, payload: str) -> str:
        started.append(name)
        return f"arn:recorded:{name}"

    set_execution_starter(record)
    try:
        _idempotency_key_consistency(stack, route)
    finally:
        set_execution_starter(None)
    if route.function == "GenerateVideoFunction" and route.method == "POST":
        assert len(set(started)) == len(started), "the repeat started no second job"


def _idempotency_key_consistency(stack: Stack, route: Route) -> None:
    plain = call(route.function, sample_event(route))
    stack.provider.reset()
    event = sample_event(route)
    event["headers"]["Idempotency-Key"] = f"key-{route.function}-{route.method}"

    first = call(route.function, deepcopy(event))
    calls = len(stack.provider.requests())
    again = call(route.function, deepcopy(event))

    assert first["statusCode"] < 500, first["body"]
    assert again["statusCode"] == first["statusCode"]
    assert len(stack.provider.requests()) == calls, "a repeat must not reach the provider"
    request_id = event["requestContext"]["requestId"]
    assert again["multiValueHeaders"]["X-Request-Id"] == [request_id]
    if route.method == "POST":
        # A replayed thumbnail's URL is signed again (valid from the replay), so it may differ.
        signed_again = ("image_url",) if route.function == "GenerateThumbnailFunction" else ()
        assert _without(json.loads(again["body"]), signed_again) == _without(
            json.loads(first["body"]), signed_again
        )
        assert again["multiValueHeaders"]["Idempotency-Key"] == [event["headers"]["Idempotency-Key"]]
    else:
        assert first["statusCode"] == plain["statusCode"]
        assert "Idempotency-Key" not in first["multiValueHeaders"]


def _without(body: Any, fields: tuple[str, ...]) -> Any:
    return {k: v for k, v in body.items() if k not in fields} if isinstance(body, dict) else body


@pytest.mark.parametrize("key", ["clé-ü-🔑", "\u00ff" * 40, "plain-but-wrong"])
def test_deep_health_with_a_non_ascii_key_is_403_not_500(stack: Stack, key: str) -> None:
    event = load_event("health.json")
    event["queryStringParameters"] = {"deep": "true"}
    event["multiValueQueryStringParameters"] = {"deep": ["true"]}
    event["headers"]["x-api-key"] = key

    response = call("HealthFunction", event)

    assert response["statusCode"] == 403, response["body"]
    assert stack.provider.requests() == []


@pytest.mark.parametrize(
    "raw",
    [
        '{"prompt": "\\ud800 lone surrogate", "segment_count": 1}',
        '{"prompt": "x", "segment_count": 1e400}',
        '{"prompt": "x", "segment_count": 1, "prompt": "duplicate"}',
        '{"prompt": "\\u0000", "segment_count": 1}',
    ],
)
def test_odd_but_valid_json_is_never_a_500(stack: Stack, raw: str) -> None:
    response = call(STORY, story_event(raw, **{"Idempotency-Key": "clé-🔑"}))

    assert response["statusCode"] < 500, response["body"]


def _set(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`event` with the field at dotted `path` set to `value` (`None` removes nothing: it is set)."""
    *parents, last = path.split(".")
    target = event
    for name in parents:
        target = target[name]
    target[last] = value
    return event


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("headers", ["x"], "headers"),
        ("headers.Content-Type", None, "headers.Content-Type"),
        ("headers.Idempotency-Key", ["a"], "headers.Idempotency-Key"),
        ("headers.Idempotency-Key", "\ud800", "headers.Idempotency-Key"),
        ("multiValueHeaders", "x", "multiValueHeaders"),
        ("multiValueHeaders.Content-Type", "application/json", "multiValueHeaders.Content-Type"),
        ("queryStringParameters", "x", "queryStringParameters"),
        ("multiValueQueryStringParameters", {"deep": "true"}, "multiValueQueryStringParameters.deep"),
        ("pathParameters", [1], "pathParameters"),
        ("requestContext", "x", "requestContext"),
        ("requestContext", None, "requestContext"),
        ("requestContext.requestId", {"x": 1}, "requestContext.requestId"),
        ("requestContext.identity", "x", "requestContext.identity"),
        ("requestContext.identity.apiKeyId", {"a": 1}, "requestContext.identity.apiKeyId"),
        ("httpMethod", None, "httpMethod"),
        ("httpMethod", 5, "httpMethod"),
        ("path", None, "path"),
        ("resource", [], "resource"),
        ("body", 5, "body"),
        ("body", {"prompt": "x"}, "body"),
        ("isBase64Encoded", "false", "isBase64Encoded"),
    ],
)
def test_a_proxy_event_of_the_wrong_shape_is_400_naming_the_field(
    stack: Stack, path: str, value: Any, field: str
) -> None:
    event = _set(story_event(json.dumps({"prompt": "x", "segment_count": 1})), path, value)

    response = call(STORY, event)

    body = json.loads(response["body"])
    assert (response["statusCode"], body["code"]) == (400, "invalid_event"), body
    assert body["errors"][0]["field"] == field
    assert response["multiValueHeaders"]["X-Request-Id"]
    assert stack.provider.requests() == []


def test_a_proxy_event_without_a_path_is_400_naming_it(stack: Stack) -> None:
    response = call(STORY, {"httpMethod": "POST", "requestContext": {}})

    body = json.loads(response["body"])
    assert (response["statusCode"], body["errors"][0]["field"]) == (400, "path")


@pytest.mark.parametrize("key", ["\ud800", "k\udfff"])
def test_deep_health_with_a_key_that_is_not_utf8_is_a_4xx_not_500(stack: Stack, key: str) -> None:
    event = load_event("health.json")
    event["queryStringParameters"] = {"deep": "true"}
    event["multiValueQueryStringParameters"] = {"deep": ["true"]}
    event["headers"]["x-api-key"] = key

    response = call("HealthFunction", event)

    body = json.loads(response["body"])
    assert (response["statusCode"], body["errors"][0]["field"]) == (400, "headers.x-api-key")
    assert stack.provider.requests() == []


def test_many_unknown_fields_give_a_bounded_422(stack: Stack) -> None:
    # 300,000 unknown fields once answered 22 MB: Lambda refuses an answer over 6 MB (a 502).
    body = {"a" * 100_000: 0, "prompt": "x", "segment_count": 1, **{f"k{i}": 0 for i in range(5_000)}}

    response = call(STORY, story_event(json.dumps(body)))

    answer = json.loads(response["body"])
    assert response["statusCode"] == 422
    assert len(answer["errors"]) == 20
    assert answer["errors_not_listed"] == 5_001 - 20
    assert len(response["body"]) < 20_000
    assert (
        answer["errors"][0]["field"] == "a" * 199 + "…"
    )  # each field name cut to 200 characters (keys come sorted)
    assert "and 4996 more" in answer["message"]
