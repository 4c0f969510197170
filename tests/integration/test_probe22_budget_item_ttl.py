"""Probe 22 (issue 22 finding 3 and docs/spend.md "Budget items are the operators' alone"):
a generation role may still end any key's budget item through DynamoDB TTL.

The spend table's TTL attribute is `expires_at`, and `expires_at` is one of the attributes the
generation roles' `dynamodb:Attributes` condition allows, on any item (no condition on the sort
key). `SET expires_at = 1` on `{pk: <key>, sk: budget}` makes DynamoDB delete the operators'
budget item within days ("Using time to live (TTL) in DynamoDB": items whose TTL attribute is in
the past are deleted, typically within a few days), after which the key falls back to
`DAILY_BUDGET_USD`: a budget an operator lowered is raised again by a function's role. Run in the
repo's role harness (each function's template role, DynamoDB conditions as IAM evaluates them).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from local.template import physical_name
from tests.integration.conftest import Stack
from tests.integration.test_role_permissions import Calls, Run, as_role  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def test_a_generation_role_cannot_expire_a_keys_budget_item(stack: Stack, as_role: tuple[Run, Calls]) -> None:  # noqa: F811
    from contentgen.clients.aws import get_dynamodb_client

    run_as, _calls = as_role
    run_as("StorySegmentsFunction")

    with pytest.raises(ClientError, match="not authorized to perform: dynamodb:UpdateItem"):
        get_dynamodb_client().update_item(
            TableName=physical_name("SpendTable"),
            Key={"pk": {"S": "victim"}, "sk": {"S": "budget"}},
            UpdateExpression="SET expires_at = :past",
            ExpressionAttributeValues={":past": {"N": "1"}},
        )
