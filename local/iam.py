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

What moto cannot evaluate for DynamoDB, `dynamodb_allows` does: the partition keys a request
names against the role's `dynamodb:LeadingKeys` conditions, as IAM evaluates them ("Using IAM
policy conditions for fine-grained access control", Amazon DynamoDB Developer Guide), after
`${aws:PrincipalTag/...}` is replaced by the role's tags, as `function_statements` does for
every statement (IAM substitutes policy variables at evaluation; moto does not).
"""

from __future__ import annotations

import copy
import fnmatch
import os
import re
from functools import cache
from typing import Any

from local.template import load_template, resolve

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
    for arn in role.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Ref" in arn:
            policy = load_template()["Resources"][arn["Ref"]]["Properties"]["PolicyDocument"]
            statements.extend(policy["Statement"])
        else:
            statements.extend(AWS_MANAGED[str(arn).split(":policy/", 1)[1]])
    for policy in role.get("Policies", []):
        statements.extend(policy["PolicyDocument"]["Statement"])
    resolved: list[dict[str, Any]] = _with_principal_tags(
        resolve(copy.deepcopy(statements)), principal_tags(function) if tags is None else tags
    )
    return resolved


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


def _leading_keys_hold(condition: dict[str, Any], keys: list[str]) -> bool:
    """Whether a statement's condition block holds for a request naming partition `keys`.

    Knows `ForAllValues:StringLike` / `ForAllValues:StringEquals` and `Null` on
    `dynamodb:LeadingKeys`; any other condition is not met (fail closed)."""
    for operator, clauses in condition.items():
        for key, expected in clauses.items():
            if key.lower() != "dynamodb:leadingkeys":
                return False
            patterns = _values(expected)
            if operator == "ForAllValues:StringLike":
                held = all(any(fnmatch.fnmatchcase(k, p) for p in patterns) for k in keys)
            elif operator == "ForAllValues:StringEquals":
                held = all(k in patterns for k in keys)
            elif operator == "Null":
                held = (not keys) == (patterns == ["true"])
            else:
                return False
            if not held:
                return False
    return True


def dynamodb_allows(function: str, action: str, table_arn: str, keys: list[str]) -> bool:
    """Whether the function's role allows `action` (`dynamodb:UpdateItem`) on the table for a
    request whose partition keys are `keys`, conditions included."""
    return statements_allow(function_statements(function), action, table_arn, keys)


def statements_allow(statements: list[dict[str, Any]], action: str, table_arn: str, keys: list[str]) -> bool:
    """Whether any Allow statement grants `action` on the table for partition `keys`."""
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        if not any(fnmatch.fnmatchcase(action, granted) for granted in actions(statement)):
            continue
        if not any(fnmatch.fnmatchcase(table_arn, r) for r in _values(statement.get("Resource", []))):
            continue
        if _leading_keys_hold(statement.get("Condition", {}), keys):
            return True
    return False


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
