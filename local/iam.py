"""Each function's permissions as template.yaml gives them, for tests that run under them.

`function_statements(function)` translates the template with aws-sam-translator (what CloudFormation
would deploy), takes the function's execution role and expands what it holds: inline policies,
the template's own managed policies (`!Ref SomePolicy`) and the AWS managed policies SAM attaches
(their documents are copied below from the IAM console, as of 2026-11). Intrinsics are resolved to
the local stack's names (`local.template.resolve`).

`for_moto(statements)` adapts them to what moto's IAM enforcement can evaluate (moto 5.2, see
`moto/iam/access_control.py` and `moto/core/responses.py`):

- actions: evaluated for every service, so a call the role does not allow is denied;
- resources: evaluated only by services that name the resource of a request (SQS, S3 with its
  bucket/key ARN, IAM, STS); for the others moto authorizes against "*", so their statements keep
  the action and get Resource "*" (the resource scoping of DynamoDB, SSM, EventBridge and API
  Gateway is not proven by moto; `tests/unit/test_template.py` asserts it on the template);
- conditions: moto only knows `sts:ExternalId`; any other condition would deny everything, so
  conditions are dropped (the PutEvents source/detail-type and the KMS `ViaService` conditions are
  not proven here).

`grants(function)` lists each action the role allows on each resource, with the statement's
condition, and `unused_grants(function, uses)` those that none of the given calls (action,
resource ARN, request context keys) used: `tests/integration/test_role_permissions.py` asserts
that no grant is left unused by a function's runs. A policy entry under `Fn::If` (BreakerStatePolicy
on `ShareBreakerState`) is taken as CloudFormation would deploy it: the condition is evaluated with
the parameters' defaults, or the values set with `local.template.parameters(...)`.

What moto cannot evaluate for DynamoDB, `dynamodb_allows` does: the partition keys a request
names against the role's `dynamodb:LeadingKeys` conditions, and the attributes it names
(`dynamodb_attributes`: the key's and those of its update, condition and projection expressions)
and its `ReturnValues` against `dynamodb:Attributes` / `dynamodb:ReturnValues`, as IAM evaluates
them ("Using IAM policy conditions for fine-grained access control", Amazon DynamoDB Developer
Guide), after
`${aws:PrincipalTag/...}` is replaced by the role's tags, as `function_statements` does for
every statement (IAM substitutes policy variables at evaluation; moto does not).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from local.template import condition_holds, load_template, resolve

# The AWS managed policies SAM attaches to function roles (documents as published by AWS).
AWS_MANAGED: dict[str, list[dict[str, Any]]] = {
    "service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        }
    ],
    "service-role/AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        },
    ],
}
# Services whose requests moto authorizes against their real resource ARN.
RESOURCE_AWARE = ("sqs:", "iam:", "sts:", "s3:")


@cache
def translated() -> dict[str, Any]:
    """template.yaml as CloudFormation after SAM's transform (code locations are placeholders)."""
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
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    try:
        result: dict[str, Any] = transform(template, {}, _NoManagedPolicyLookups())
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
    return result


def role_of(function: str) -> dict[str, Any]:
    properties: dict[str, Any] = translated()["Resources"][f"{function}Role"]["Properties"]
    return properties


def managed_policy_names(function: str) -> list[str]:
    """AWS managed policies on the role (`service-role/...`), template ones excluded."""
    return [
        arn.split(":policy/", 1)[1]
        for arn in role_of(function).get("ManagedPolicyArns", [])
        if isinstance(arn, str) and ":iam::aws:policy/" in arn
    ]


def function_statements(function: str, tags: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every Allow statement of the function's role, intrinsics resolved to the local stack and
    policy variables to the role's tags (or to `tags`, to see a role tagged otherwise)."""
    role = role_of(function)
    statements: list[dict[str, Any]] = []
    for arn in filter(None, map(_deployed, role.get("ManagedPolicyArns", []))):
        if isinstance(arn, dict) and "Ref" in arn:
            policy = load_template()["Resources"][arn["Ref"]]["Properties"]["PolicyDocument"]
            statements.extend(policy["Statement"])
        else:
            statements.extend(AWS_MANAGED[str(arn).split(":policy/", 1)[1]])
    for policy in filter(None, map(_deployed, role.get("Policies", []))):
        statements.extend(policy["PolicyDocument"]["Statement"])
    resolved: list[dict[str, Any]] = _with_principal_tags(
        resolve(copy.deepcopy(statements)), principal_tags(function) if tags is None else tags
    )
    return resolved


def _deployed(entry: Any) -> Any:
    """A role's policy entry as CloudFormation deploys it: `Fn::If` decided by its template
    condition (`local.template.condition_holds`), None where `AWS::NoValue` leaves nothing."""
    while isinstance(entry, dict) and "Fn::If" in entry:
        condition, when_true, when_false = entry["Fn::If"]
        entry = when_true if condition_holds(str(condition)) else when_false
    return None if entry == {"Ref": "AWS::NoValue"} else entry


def principal_tags(function: str) -> dict[str, str]:
    """The tags on the function's role (SAM copies the function's `Tags` to the role it creates)."""
    return {tag["Key"]: str(tag["Value"]) for tag in role_of(function).get("Tags", [])}


def _with_principal_tags(value: Any, tags: dict[str, str]) -> Any:
    """`${aws:PrincipalTag/key}` replaced by the role's tag, as IAM does when it evaluates a policy
    (a tag the role lacks matches nothing: it stays, unreplaced)."""
    if isinstance(value, str):
        return re.sub(r"\$\{aws:PrincipalTag/([^}]+)\}", lambda m: tags.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {key: _with_principal_tags(item, tags) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_principal_tags(item, tags) for item in value]
    return value


def _values(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(item) for item in value]


# IAM's condition operators that compare one request value with one policy value.
_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda value, expected: value == expected,
    "StringLike": fnmatch.fnmatchcase,
    "ArnEquals": lambda value, expected: value == expected,
    "ArnLike": fnmatch.fnmatchcase,
    "Bool": lambda value, expected: value.lower() == expected.lower(),
}
# The negated ones: a request value matches when it matches NONE of the policy's values (IAM User
# Guide, "Conditions with multiple context keys or values": evaluation logic for negated matching
# condition operators, and "Multivalued context key examples": `ForAllValues:StringNotLike`, read
# 2026-12-07).
_NEGATED: dict[str, str] = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike"}


def conditions_hold(condition: Mapping[str, Any], context: Mapping[str, Sequence[str]]) -> bool:
    """Whether a statement's Condition block holds for a request whose context keys are `context`
    (key -> its values; a key the request does not carry is absent or empty).

    As IAM evaluates them (IAM User Guide, "IAM JSON policy elements: Condition operators" and
    "Set operators for multivalued context keys"): every operator and key must hold; a plain
    operator needs the key present and every value matching; `ForAllValues:` holds when every value
    matches (an absent key too, hence the `Null` guards in template.yaml); `ForAnyValue:` when one
    does; `Null` "true" when the key is absent. A negated operator (`StringNotEquals`,
    `StringNotLike`) matches a value that matches none of the policy's values, and holds for an
    absent key (plain or `ForAllValues:`). Operators not listed here fail closed."""
    carried = {key.lower(): list(values) for key, values in context.items()}
    for operator, clauses in condition.items():
        qualifier, _, base = operator.rpartition(":")
        for key, expected in clauses.items():
            values, patterns = carried.get(key.lower(), []), _values(expected)
            if operator == "Null":
                held = (not values) == (patterns == ["true"])
            elif base in _MATCHERS and qualifier in ("", "ForAllValues", "ForAnyValue"):
                hits = [any(_MATCHERS[base](value, pattern) for pattern in patterns) for value in values]
                if qualifier == "ForAllValues":
                    held = all(hits)
                elif qualifier == "ForAnyValue":
                    held = any(hits)
                else:
                    held = bool(hits) and all(hits)
            elif base in _NEGATED and qualifier in ("", "ForAllValues", "ForAnyValue"):
                matcher = _MATCHERS[_NEGATED[base]]
                hits = [not any(matcher(value, pattern) for pattern in patterns) for value in values]
                held = any(hits) if qualifier == "ForAnyValue" else all(hits)
            else:
                return False
            if not held:
                return False
    return True


def dynamodb_allows(
    function: str,
    action: str,
    table_arn: str,
    keys: list[str],
    context: Mapping[str, Sequence[str]] | None = None,
) -> bool:
    """Whether the function's role allows `action` (`dynamodb:UpdateItem`) on the table for a
    request whose partition keys are `keys` (and whose other context keys are `context`,
    `dynamodb_context`), conditions included."""
    return allows(
        function_statements(function), action, table_arn, {**(context or {}), "dynamodb:LeadingKeys": keys}
    )


# Words of DynamoDB's expression grammar that are not attribute names.
_EXPRESSION_WORDS = {
    "SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN",
    "if_not_exists", "list_append", "attribute_exists", "attribute_not_exists", "attribute_type",
    "begins_with", "contains", "size",
}  # fmt: skip
_EXPRESSIONS = ("UpdateExpression", "ConditionExpression", "ProjectionExpression", "KeyConditionExpression",
                "FilterExpression")  # fmt: skip


def dynamodb_attributes(params: Mapping[str, Any]) -> list[str]:
    """The top-level attribute names a request names, as IAM's `dynamodb:Attributes` lists them:
    its key's and item's attributes and every attribute path's first element in its expressions
    (`#name` resolved through ExpressionAttributeNames; `:values` are not names)."""
    names = dict(params.get("ExpressionAttributeNames") or {})
    found = {*dict(params.get("Key") or {}), *dict(params.get("Item") or {})}
    for field_name in _EXPRESSIONS:
        expression = str(params.get(field_name) or "")
        after_dot = False
        for token in re.findall(r"[#:]?[A-Za-z_][A-Za-z0-9_]*|\.|\[\d+\]|\S", expression):
            if token == "." or token.startswith("["):
                after_dot = token == "."
                continue
            if after_dot or token.startswith(":") or token in _EXPRESSION_WORDS:
                after_dot = False
                continue
            after_dot = False
            if token.startswith("#"):
                found.add(str(names.get(token, token)))
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
                found.add(token)
    return sorted(found)


def dynamodb_context(operation: str, params: Mapping[str, Any]) -> dict[str, list[str]]:
    """The context keys IAM evaluates for an item write (`dynamodb:Attributes`,
    `dynamodb:ReturnValues`, NONE when unset); none for other requests."""
    if operation not in {"PutItem", "UpdateItem", "DeleteItem"}:
        return {}
    return {
        "dynamodb:Attributes": dynamodb_attributes(params),
        "dynamodb:ReturnValues": [str(params.get("ReturnValues") or "NONE")],
    }


def statements_allow(statements: list[dict[str, Any]], action: str, table_arn: str, keys: list[str]) -> bool:
    """Whether any Allow statement grants `action` on the table for partition `keys`."""
    return allows(statements, action, table_arn, {"dynamodb:LeadingKeys": keys})


def allows(
    statements: Iterable[dict[str, Any]], action: str, resource: str, context: Mapping[str, Sequence[str]]
) -> bool:
    """Whether any Allow statement grants `action` on `resource` for a request with `context`."""
    return any(
        statement.get("Effect") == "Allow"
        and any(fnmatch.fnmatchcase(action, granted) for granted in actions(statement))
        and any(fnmatch.fnmatchcase(resource, pattern) for pattern in _values(statement.get("Resource", [])))
        and conditions_hold(statement.get("Condition", {}), context)
        for statement in statements
    )


@dataclass(frozen=True)
class Use:
    """One AWS call as IAM authorizes it: the action, the resource's ARN and the request's
    context keys (`dynamodb:LeadingKeys`, `events:detail-type`, ...)."""

    action: str
    resource: str
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, action: str, resource: str, context: Mapping[str, Sequence[str]] | None = None) -> Use:
        return cls(
            action, resource, tuple(sorted((key, tuple(values)) for key, values in (context or {}).items()))
        )


@dataclass(frozen=True)
class Grant:
    """One action one statement of a role allows on one resource (pattern), under its condition."""

    action: str
    resource: str
    condition: str  # the statement's Condition as JSON ("" for none), to tell grants apart

    def used_by(self, use: Use) -> bool:
        return (
            fnmatch.fnmatchcase(use.action, self.action)
            and fnmatch.fnmatchcase(use.resource, self.resource)
            and conditions_hold(json.loads(self.condition) if self.condition else {}, dict(use.context))
        )

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}" + (f" when {self.condition}" if self.condition else "")


def grants(function: str, *, leaving_out: Sequence[str] = ()) -> set[Grant]:
    """Every (action, resource, condition) the function's role allows, actions starting with one
    of `leaving_out` (e.g. the platform's `logs:`) left out."""
    found = set()
    for statement in function_statements(function):
        if statement.get("Effect") != "Allow":
            continue
        condition = json.dumps(statement["Condition"], sort_keys=True) if statement.get("Condition") else ""
        for action in actions(statement):
            if action.startswith(tuple(leaving_out)):
                continue
            for resource in _values(statement.get("Resource", [])):
                found.add(Grant(action, resource, condition))
    return found


def unused_grants(function: str, uses: Iterable[Use], *, leaving_out: Sequence[str] = ()) -> set[Grant]:
    """The function's grants (`grants`) that none of `uses` used."""
    made = set(uses)
    return {grant for grant in grants(function, leaving_out=leaving_out) if not any(map(grant.used_by, made))}


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def for_moto(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """A policy document moto can enforce (see the module docstring for what it drops)."""
    adapted = []
    for statement in statements:
        aware = all(action.startswith(RESOURCE_AWARE) for action in actions(statement))
        adapted.append(
            {
                "Effect": statement["Effect"],
                "Action": actions(statement),
                "Resource": statement["Resource"] if aware else "*",
            }
        )
    return {"Version": "2012-10-17", "Statement": adapted}
