"""`sam local` without an AWS account (issue 23, item 12), proven without Docker or the SAM CLI.

For each local environment of samconfig.toml, template.yaml is translated by aws-sam-translator
with that environment's `parameter_overrides` (as `sam local` does before it starts a container),
each function's conditions decided with the same values, and its environment taken as `sam local`
gives it: the template's values where SAM can resolve them (parameters), overridden by env.json.
Then nothing may need AWS: no layer by ARN (which `sam local` downloads from AWS with the
caller's credentials), no extension that would call the real SSM, every SDK on loopback, and
every name (tables, buckets, queues, bus, SSM parameters) one the local stack serves.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import re
import shutil
import subprocess
import tomllib
from functools import cache
from typing import Any

import pytest

from local.template import (
    ROOT,
    condition_holds,
    functions,
    load_template,
    parameters,
    resolve,
    ssm_key_parameters,
)

SAMCONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())
ENV_JSON = json.loads((ROOT / "env.json").read_text())
LOCAL_COMMANDS = ("local_start_api", "local_invoke")
# The environments the README documents for sam local, and the machine each runs natively on.
LOCAL_ENVIRONMENTS = {"local": "arm64", "local-x86_64": "x86_64"}
UNRESOLVED = "<resolved by CloudFormation only>"


def overrides(environment: str, command: str) -> dict[str, str]:
    text = SAMCONFIG[environment][command]["parameters"].get("parameter_overrides", "")
    return dict(pair.split("=", 1) for pair in text.split())


@cache
def translated(pairs: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """template.yaml after SAM's transform with these parameter values."""
    from samtranslator.translator.transform import transform  # type: ignore[import-untyped]

    class _NoManagedPolicyLookups:
        def load(self) -> dict[str, str]:
            return {}

    template = copy.deepcopy(load_template())
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                properties[key] = f"s3://local-build/{key}"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    result: dict[str, Any] = transform(template, dict(pairs), _NoManagedPolicyLookups())
    return result


def sam_local_value(value: Any) -> Any:
    """A property as `sam local` resolves it: parameters and conditions yes, a resource's name or
    attribute no (SAM CLI gives the logical id, aws/aws-sam-cli#1604: env.json must say it)."""
    resources = load_template()["Resources"]
    if isinstance(value, dict) and len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return sam_local_value(when_true if condition_holds(str(condition)) else when_false)
        if name == "Ref":
            return UNRESOLVED if argument in resources else resolve(value)
        if name == "Fn::GetAtt":
            return UNRESOLVED
        if name == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            names = re.findall(r"\$\{([^}!]+)\}", text)
            return UNRESOLVED if any(n.split(".")[0] in resources for n in names) else resolve(value)
    if isinstance(value, list):
        return [sam_local_value(item) for item in value]
    return value


CASES = [(environment, command) for environment in LOCAL_ENVIRONMENTS for command in LOCAL_COMMANDS]


@pytest.mark.parametrize(("environment", "command"), CASES)
def test_sam_local_needs_no_layer_from_aws_and_no_extension(environment: str, command: str) -> None:
    values = overrides(environment, command)
    assert values.get("UseParametersSecretsExtension") == "false"
    assert set(values) <= set(load_template()["Parameters"]), "every override is a template parameter"

    with parameters(**values):
        template = translated(tuple(sorted(values.items())))
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            layers = [decided(layer) for layer in resource["Properties"].get("Layers", [])]
            layers = [layer for layer in layers if layer != {"Ref": "AWS::NoValue"}]
            assert layers, logical_id
            for layer in layers:
                assert not (isinstance(layer, str) and layer.startswith("arn:")), (
                    f"{logical_id} downloads {layer}"
                )
                # A layer this template builds (`sam build`), nothing by ARN.
                assert isinstance(layer, dict), layer
                assert template["Resources"][layer["Ref"]]["Type"] == "AWS::Lambda::LayerVersion"
            architectures = [decided(item) for item in resource["Properties"]["Architectures"]]
            assert [resolve(item) for item in architectures] == [LOCAL_ENVIRONMENTS[environment]], logical_id


def decided(value: Any) -> Any:
    """`Fn::If` decided by its condition under the parameters in force; other values as they are."""
    while isinstance(value, dict) and "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        value = when_true if condition_holds(str(condition)) else when_false
    return value


@pytest.mark.parametrize(("environment", "command"), CASES)
def test_every_function_under_sam_local_reaches_only_the_local_stack(environment: str, command: str) -> None:
    settings = SAMCONFIG[environment][command]["parameters"]
    assert settings["env_vars"] == "env.json"
    assert settings["docker_network"] == "host"  # the container reaches make api's loopback ports
    given = ENV_JSON["Parameters"]
    served_parameters = set(ssm_key_parameters().values())  # what local.aws.provision stores in SSM
    local_stack = functions()  # the values `make api` runs each function with

    with parameters(**overrides(environment, command)):
        for logical_id, resource in load_template()["Resources"].items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            declared = {
                **load_template()["Globals"]["Function"]["Environment"]["Variables"],
                **resource["Properties"].get("Environment", {}).get("Variables", {}),
            }
            environment_seen = {
                name: str(given.get(name, ENV_JSON.get(logical_id, {}).get(name, sam_local_value(value))))
                for name, value in declared.items()
            }
            for name, value in environment_seen.items():
                assert value != UNRESOLVED, f"{logical_id}: {name} needs a value in env.json"
                for url in re.findall(r"https?://[^\s,]+", value):
                    assert re.match(r"https?://(127\.0\.0\.1|localhost)[:/]", url), (
                        f"{logical_id}: {name}={url}"
                    )
            assert environment_seen["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] == ""
            assert environment_seen["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
            for name, value in environment_seen.items():
                if name.endswith("_PARAM"):
                    assert value in served_parameters, f"{logical_id}: {name}={value} is not in the local SSM"
                elif name.endswith(("_TABLE", "_BUCKET", "_BUS_NAME")) and value:
                    assert value == local_stack[logical_id].environment[name], f"{logical_id}: {name}"
                elif name.endswith("_QUEUE_URL"):
                    assert (
                        value.rsplit("/", 1)[-1]
                        == local_stack[logical_id].environment[name].rsplit("/", 1)[-1]
                    )


def test_make_picks_the_environment_that_runs_natively_on_this_machine() -> None:
    machine = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}[
        platform.machine().lower()
    ]
    make = shutil.which("make")
    assert make is not None
    planned = subprocess.run(
        [make, "-n", "sam-build", "sam-api"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    environment = next(name for name, arch in LOCAL_ENVIRONMENTS.items() if arch == machine)
    wheels = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}[machine]
    assert f"LAYER_PLATFORM={wheels} " in planned
    assert f"sam build --config-env {environment}" in planned
    assert f"sam local start-api --config-env {environment}" in planned
    assert "AWS_ACCESS_KEY_ID=testing" in planned  # sam local asks for credentials; any will do
