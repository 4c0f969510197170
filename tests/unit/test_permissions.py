"""Each function's role as SAM deploys it (template.yaml translated by aws-sam-translator).

The roles are taken from the translated template (`local.iam`), so what SAM adds on its own (the
managed policies of event sources, Tracing, basic execution) is seen, not only what the template
spells out.
"""

from __future__ import annotations

import pytest

from local.iam import actions, function_statements, managed_policy_names, translated
from local.template import functions, physical_name, queue_sources

QUEUE_FED = sorted({source.function for source in queue_sources()})


def test_sam_attaches_only_logging_and_tracing_policies() -> None:
    for function in functions():
        assert sorted(managed_policy_names(function)) == [
            "AWSXrayWriteOnlyAccess",
            "service-role/AWSLambdaBasicExecutionRole",
        ], function


@pytest.mark.parametrize("function", QUEUE_FED)
def test_a_queue_fed_role_reaches_only_its_own_queue(function: str) -> None:
    (queue,) = [source.queue for source in queue_sources() if source.function == function]
    sqs = [s for s in function_statements(function) if any(a.startswith("sqs:") for a in actions(s))]

    resources = {str(s["Resource"]) for s in sqs}

    assert resources == {f"arn:aws:sqs:us-east-1:123456789012:{physical_name(queue)}"}
    granted = {a for s in sqs for a in actions(s)}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= granted


def test_no_role_holds_a_wildcard_action_or_an_unscoped_data_resource() -> None:
    for function in functions():
        for statement in function_statements(function):
            for action in actions(statement):
                assert not action.endswith(":*"), (function, action)
                if action.startswith(("dynamodb:", "sqs:", "s3:", "ssm:", "events:")):
                    assert statement["Resource"] != "*", (function, action)


def test_the_translated_template_maps_every_queue_with_an_explicit_mapping() -> None:
    resources = translated()["Resources"]
    mappings = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == len(QUEUE_FED)
