from __future__ import annotations

import json
from typing import Any

import pytest

from local.aws import LOCAL_API_KEY
from local.lambda_context import LocalLambdaContext
from local.template import functions
from tests.conftest import load_event
from tests.integration.conftest import Handler, Stack

pytestmark = pytest.mark.integration


def test_health_answers_without_provider_or_ssm(
    stack: Stack, health_handler: Handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # SSM would be unreachable
    context = LocalLambdaContext(function_name="HealthFunction", timeout_seconds=5)

    response = health_handler(load_event("health.json"), context)

    body = json.loads(response["body"])
    assert response["statusCode"] == 200
    assert body["status"] == "ok"
    assert body["version"]
    assert body["configured"]["openrouter_api_key"] is True
    assert stack.provider.requests() == []


def test_health_reports_missing_configuration(health_handler: Handler) -> None:
    context = LocalLambdaContext(function_name="HealthFunction", timeout_seconds=5)

    body = health_handler({}, context)

    assert body["status"] == "ok"
    assert body["configured"]["openrouter_api_key"] is False


def deep_event(api_key: str | None) -> dict[str, Any]:
    event = load_event("health.json")
    event["queryStringParameters"] = {"deep": "true"}
    event["multiValueQueryStringParameters"] = {"deep": ["true"]}
    headers = {
        key: value for key, value in (event.get("headers") or {}).items() if key.lower() != "x-api-key"
    }
    if api_key is not None:
        headers["x-api-key"] = api_key
    event["headers"] = headers
    event["multiValueHeaders"] = {key: [value] for key, value in headers.items()}
    return event


@pytest.mark.parametrize("api_key", [None, "not-a-key"])
def test_deep_health_needs_a_key_of_the_usage_plan(
    stack: Stack, health_handler: Handler, api_key: str | None
) -> None:
    context = LocalLambdaContext(function_name="HealthFunction", timeout_seconds=10)

    response = health_handler(deep_event(api_key), context)

    assert response["statusCode"] == 403
    assert "x-api-key" in json.loads(response["body"])["message"]
    assert stack.provider.requests() == []


def test_deep_health_checks_ssm_and_each_provider(
    stack: Stack, health_handler: Handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in functions()["GenerateThumbnailFunction"].environment.items():
        if name.startswith("GOOGLE_") and not name.endswith("_BASE_URL"):  # keep the emulator's URLs
            monkeypatch.setenv(name, value)
    context = LocalLambdaContext(function_name="HealthFunction", timeout_seconds=10)

    response = health_handler(deep_event(LOCAL_API_KEY), context)

    body = json.loads(response["body"])
    assert response["statusCode"] == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"ssm", "openrouter", "google_genai"}
    assert body["checks"]["ssm"]["status"] == "ok"
    # Both providers are the loopback emulator here: health says so rather than "ok".
    assert body["checks"]["openrouter"]["status"] == "emulator"
    assert body["checks"]["google_genai"]["status"] == "emulator"
    assert body["providers"] == {"openrouter": "emulator", "google_genai": "emulator"}
    for part in body["checks"].values():
        assert part["latency_ms"] >= 0
    assert len(body["checks"]["ssm"]["parameters"]) == 2
    paths = sorted(request["path"] for request in stack.provider.requests())
    assert paths[0].endswith("/api/v1/key")
    assert "/models/" in paths[1]
    assert stack.key not in response["body"]


def test_deep_health_reports_a_failing_provider_as_degraded(
    stack: Stack, health_handler: Handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "GOOGLE_API_KEY_PARAM", functions()["GenerateThumbnailFunction"].environment["GOOGLE_API_KEY_PARAM"]
    )
    stack.provider.configure(google_api_key="another-key")  # the stored Google key is now rejected
    context = LocalLambdaContext(function_name="HealthFunction", timeout_seconds=10)

    response = health_handler(deep_event(LOCAL_API_KEY), context)

    body = json.loads(response["body"])
    assert response["statusCode"] == 503
    assert body["status"] == "degraded"
    assert body["checks"]["openrouter"]["status"] == "emulator"
    assert body["checks"]["google_genai"] == {
        "status": "failed",
        "failure": "auth",
        "http_status": 401,
        "latency_ms": body["checks"]["google_genai"]["latency_ms"],
    }
