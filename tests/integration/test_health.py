from __future__ import annotations

import json
from typing import Any
from unittest.mock import ANY

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


def test_a_disabled_key_of_the_usage_plan_does_not_pass(
    stack: Stack, health_handler: Handler, moto_server: Any
) -> None:
    from local.aws import client

    apigateway = client("apigateway", stack.aws_url)
    disabled = apigateway.create_api_key(
        name="disabled-caller", value="disabled-caller-key-0001", enabled=False
    )
    apigateway.create_usage_plan_key(
        usagePlanId=moto_server.usage_plan_id, keyId=disabled["id"], keyType="API_KEY"
    )
    context = LocalLambdaContext(function_name="HealthFunction", timeout_seconds=10)
    try:
        response = health_handler(deep_event("disabled-caller-key-0001"), context)
    finally:
        apigateway.delete_usage_plan_key(usagePlanId=moto_server.usage_plan_id, keyId=disabled["id"])
        apigateway.delete_api_key(apiKey=disabled["id"])

    assert response["statusCode"] == 403
    assert stack.provider.requests() == []


def test_a_key_disabled_or_added_in_api_gateway_is_seen_without_waiting_out_the_listing(
    stack: Stack, health_handler: Handler, moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan's listing is kept KEYS_CACHE_SECONDS (5 min) but a key's state only
    KEY_STATE_SECONDS (30 s, here 0 as if they had passed): a key disabled after it passed is
    refused, and a key added after the listing passes, without waiting for a new listing."""
    import contentgen.stores.access as access
    from local.aws import client

    monkeypatch.setattr(access, "KEY_STATE_SECONDS", 0.0)
    apigateway = client("apigateway", stack.aws_url)
    context = LocalLambdaContext(function_name="HealthFunction", timeout_seconds=10)
    assert health_handler(deep_event(LOCAL_API_KEY), context)["statusCode"] == 200  # the plan is listed
    added = apigateway.create_api_key(name="added-caller", value="added-caller-key-0001", enabled=True)
    apigateway.create_usage_plan_key(
        usagePlanId=moto_server.usage_plan_id, keyId=added["id"], keyType="API_KEY"
    )
    try:
        assert health_handler(deep_event("added-caller-key-0001"), context)["statusCode"] == 200
        apigateway.update_api_key(
            apiKey=added["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
        )
        refused = health_handler(deep_event("added-caller-key-0001"), context)
    finally:
        apigateway.delete_usage_plan_key(usagePlanId=moto_server.usage_plan_id, keyId=added["id"])
        apigateway.delete_api_key(apiKey=added["id"])

    assert refused["statusCode"] == 403


def test_a_key_deleted_since_the_listing_is_403_not_503(
    stack: Stack, health_handler: Handler, moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GetApiKey answers NotFoundException for a key deleted after the plan was listed: not a key."""
    import contentgen.stores.access as access
    from local.aws import client

    monkeypatch.setattr(access, "KEY_STATE_SECONDS", 0.0)
    apigateway = client("apigateway", stack.aws_url)
    context = LocalLambdaContext(function_name="HealthFunction", timeout_seconds=10)
    added = apigateway.create_api_key(name="deleted-caller", value="deleted-caller-key-0001", enabled=True)
    apigateway.create_usage_plan_key(
        usagePlanId=moto_server.usage_plan_id, keyId=added["id"], keyType="API_KEY"
    )
    assert health_handler(deep_event("deleted-caller-key-0001"), context)["statusCode"] == 200
    apigateway.delete_usage_plan_key(usagePlanId=moto_server.usage_plan_id, keyId=added["id"])
    apigateway.delete_api_key(apiKey=added["id"])

    response = health_handler(deep_event("deleted-caller-key-0001"), context)

    assert response["statusCode"] == 403, response["body"]


@pytest.mark.parametrize(
    ("api_key", "status"), [("\ud800", 400), ("k\udfff", 400), ("caf\u00e9", 403), ("k" * 5000, 403)]
)
def test_a_key_no_api_key_can_be_is_4xx_not_500(
    stack: Stack, health_handler: Handler, api_key: str, status: int
) -> None:
    """Non-ASCII text matches no key (403); a lone surrogate, which only a direct invocation can
    send, is not a header API Gateway delivers (400 `invalid_event` naming it)."""
    context = LocalLambdaContext(function_name="HealthFunction", timeout_seconds=10)

    response = health_handler(deep_event(api_key), context)

    assert response["statusCode"] == status, response["body"]
    if status == 400:
        assert json.loads(response["body"])["errors"][0]["field"] == "headers.x-api-key"
    assert stack.provider.requests() == []


def test_the_deep_check_reads_ssm_at_most_once_a_minute(
    stack: Stack, health_handler: Handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = LocalLambdaContext(function_name="HealthFunction", timeout_seconds=10)
    first = json.loads(health_handler(deep_event(LOCAL_API_KEY), context)["body"])
    stack.ssm.delete_parameter(Name=stack.parameter)  # a fresh read would now fail

    second = json.loads(health_handler(deep_event(LOCAL_API_KEY), context)["body"])

    assert first["checks"]["ssm"]["status"] == "ok"
    assert "cached" not in first["checks"]["ssm"]
    assert second["checks"]["ssm"] == {**first["checks"]["ssm"], "cached": True, "latency_ms": ANY}
