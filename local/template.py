"""Reads template.yaml for the local stack, so that local resources and routes come from it.

Understands the CloudFormation short tags and resolves the intrinsics the template uses for
environment variables (`Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::If`) against local names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "contentgen-local"
# Parameter values that replace their defaults while resolving (`parameters`).
_overrides: ContextVar[Mapping[str, str] | None] = ContextVar("template_parameter_overrides", default=None)


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref x` into `{"Ref": x}` and `!Sub s` into `{"Fn::Sub": s}`."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
        return document


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    api_key_required: bool

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when `method path` is served by this route (`*`: any method), else None."""
        if method != "*" and method.upper() != self.method and self.method != "ANY":
            return None
        pattern = re.sub(r"\\\{(\w+)\+?\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: float
    memory: int
    environment: dict[str, str]
    # A Lambda durable function (DurableConfig): run by the testing SDK's runner (local.durable).
    durable: bool = False


def physical_name(logical_id: str) -> str:
    """The local name of a resource the template lets CloudFormation name."""
    resource = load_template()["Resources"].get(logical_id, {})
    properties = resource.get("Properties", {})
    for key in ("BucketName", "TableName", "QueueName", "Name", "FunctionName"):
        if isinstance(properties.get(key), str):
            return str(properties[key])
        if isinstance(properties.get(key), dict):
            return str(resolve(properties[key]))
    return f"{STACK}-{logical_id}".lower()


@contextmanager
def parameters(**values: str) -> Iterator[None]:
    """Within the block, `resolve` and `condition_holds` see these parameter values instead of
    their defaults (e.g. `parameters(ShareCircuitBreakerState="true")`: the stack deployed so)."""
    unknown = set(values) - set(load_template().get("Parameters", {}))
    if unknown:
        raise KeyError(f"not template parameters: {sorted(unknown)}")
    token = _overrides.set({**(_overrides.get() or {}), **values})
    try:
        yield
    finally:
        _overrides.reset(token)


class ParameterValueError(ValueError):
    """A value given for a template parameter that CloudFormation would refuse (one line: the
    variable, the value and what the parameter allows)."""


def parameter_variables() -> dict[str, str]:
    """Function environment variable -> the template parameter it is set from (`VAR: !Ref P`,
    in `Globals` or on a function): the template's knobs as the functions see them."""
    template = load_template()
    declared = template.get("Parameters", {})
    found: dict[str, str] = {}
    blocks = [template.get("Globals", {}).get("Function", {})]
    blocks += [
        resource.get("Properties", {}) for resource in resources_of_type("AWS::Serverless::Function").values()
    ]
    for block in blocks:
        for variable, value in block.get("Environment", {}).get("Variables", {}).items():
            if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in declared:
                found[variable] = str(value["Ref"])
    return found


def check_parameter(name: str, value: str, *, given_as: str | None = None) -> str:
    """`value` when the template's parameter `name` accepts it as CloudFormation checks it
    (`AllowedValues`, `AllowedPattern`, `Type: Number` with `MinValue`/`MaxValue`), else
    `ParameterValueError` naming `given_as` (the variable it came from) or the parameter."""
    parameter = load_template()["Parameters"][name]
    label = f"{given_as}={value!r}" if given_as else f"{name}={value!r}"
    what = f"{label}: the template's parameter {name}"
    allowed = parameter.get("AllowedValues")
    if allowed is not None and value not in [str(item) for item in allowed]:
        raise ParameterValueError(f"{what} allows {', '.join(str(item) for item in allowed)}")
    pattern = parameter.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        raise ParameterValueError(f"{what} must match {pattern}")
    if parameter.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            raise ParameterValueError(f"{what} is a number") from None
        low, high = parameter.get("MinValue"), parameter.get("MaxValue")
        if (low is not None and number < float(low)) or (high is not None and number > float(high)):
            raise ParameterValueError(
                f"{what} is a number from {low if low is not None else '-inf'} to {high if high is not None else 'inf'}"
            )
    return value


def parameters_from_environment(
    environ: Mapping[str, str], *, skip: frozenset[str] = frozenset()
) -> dict[str, str]:
    """The template parameters a shell sets through the variables they feed
    (`GOOGLE_GENAI_USE_VERTEXAI=false make api`: `GoogleGenaiUseVertexai=false`), as `sam local
    --env-vars` or `sam deploy --parameter-overrides` would, each checked as CloudFormation checks
    it (`check_parameter`). Variables in `skip` (the ones the caller wires itself) are not read."""
    found: dict[str, str] = {}
    for variable, name in parameter_variables().items():
        value = environ.get(variable)
        if variable in skip or value is None:
            continue
        check_parameter(name, value, given_as=variable)
        if name in found and found[name] != value:
            raise ParameterValueError(
                f"{variable}={value!r}: the template's parameter {name} is already {found[name]!r}"
            )
        found[name] = value
    return found


def resolve(value: Any) -> Any:
    """Resolve intrinsics to local values (parameters take their defaults, or `parameters`' values)."""
    template = load_template()
    if isinstance(value, dict) and len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref":
            return _ref(str(argument), template)
        if name == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            # "${!Literal}" is CloudFormation's escape for a literal "${Literal}" (an IAM policy variable).
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: (
                    "${" + m.group(1)[1:] + "}"
                    if m.group(1).startswith("!")
                    else _sub_variable(m.group(1), template)
                ),
                text,
            )
        if name == "Fn::GetAtt":
            return _get_att(str(argument[0]), str(argument[1]))
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return resolve(when_true if condition_holds(str(condition)) else when_false)
    if isinstance(value, dict):
        return {key: resolve(item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item) for item in value]
    return value


def condition_holds(name: str) -> bool:
    """A template condition evaluated with the parameters' defaults (or `parameters`' values)."""
    return _evaluate(load_template().get("Conditions", {})[name])


def _evaluate(expression: Any) -> bool:
    ((name, argument),) = expression.items()
    if name == "Fn::Equals":
        return bool(resolve(argument[0]) == resolve(argument[1]))
    if name == "Fn::Not":
        return not _evaluate(argument[0])
    if name == "Fn::And":
        return all(_evaluate(item) for item in argument)
    if name == "Fn::Or":
        return any(_evaluate(item) for item in argument)
    if name == "Condition":
        return condition_holds(str(argument))
    raise ValueError(f"unsupported condition {name}")


def _ref(name: str, template: dict[str, Any]) -> str:
    pseudo = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::StackName": STACK,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    if name in pseudo:
        return pseudo[name]
    parameter = template.get("Parameters", {}).get(name)
    if parameter is not None:
        return str((_overrides.get() or {}).get(name, parameter.get("Default", "")))
    if template["Resources"].get(name, {}).get("Type") == "AWS::SQS::Queue":
        return _get_att(name, "QueueUrl")  # Ref of a queue is its URL
    return physical_name(name)


def _sub_variable(expression: str, template: dict[str, Any]) -> str:
    if "." in expression and not expression.startswith("AWS::"):
        logical_id, attribute = expression.split(".", 1)
        return str(_get_att(logical_id, attribute))
    return _ref(expression, template)


def _get_att(logical_id: str, attribute: str) -> str:
    name = physical_name(logical_id)
    kind = load_template()["Resources"][logical_id]["Type"]
    if attribute == "Arn":
        service = {"AWS::SQS::Queue": "sqs", "AWS::DynamoDB::Table": "dynamodb", "AWS::S3::Bucket": "s3"}.get(
            kind, "lambda"
        )
        if service == "s3":
            return f"arn:aws:s3:::{name}"
        if service == "dynamodb":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        if kind == "AWS::Events::EventBus":
            return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}"
    if attribute == "QueueName":
        return name
    if attribute == "QueueUrl":
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
    return name


def resources_of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in load_template()["Resources"].items()
        if resource.get("Type") == kind
    }


def functions() -> dict[str, FunctionSpec]:
    template = load_template()
    defaults = template.get("Globals", {}).get("Function", {})
    specs = {}
    for logical_id, resource in resources_of_type("AWS::Serverless::Function").items():
        properties = resource["Properties"]
        environment = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=ROOT / str(properties["CodeUri"]),
            handler=str(properties.get("Handler", defaults.get("Handler", "app.lambda_handler"))),
            timeout=float(properties.get("Timeout", defaults.get("Timeout", 3))),
            memory=int(properties.get("MemorySize", defaults.get("MemorySize", 128))),
            environment={key: str(resolve(value)) for key, value in environment.items()},
            durable="DurableConfig" in properties,
        )
    return specs


def function_events(kind: str) -> Iterator[tuple[str, dict[str, Any], str, dict[str, Any]]]:
    """(function id, function properties, event name, event properties) for events of `kind`."""
    for logical_id, resource in resources_of_type("AWS::Serverless::Function").items():
        for event_name, event in resource["Properties"].get("Events", {}).items():
            if event.get("Type") == kind:
                yield logical_id, resource["Properties"], event_name, event["Properties"]


def routes() -> list[Route]:
    api_default = True
    for api in resources_of_type("AWS::Serverless::Api").values():
        api_default = bool(api["Properties"].get("Auth", {}).get("ApiKeyRequired", False))
    return [
        Route(
            method=str(properties["Method"]).upper(),
            path=str(properties["Path"]),
            function=logical_id,
            api_key_required=bool(properties.get("Auth", {}).get("ApiKeyRequired", api_default)),
        )
        for logical_id, _, _, properties in function_events("Api")
    ]


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping declared on a function."""

    function: str
    queue: str  # logical id
    batch_size: int
    report_batch_item_failures: bool


def queue_sources() -> list[QueueSource]:
    """SQS event sources: SAM `SQS` events on functions and explicit EventSourceMappings."""
    declared = [
        (logical_id, properties["Queue"]["Fn::GetAtt"][0], properties)
        for logical_id, _, _, properties in function_events("SQS")
    ]
    for mapping in resources_of_type("AWS::Lambda::EventSourceMapping").values():
        properties = mapping["Properties"]
        source = properties["EventSourceArn"].get("Fn::GetAtt", [""])[0]
        if resources_of_type("AWS::SQS::Queue").get(source) is not None:
            declared.append((properties["FunctionName"]["Ref"], source, properties))
    return [
        QueueSource(
            function=function,
            queue=queue,
            batch_size=int(properties.get("BatchSize", 10)),
            report_batch_item_failures="ReportBatchItemFailures"
            in properties.get("FunctionResponseTypes", []),
        )
        for function, queue, properties in declared
    ]


@dataclass(frozen=True)
class BusRule:
    """An EventBridge rule on the bus whose target is a function's request queue."""

    name: str  # logical id
    bus: str  # logical id
    pattern: dict[str, Any]
    queue: str  # logical id of the target queue
    function: str  # the function that queue feeds


def bus_rules() -> list[BusRule]:
    fed_by = {source.queue: source.function for source in queue_sources()}
    found = []
    for logical_id, resource in resources_of_type("AWS::Events::Rule").items():
        properties = resource["Properties"]
        for target in properties.get("Targets", []):
            queue = target["Arn"]["Fn::GetAtt"][0]
            found.append(
                BusRule(
                    name=logical_id,
                    bus=properties["EventBusName"]["Ref"],
                    pattern=properties["EventPattern"],
                    queue=queue,
                    function=fed_by[queue],
                )
            )
    return found


def ssm_key_parameters() -> dict[str, str]:
    """Template parameter name -> SSM parameter name (default) for every key parameter."""
    return {
        name: str(parameter.get("Default", ""))
        for name, parameter in load_template().get("Parameters", {}).items()
        if parameter.get("Type") == "AWS::SSM::Parameter::Name"
    }
