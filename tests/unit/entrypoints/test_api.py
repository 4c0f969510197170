"""The adapter: one error mapping, direct invocation, correlation ids (services faked)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.errors import (
    ConfigurationError,
    ContentgenError,
    DeadlineExceededError,
    InvalidRequestError,
    ModelOutputError,
    ProviderRateLimitedError,
    SecretUnavailableError,
)
from contentgen.models.stories import StorySegmentsRequest
from local.lambda_context import LocalLambdaContext
from tests.conftest import log_records

Raise = Callable[[StorySegmentsRequest], Any]


def build_handler(behaviour: Raise) -> Callable[[Any, Any], Any]:
    app = create_app()

    @app.post("/stories/segments")
    def route(request: StorySegmentsRequest) -> Any:
        return behaviour(request)

    return lambda_entrypoint(app, direct_route=("POST", "/stories/segments"))


def raising(error: Exception) -> Raise:
    def behave(request: StorySegmentsRequest) -> Any:
        raise error

    return behave


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidRequestError("segment_count", "too many for this model"), 422, "invalid_request"),
        (ConfigurationError("service misconfigured: TEXT_MODEL"), 503, "configuration_error"),
        (SecretUnavailableError("could not read SSM parameter /x"), 503, "secret_unavailable"),
        (
            ProviderRateLimitedError("OpenRouter is rate limiting", retry_after=2.5),
            503,
            "provider_rate_limited",
        ),
        (ModelOutputError("bad output"), 502, "invalid_model_output"),
        (DeadlineExceededError("no time"), 504, "deadline_exceeded"),
    ],
)
def test_layer_errors_map_to_their_status(
    error: ContentgenError,
    status: int,
    code: str,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
) -> None:
    handler = build_handler(raising(error))

    response = handler(api_event("POST", "/stories/segments", {"prompt": "x"}), lambda_context)

    body = json.loads(response["body"])
    assert response["statusCode"] == status
    assert body["code"] == code
    assert body["message"] == error.message
    assert body["request_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


def test_rate_limited_answer_carries_retry_after(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    handler = build_handler(raising(ProviderRateLimitedError("slow down", retry_after=2.5)))

    response = handler(api_event("POST", "/stories/segments", {"prompt": "x"}), lambda_context)

    assert response["multiValueHeaders"]["Retry-After"] == ["3"]


def test_unexpected_error_is_a_generic_500_without_trace(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext, log_output: io.StringIO
) -> None:
    handler = build_handler(raising(RuntimeError("secret-ish internal detail")))

    response = handler(api_event("POST", "/stories/segments", {"prompt": "x"}), lambda_context)

    assert response["statusCode"] == 500
    assert json.loads(response["body"])["message"] == "internal error"
    assert "Traceback" not in response["body"]
    assert "internal detail" not in response["body"]
    errors = [record for record in log_records(log_output) if record["level"] == "ERROR"]
    assert errors[0]["message"] == "unhandled error"
    assert "RuntimeError" in errors[0]["exception"], "the trace goes to the log"


def test_unknown_route_and_method_are_4xx(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    handler = build_handler(lambda request: {"ok": True})

    assert handler(api_event("POST", "/nope", {"prompt": "x"}), lambda_context)["statusCode"] == 404
    assert handler(api_event("GET", "/stories/segments"), lambda_context)["statusCode"] == 404


def test_direct_invocation_returns_the_same_body(lambda_context: LocalLambdaContext) -> None:
    handler = build_handler(lambda request: {"echo": request.prompt, "count": request.segment_count})

    assert handler({"prompt": "  hello  ", "segment_count": 2}, lambda_context) == {
        "echo": "hello",
        "count": 2,
        # Every generation answer carries the invocation's usage (contentgen.entrypoints.spend); none here.
        "usage": {
            "model": None,
            "prompt_tokens": None,
            "completion_tokens": None,
            "provider_requests": 0,
            "cost_usd": None,
        },
    }


def test_direct_invocation_with_an_invalid_body_returns_the_error_body(
    lambda_context: LocalLambdaContext,
) -> None:
    handler = build_handler(lambda request: {"ok": True})

    body = handler({"segment_count": 2}, lambda_context)

    assert body["status_code"] == 422
    assert body["errors"][0]["field"] == "prompt"


def test_every_log_line_carries_the_correlation_id(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext, log_output: io.StringIO
) -> None:
    handler = build_handler(raising(ModelOutputError("bad")))

    handler(api_event("POST", "/stories/segments", {"prompt": "x"}), lambda_context)

    lines = log_records(log_output)
    assert len(lines) >= 2, "expected the failure and the request line"
    assert {line.get("correlation_id") for line in lines} == {"c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}


def test_misconfiguration_is_a_503_naming_the_variable(
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from contentgen.config import get_settings

    monkeypatch.setenv("API_GATEWAY_TIMEOUT_SECONDS", "soon")
    handler = build_handler(lambda request: get_settings())

    response = handler(api_event("POST", "/stories/segments", {"prompt": "x"}), lambda_context)

    assert response["statusCode"] == 503
    assert "API_GATEWAY_TIMEOUT_SECONDS" in json.loads(response["body"])["message"]


def test_http_requests_get_no_more_time_than_api_gateway_waits(
    api_event: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from contentgen.core.deadline import current_deadline

    monkeypatch.setenv("API_GATEWAY_TIMEOUT_SECONDS", "29")
    long_running = LocalLambdaContext(function_name="contentgen-test", timeout_seconds=300)
    handler = build_handler(lambda request: {"remaining": current_deadline().remaining()})

    over_http = json.loads(
        handler(api_event("POST", "/stories/segments", {"prompt": "x"}), long_running)["body"]
    )
    direct = handler({"prompt": "x"}, long_running)

    assert 28 < over_http["remaining"] <= 29
    assert direct["remaining"] > 290


def test_partial_results_are_returned_with_the_error(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    error = DeadlineExceededError("no time").with_partial({"segments": [{"index": 1}]})
    handler = build_handler(raising(error))

    response = handler(api_event("POST", "/stories/segments", {"prompt": "x"}), lambda_context)

    assert response["statusCode"] == 504
    assert json.loads(response["body"])["partial"] == {"segments": [{"index": 1}]}


# What callers really send (issue 10 items 7-8, issue 15): refused before any route runs.


def counting_handler() -> tuple[Callable[[Any, Any], Any], list[StorySegmentsRequest]]:
    calls: list[StorySegmentsRequest] = []

    def behave(request: StorySegmentsRequest) -> Any:
        calls.append(request)
        return {"prompt": request.prompt}

    return build_handler(behave), calls


@pytest.mark.parametrize(
    ("raw", "named"),
    [('[{"prompt": "x"}]', "an array"), ('"x"', "a string"), ("7", "a number"), ("null", "null")],
)
def test_a_body_that_is_not_an_object_is_422_naming_body_and_runs_nothing(
    raw: str, named: str, api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    handler, calls = counting_handler()

    response = handler(api_event("POST", "/stories/segments", raw_body=raw), lambda_context)

    body = json.loads(response["body"])
    assert response["statusCode"] == 422, body
    assert body["errors"][0]["field"] == "body"
    assert named in body["message"]
    assert calls == [], "Powertools would have taken the array's first element"


@pytest.mark.parametrize("event", [[{"prompt": "x"}], "x", 7, None])
def test_a_direct_invocation_that_is_not_an_object_is_422_naming_body(
    event: Any, lambda_context: LocalLambdaContext
) -> None:
    handler, calls = counting_handler()

    body = handler(event, lambda_context)

    assert body["status_code"] == 422
    assert body["errors"][0]["field"] == "body"
    assert calls == []


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/vnd.api+json",
        "application/problem+json",
    ],
)
def test_json_content_types_with_parameters_and_suffixes_are_served(
    content_type: str, api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    handler, calls = counting_handler()
    event = api_event("POST", "/stories/segments", {"prompt": "x"})
    event["headers"].pop("Content-Type", None)
    event["multiValueHeaders"] = {}
    event["headers"]["content-type"] = content_type

    response = handler(event, lambda_context)

    assert response["statusCode"] == 200, response["body"]
    assert len(calls) == 1


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b"]
)
def test_other_content_types_are_415_naming_json(
    content_type: str, api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    handler, calls = counting_handler()
    event = api_event("POST", "/stories/segments", {"prompt": "x"})
    event["headers"]["Content-Type"] = content_type

    response = handler(event, lambda_context)

    body = json.loads(response["body"])
    assert (response["statusCode"], body["code"]) == (415, "unsupported_media_type")
    assert "application/json" in body["message"]
    assert calls == []


@pytest.mark.parametrize(
    ("raw", "is_base64", "status", "code"),
    [
        ("[" * 1000 + "]" * 1000, False, 400, "invalid_json"),
        ('{"prompt": "x", "segment_count": ' + "9" * 5000 + "}", False, 400, "invalid_json"),
        ("not base64!", True, 400, "invalid_encoding"),
        ("/w==", True, 400, "invalid_encoding"),  # the byte 0xff: not UTF-8
        ('{"prompt": ', False, 400, "invalid_json"),
    ],
)
def test_hostile_bodies_are_4xx_not_500(
    raw: str,
    is_base64: bool,
    status: int,
    code: str,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
) -> None:
    handler, calls = counting_handler()
    event = api_event("POST", "/stories/segments", raw_body=raw)
    event["isBase64Encoded"] = is_base64

    response = handler(event, lambda_context)

    assert (response["statusCode"], json.loads(response["body"])["code"]) == (status, code)
    assert calls == []


def test_a_base64_body_is_served_like_the_plain_one(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    import base64

    handler, calls = counting_handler()
    event = api_event(
        "POST", "/stories/segments", raw_body=base64.b64encode(b'{"prompt": "caf\xc3\xa9"}').decode()
    )
    event["isBase64Encoded"] = True

    response = handler(event, lambda_context)

    assert response["statusCode"] == 200
    assert calls[0].prompt == "café"


def test_every_answer_carries_the_request_id_header(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    handler, _ = counting_handler()
    request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    ok = handler(api_event("POST", "/stories/segments", {"prompt": "x"}), lambda_context)
    invalid = handler(api_event("POST", "/stories/segments", {"segment_count": 2}), lambda_context)
    refused = handler(api_event("POST", "/stories/segments", raw_body="[1]"), lambda_context)
    missing = handler(api_event("POST", "/nope", {"prompt": "x"}), lambda_context)

    for response in (ok, invalid, refused, missing):
        assert response["multiValueHeaders"]["X-Request-Id"] == [request_id]
    assert json.loads(invalid["body"])["request_id"] == request_id


def test_an_error_answer_lists_at_most_20_errors_each_bounded() -> None:
    from contentgen.entrypoints.answers import MAX_LISTED_ERRORS, error_response

    # 300,000 long errors: the first distinct, the rest one shared dict (3.3 GB if each had its own
    # 11 kB of text; the answer is bounded however they are made).
    listed = [{"field": f"f{i}" + "x" * 1000, "message": "m" * 10_000} for i in range(MAX_LISTED_ERRORS)]
    errors = listed + [{"field": "f" + "x" * 1000, "message": "m" * 10_000}] * (300_000 - MAX_LISTED_ERRORS)

    body = json.loads(error_response(422, "invalid_request", "w" * 100_000, errors=errors).body or "{}")

    assert len(body["errors"]) == MAX_LISTED_ERRORS
    assert body["errors_not_listed"] == 300_000 - MAX_LISTED_ERRORS
    assert body["errors"][0]["field"].startswith("f0x")
    assert len(body["errors"][0]["field"]) == 200
    assert len(body["errors"][0]["message"]) == 500
    assert body["errors"][0]["message"].endswith("…")
    assert len(body["message"]) == 4000
    assert len(json.dumps(body)) < 20_000


def test_a_short_error_list_is_answered_as_it_is() -> None:
    from contentgen.entrypoints.answers import error_response

    errors = [{"field": "prompt", "message": "Field required"}]

    body = json.loads(error_response(422, "invalid_request", "invalid", errors=errors).body or "{}")

    assert body["errors"] == errors
    assert "errors_not_listed" not in body


@pytest.mark.parametrize(
    "body",
    [
        {"segment_count": 2},
        {"prompt": "", "segment_count": "many"},
        {"prompt": "x", "segment_count": 2, "style": 7, "unknown": True},
        {"prompt": "a story", "segment_count": 3},
    ],
)
def test_body_only_routes_validate_as_powertools_own_middleware_does(
    body: dict[str, Any], lambda_context: LocalLambdaContext
) -> None:
    """The request validation that skips query, header and cookie parsing for a route declaring
    none answers exactly what Powertools' own middleware answers: same status, same fields."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
        OpenAPIRequestValidationMiddleware,
    )

    def served(app: APIGatewayRestResolver) -> Any:
        @app.post("/stories/segments")
        def route(request: StorySegmentsRequest) -> Any:
            return {"prompt": request.prompt, "segment_count": request.segment_count}

        handler: Callable[[Any, Any], Any] = lambda_entrypoint(
            app, direct_route=("POST", "/stories/segments")
        )
        return handler(body, lambda_context)

    ours_app, theirs_app = create_app(), create_app()
    assert type(ours_app._request_validation_middleware) is not OpenAPIRequestValidationMiddleware
    theirs_app._request_validation_middleware = OpenAPIRequestValidationMiddleware()  # type: ignore[no-untyped-call]
    ours, theirs = served(ours_app), served(theirs_app)
    assert ours == theirs
