"""template.yaml stays valid, least-privileged and in step with the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.template import functions, load_template, resources_of_type, routes

ROOT = Path(__file__).resolve().parents[2]
TEXT_FUNCTIONS = {
    "StorySegmentsFunction",
    "StorySegmentsChunkedFunction",
    "StorySegmentsInSetsFunction",
    "MemeSegmentsFunction",
    "FreeContentFunction",
    "TrendingIdeasFunction",
    "AnalyzeCharacterFunction",
}


def test_cfn_lint_reports_no_error() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", "template.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_globals_runtime_architecture_tracing_and_layer() -> None:
    function = load_template()["Globals"]["Function"]

    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active"
    assert function["Layers"] == [{"Ref": "ContentgenLayer"}]
    assert function["Timeout"] <= 29
    variables = function["Environment"]["Variables"]
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"} <= set(
        variables
    )


def test_layer_is_built_from_shared_for_python312_arm64() -> None:
    layer = load_template()["Resources"]["ContentgenLayer"]

    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}
    assert (ROOT / "shared" / "requirements.txt").exists()


def test_every_function_has_its_handler_on_disk() -> None:
    for spec in functions().values():
        module, _, attribute = spec.handler.rpartition(".")
        source = (spec.code_dir / f"{module}.py").read_text()
        assert f"{attribute} = " in source or f"def {attribute}" in source


def test_api_requires_a_key_with_usage_plan_except_health() -> None:
    api = resources_of_type("AWS::Serverless::Api")["ContentgenApi"]["Properties"]

    assert api["Auth"]["ApiKeyRequired"] is True
    plan = api["Auth"]["UsagePlan"]
    assert plan["CreateUsagePlan"] == "PER_API"
    assert {"RateLimit", "BurstLimit"} <= set(plan["Throttle"])
    assert {"Limit", "Period"} <= set(plan["Quota"])
    required = {route.path: route.api_key_required for route in routes()}
    assert required["/health"] is False
    assert all(value for path, value in required.items() if path != "/health")


def _statements(policy_ref: dict[str, str]) -> list[dict[str, Any]]:
    policy = load_template()["Resources"][policy_ref["Ref"]]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


@pytest.mark.parametrize("function", sorted(TEXT_FUNCTIONS))
def test_text_functions_read_only_their_key_parameter(function: str) -> None:
    properties = load_template()["Resources"][function]["Properties"]

    assert properties["Environment"]["Variables"]["OPENROUTER_API_KEY_PARAM"] == {
        "Ref": "OpenRouterApiKeyParameterName"
    }
    statements = [s for ref in properties["Policies"] for s in _statements(ref)]
    assert {s["Action"] for s in statements} == {"ssm:GetParameter", "kms:Decrypt"}
    ssm = next(s for s in statements if s["Action"] == "ssm:GetParameter")
    assert "${OpenRouterApiKeyParameterName}" in ssm["Resource"]["Fn::Sub"]
    kms = next(s for s in statements if s["Action"] == "kms:Decrypt")
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"
    }


def test_health_has_no_secret_access() -> None:
    properties = load_template()["Resources"]["HealthFunction"]["Properties"]

    assert "Policies" not in properties
    assert "OPENROUTER_API_KEY_PARAM" not in properties.get("Environment", {}).get("Variables", {})


def test_key_parameters_are_ssm_parameter_names() -> None:
    parameter = load_template()["Parameters"]["OpenRouterApiKeyParameterName"]

    assert parameter["Type"] == "AWS::SSM::Parameter::Name"
    assert parameter["Default"].startswith("/"), "the IAM ARN is built as parameter${Name}"


def test_every_routed_function_has_a_sample_event_for_its_route() -> None:
    import json

    for function, spec in functions().items():
        served = {(route.method, route.path) for route in routes() if route.function == function}
        if not served:
            continue
        event = json.loads((ROOT / "events" / f"{spec.code_dir.name}.json").read_text())
        assert (event["httpMethod"], event["resource"]) in served
