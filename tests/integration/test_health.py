from __future__ import annotations

import json

import pytest

from local.lambda_context import LocalLambdaContext
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
