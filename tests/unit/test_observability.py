from __future__ import annotations

import json

import pytest

from contentgen.observability import record_provider_call, tracing_enabled


@pytest.mark.parametrize(
    ("environment", "enabled"),
    [
        ({}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
    ],
)
def test_tracing_follows_powertools_rule(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], enabled: bool
) -> None:
    for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert tracing_enabled() is enabled


def test_provider_call_metrics_carry_model_tokens_and_cost(capsys: pytest.CaptureFixture[str]) -> None:
    record_provider_call(
        provider="OpenRouter",
        model="openai/gpt-4o-mini",
        latency_ms=12.5,
        prompt_tokens=100,
        completion_tokens=40,
        cost_usd=0.00012,
    )

    blob = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert blob["model"] == "openai/gpt-4o-mini"
    assert blob["PromptTokens"] == [100.0]
    assert blob["CostUSD"] == [0.00012]
    names = {metric["Name"] for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names == {"ProviderLatency", "PromptTokens", "CompletionTokens", "CostUSD"}
    assert sorted(blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == ["model", "provider", "service"]
