"""The adapter: one error mapping, direct invocation, correlation ids (services faked)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from contentgen.api import create_app, lambda_entrypoint
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
        # Every generation answer carries the invocation's usage (contentgen.spend); none here.
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
