"""Each function's role as SAM deploys it (template.yaml translated by aws-sam-translator).

The roles are taken from the translated template (`local.iam`), so what SAM adds on its own (the
managed policies of event sources, Tracing, basic execution) is seen, not only what the template
spells out.
"""

from __future__ import annotations

import json
import re

import pytest

from contentgen.stores.record_keys import (
    RESULT_ROUTES,
    ROUTE_TAG,
    claim_key,
    owner_prefix,
    record_key,
    result_object_key,
)
from local.iam import (
    Use,
    actions,
    conditions_hold,
    dynamodb_allows,
    function_statements,
    managed_policy_names,
    principal_tags,
    statements_allow,
    translated,
    unused_grants,
)
from local.template import (
    ACCOUNT,
    REGION,
    functions,
    load_template,
    parameters,
    physical_name,
    queue_sources,
    resolve,
    routes,
)

QUEUE_FED = sorted({source.function for source in queue_sources()})


GENERATION = sorted(
    name
    for name, function in functions().items()
    if 'direct_route=("POST"' in (function.code_dir / "app.py").read_text()
)


def test_sam_attaches_only_logging_and_tracing_policies() -> None:
    """(A function with its own `Role`, the durable video job, gets none: SAM's durable variant
    would grant the checkpoint APIs on "*".)"""
    for function, spec in functions().items():
        if spec.durable:
            assert managed_policy_names(function) == [], function
            continue
        assert sorted(managed_policy_names(function)) == [
            "AWSXrayWriteOnlyAccess",
            "service-role/AWSLambdaBasicExecutionRole",
        ], function


@pytest.mark.parametrize("function", QUEUE_FED)
def test_a_queue_fed_role_reaches_only_its_own_queue(function: str) -> None:
    (queue,) = [source.queue for source in queue_sources() if source.function == function]
    sqs = [s for s in function_statements(function) if any(a.startswith("sqs:") for a in actions(s))]

    own = f"arn:aws:sqs:us-east-1:123456789012:{physical_name(queue)}"
    direct = f"arn:aws:sqs:us-east-1:123456789012:{physical_name('DirectInvokeDeadLetterQueue')}"

    assert {str(s["Resource"]) for s in sqs} == ({own, direct} if function in GENERATION else {own})
    granted = {a for s in sqs if s["Resource"] == own for a in actions(s)}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= granted
    # Lambda sends a failed direct invocation's record with the function's role: send, nothing else.
    expected = {"sqs:SendMessage"} if function in GENERATION else set()
    assert {a for s in sqs if s["Resource"] == direct for a in actions(s)} == expected


@pytest.mark.parametrize("function", GENERATION)
def test_a_failed_direct_invocation_is_kept_for_either_qualifier(function: str) -> None:
    """Lambda retries an asynchronous invocation twice and then discards it unless an on-failure
    destination is set ("Configuring error handling for asynchronous invocation", Lambda Developer
    Guide): both the alias SAM publishes and $LATEST send it to DirectInvokeDeadLetterQueue, which
    the dead-letter alarm watches."""
    resources = translated()["Resources"]
    configs = {
        json.dumps(c["Properties"].get("Qualifier"), sort_keys=True): c["Properties"]
        for c in resources.values()
        if c["Type"] == "AWS::Lambda::EventInvokeConfig"
        and c["Properties"]["FunctionName"] == {"Ref": function}
    }
    assert set(configs) == {'"live"', '"$LATEST"'}
    for config in configs.values():
        assert config["MaximumRetryAttempts"] == 2
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["DirectInvokeDeadLetterQueue", "Arn"]
        }
    direct = f"arn:aws:sqs:us-east-1:123456789012:{physical_name('DirectInvokeDeadLetterQueue')}"
    assert any(
        "sqs:SendMessage" in actions(s) and s["Resource"] == direct for s in function_statements(function)
    )
    alarm = json.dumps(resources["DeadLetterQueueAlarm"]["Properties"]["Metrics"])
    assert "DirectInvokeDeadLetterQueue" in alarm


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


# dynamodb:LeadingKeys (contentgen.stores.record_keys): each function's records and results, its own.

RECORD_KEEPERS = sorted(
    function
    for function in functions()
    if any(
        a.startswith("dynamodb:") and "idempotencytable" in str(s["Resource"])
        for s in function_statements(function)
        for a in actions(s)
    )
)
ITEM_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
PARTS_READERS = {"StorySegmentsChunkedFunction", "StorySegmentsInSetsFunction"}  # contentgen.stores.partials


def _own_route(function: str) -> str:
    """The route the function's code owns records for: `direct_route` in its app.py."""
    source = (functions()[function].code_dir / "app.py").read_text()
    match = re.search(r'direct_route=\("POST", "([^"]+)"\)', source)
    assert match, f"{function} names no POST direct_route"
    return match.group(1)


def _table(logical_id: str) -> str:
    return f"arn:aws:dynamodb:us-east-1:123456789012:table/{physical_name(logical_id)}"


def test_every_function_that_keeps_records_is_tagged_with_the_route_its_code_owns() -> None:
    assert len(RECORD_KEEPERS) == 10
    for function in RECORD_KEEPERS:
        route = _own_route(function)
        assert principal_tags(function)[ROUTE_TAG] == owner_prefix(route), function
        served = {r.path for r in routes() if r.function == function and r.method == "POST"}
        assert served == {route}, function
    # The result reader looks for a request_id under exactly these routes.
    assert sorted(RESULT_ROUTES) == sorted(_own_route(function) for function in RECORD_KEEPERS)


@pytest.mark.parametrize("function", RECORD_KEEPERS)
def test_a_function_reaches_only_its_own_idempotency_records(function: str) -> None:
    table = _table("IdempotencyTable")
    # GetItem only where paid parts are read back (the fan-outs); no other read of the records.
    held = [a for a in ITEM_ACTIONS if a != "dynamodb:GetItem" or function in PARTS_READERS]
    for other in RECORD_KEEPERS:
        key = record_key(_own_route(other), "4f0c1e")
        for action in ITEM_ACTIONS:
            expected = other == function and action in held
            assert dynamodb_allows(function, action, table, [key]) is expected, (action, key)
    for action in held:
        assert not dynamodb_allows(function, action, table, [])  # no request without a key
        assert not dynamodb_allows(function, action, table, ["_claim#4f0c1e"])


def _starts_durable_jobs(function: str) -> bool:
    """A job dispatcher (POST /videos): its events start a durable job, whose outcome is the
    job's own event (JobSucceeded/JobFailed), not a stored result."""
    variables = (
        load_template()["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    )
    return any(name.endswith("_JOB_FUNCTION") for name in variables)


# Job dispatchers whose queued request's answer (the 202, or a refusal) is stored and announced
# under its request_id, as every event route's (contentgen.entrypoints.events): POST /videos, POST /shorts
# (tests/integration/test_role_permissions.py: the queued video and the queued short under their roles).
DISPATCHERS_STORING_ANSWERS = {"GenerateVideoFunction", "ShortsFunction"}

# Event-fed functions that store results by request_id (every event route but the job dispatchers).
RESULT_WRITERS = sorted(
    f
    for f in RECORD_KEEPERS
    if f in {s.function for s in queue_sources()}
    and (not _starts_durable_jobs(f) or f in DISPATCHERS_STORING_ANSWERS)
)


def test_a_job_dispatcher_fed_by_events_writes_no_results() -> None:
    table = _table("ResultsTable")
    for function in (
        f for f in RECORD_KEEPERS if _starts_durable_jobs(f) and f not in DISPATCHERS_STORING_ANSWERS
    ):
        assert function in {s.function for s in queue_sources()}, function
        assert not dynamodb_allows(function, "dynamodb:UpdateItem", table, [claim_key("req-1")])
        assert not [s for s in function_statements(function) if "results" in str(s["Resource"])]


@pytest.mark.parametrize("function", RESULT_WRITERS)
def test_an_event_fed_function_writes_only_its_own_results_and_the_claims(function: str) -> None:
    table = _table("ResultsTable")
    for other in RECORD_KEEPERS:
        key = record_key(_own_route(other), "req-1")
        assert dynamodb_allows(function, "dynamodb:UpdateItem", table, [key]) is (other == function), key
    assert dynamodb_allows(function, "dynamodb:UpdateItem", table, [claim_key("req-1")])
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"):
        assert not dynamodb_allows(function, action, table, [record_key(_own_route(function), "req-1")])
    (put,) = [
        s
        for s in function_statements(function)
        if "s3:PutObject" in actions(s) and "results" in str(s["Resource"])
    ]
    assert put["Resource"].endswith(f"/results/{owner_prefix(_own_route(function))}#*")


def test_a_large_result_object_is_writable_by_its_own_route_only() -> None:
    """Routes nest (`stories/segments` is a prefix of `stories/segments/chunked`): with `/` as
    the separator the plain stories role could overwrite the chunked and sets functions' objects."""
    bucket = f"arn:aws:s3:::{physical_name('ResultsBucket')}"
    writers = RESULT_WRITERS
    for function in writers:
        statements = function_statements(function)
        for other in writers:
            target = f"{bucket}/{result_object_key(_own_route(other), 'req-1')}"
            assert statements_allow(statements, "s3:PutObject", target, []) is (other == function), (
                function,
                target,
            )


def test_the_result_reader_reads_any_route_and_writes_none() -> None:
    table = _table("ResultsTable")
    keys = [record_key(route, "req-1") for route in RESULT_ROUTES]
    assert dynamodb_allows("GetResultFunction", "dynamodb:BatchGetItem", table, keys)
    for key in (claim_key("req-1"), *keys):
        assert not dynamodb_allows("GetResultFunction", "dynamodb:GetItem", table, [key])
        assert not dynamodb_allows("GetResultFunction", "dynamodb:UpdateItem", table, [key])


def test_the_result_reader_may_sign_thumbnail_urls_and_nothing_else_in_the_media_bucket() -> None:
    """A presigned URL carries its signer's permission: the reader signs stored thumbnails again."""
    statements = function_statements("GetResultFunction")
    media = f"arn:aws:s3:::{physical_name('MediaBucket')}"
    assert statements_allow(statements, "s3:GetObject", f"{media}/thumbnails/2026/12/01/x.png", [])
    assert not statements_allow(statements, "s3:GetObject", f"{media}/videos/2026/12/01/x.mp4", [])
    assert not statements_allow(statements, "s3:PutObject", f"{media}/thumbnails/2026/12/01/x.png", [])


def test_a_role_without_its_tag_reaches_no_record() -> None:
    """Fail closed: an untagged role's `${aws:PrincipalTag/...}` matches no key."""
    untagged = function_statements("StorySegmentsFunction", tags={})
    key = record_key("/stories/segments", "4f0c1e")

    assert not statements_allow(untagged, "dynamodb:PutItem", _table("IdempotencyTable"), [key])
    assert not statements_allow(untagged, "dynamodb:UpdateItem", _table("ResultsTable"), [key])
    assert dynamodb_allows("StorySegmentsFunction", "dynamodb:PutItem", _table("IdempotencyTable"), [key])


@pytest.mark.parametrize(
    "function", ["StorySegmentsFunction", "GenerateThumbnailFunction", "VideoJobFunction"]
)
def test_the_breaker_state_is_granted_only_where_it_is_shared(function: str) -> None:
    """BreakerStatePolicy is under `Fn::If` ShareBreakerState: the default deployment's role holds
    nothing on the breaker table, one deployed with ShareCircuitBreakerState=true reads and writes it."""
    table = _table("BreakerStateTable")
    assert not [s for s in function_statements(function) if s.get("Resource") == table]

    with parameters(ShareCircuitBreakerState="true"):
        shared = [s for s in function_statements(function) if s.get("Resource") == table]

    assert {a for s in shared for a in actions(s)} == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }


def test_conditions_are_evaluated_as_iam_evaluates_them() -> None:
    own = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["stories/segments#*"]}}
    assert conditions_hold(own, {"dynamodb:LeadingKeys": ["stories/segments#1"]})
    assert not conditions_hold(own, {"dynamodb:LeadingKeys": ["memes/segments#1"]})
    assert conditions_hold(own, {})  # ForAllValues holds for a request without the key...
    assert not conditions_hold({**own, "Null": {"dynamodb:LeadingKeys": "false"}}, {})  # ...hence Null
    source = {"StringEquals": {"events:source": "contentgen"}}
    assert conditions_hold(source, {"events:source": ["contentgen"]})
    assert not conditions_hold(source, {})  # a plain operator needs the key
    assert not conditions_hold({"NumericLessThan": {"x": "1"}}, {"x": ["0"]})  # not known: fails closed


def test_negated_conditions_are_evaluated_as_iam_evaluates_them() -> None:
    """`ForAllValues:StringNotLike`: every request value matches none of the patterns (IAM User
    Guide, "Multivalued context key examples"); an absent key holds, hence the Null guard."""
    not_budget = {"ForAllValues:StringNotLike": {"dynamodb:LeadingKeys": ["budget#*", "other#*"]}}
    assert conditions_hold(not_budget, {"dynamodb:LeadingKeys": ["k1"]})
    assert not conditions_hold(not_budget, {"dynamodb:LeadingKeys": ["budget#k1"]})
    assert not conditions_hold(not_budget, {"dynamodb:LeadingKeys": ["other#k1"]})
    assert not conditions_hold(not_budget, {"dynamodb:LeadingKeys": ["k1", "budget#k1"]})  # every value
    assert conditions_hold(not_budget, {})
    assert not conditions_hold({**not_budget, "Null": {"dynamodb:LeadingKeys": "false"}}, {})
    any_not = {"ForAnyValue:StringNotEquals": {"x": ["a"]}}
    assert conditions_hold(any_not, {"x": ["a", "b"]})
    assert not conditions_hold(any_not, {"x": ["a"]})
    assert not conditions_hold(any_not, {})  # ForAnyValue needs a value
    plain = {"StringNotEquals": {"events:source": "contentgen"}}
    assert conditions_hold(plain, {"events:source": ["other"]})
    assert not conditions_hold(plain, {"events:source": ["contentgen"]})
    assert conditions_hold(plain, {})  # a negated operator holds for an absent key


def test_an_unused_grant_is_told_apart_by_its_condition() -> None:
    """The completion events do not use the budget alarm's PutEvents on the same bus."""
    bus = resolve({"Fn::GetAtt": ["ContentgenEventBus", "Arn"]})
    completed = {"events:source": ["contentgen"], "events:detail-type": ["GenerationCompleted"]}

    unused = unused_grants("FreeContentFunction", [Use.of("events:PutEvents", bus, completed)])

    (put_events,) = [grant for grant in unused if grant.action == "events:PutEvents"]
    assert put_events.resource == bus
    assert "BudgetThresholdReached" in put_events.condition


def test_the_durable_video_job_checkpoints_only_its_own_executions() -> None:
    """The two APIs the durable SDK calls, on this function's execution ARNs
    (function:NAME:QUALIFIER/durable-execution/...), not on "*" (SAM's managed policy) nor on
    another function; the starter may invoke the job's alias and nothing else of Lambda's."""
    statements = function_statements("VideoJobFunction")
    own = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical_name('VideoJobFunction')}"
    execution = f"{own}:7/durable-execution/video-0123/4f2c"
    for action in ("lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"):
        assert statements_allow(statements, action, execution, [])
        assert not statements_allow(statements, action, f"{own}-other:7/durable-execution/x/y", [])
        assert not statements_allow(
            statements,
            action,
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other:1/durable-execution/x/y",
            [],
        )
    assert not any(
        s.get("Resource") == "*" and any(a.startswith("lambda:") for a in actions(s)) for s in statements
    )
    assert not statements_allow(statements, "lambda:InvokeFunction", f"{own}:live", [])
    assert managed_policy_names("VideoJobFunction") == []  # not AWSLambdaBasicDurableExecutionRolePolicy

    starter = function_statements("GenerateVideoFunction")
    assert statements_allow(starter, "lambda:InvokeFunction", f"{own}:live", [])
    assert not statements_allow(starter, "lambda:InvokeFunction", own, [])  # $LATEST: not for durable starts
    assert not statements_allow(
        starter, "lambda:CheckpointDurableExecution", f"{own}:7/durable-execution/x/y", []
    )
