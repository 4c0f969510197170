"""template.yaml stays valid, least-privileged and in step with the code."""

from __future__ import annotations

import json
import re
import shutil
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
GENERATION_FUNCTIONS = TEXT_FUNCTIONS | {
    "GenerateThumbnailFunction",
    "GenerateVideoFunction",
    "ShortsFunction",
}


@pytest.mark.slow  # cfn-lint over the whole template: 20-50 s
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

    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == [{"Ref": "FunctionArchitecture"}]
    assert load_template()["Parameters"]["FunctionArchitecture"]["Default"] == "arm64"
    assert function["Tracing"] == "Active"
    assert function["Layers"] == [
        {"Ref": "TextLayer"},
        {"Fn::If": ["UseExtension", {"Ref": "ParametersSecretsExtensionLayerArn"}, {"Ref": "AWS::NoValue"}]},
    ]
    assert function["Timeout"] <= 29
    variables = function["Environment"]["Variables"]
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"} <= set(
        variables
    )


MEDIA_FUNCTIONS = {
    "GenerateVideoFunction",
    "VideoJobFunction",
    "GenerateThumbnailFunction",
    "HealthFunction",
}
# The short pipeline also assembles with ffmpeg (FfmpegLayer).
FFMPEG_FUNCTIONS = {"ShortJobFunction"}


@pytest.mark.parametrize("logical_id", ["TextLayer", "MediaLayer"])
def test_layers_are_built_by_the_makefile_for_python313_arm64(logical_id: str) -> None:
    layer = load_template()["Resources"][logical_id]

    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert f"build-{logical_id}:" in (ROOT / "shared" / "Makefile").read_text()


def test_only_the_functions_that_import_google_genai_get_the_media_layer() -> None:
    for logical_id, resource in resources_of_type("AWS::Serverless::Function").items():
        layers = resource["Properties"].get("Layers", [])
        if logical_id in FFMPEG_FUNCTIONS:
            assert layers == [{"Ref": "MediaLayer"}, {"Ref": "FfmpegLayer"}], logical_id
            continue
        assert (layers == [{"Ref": "MediaLayer"}]) == (logical_id in MEDIA_FUNCTIONS), logical_id
    for logical_id in TEXT_FUNCTIONS | {"GetResultFunction"}:
        code = (ROOT / str(functions()[logical_id].code_dir) / "app.py").read_text()
        assert "genai" not in code


def test_keys_are_read_through_the_extension_by_default_with_its_cache_bypassed() -> None:
    template = load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]

    assert template["Parameters"]["UseParametersSecretsExtension"]["Default"] == "true"
    assert (
        ":layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:"
        in (template["Parameters"]["ParametersSecretsExtensionLayerArn"]["Default"])
    )
    assert variables["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] == {"Fn::If": ["UseExtension", "2773", ""]}
    assert variables["SSM_PARAMETER_STORE_TTL"] == "0"  # a re-read after a 401 reaches SSM
    assert (
        functions()["StorySegmentsFunction"].environment["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] == "2773"
    )


def test_snapstart_is_a_parameter_off_by_default_on_published_versions() -> None:
    template = load_template()
    function = template["Globals"]["Function"]

    assert template["Parameters"]["EnableSnapStart"]["Default"] == "false"
    assert function["SnapStart"] == {"ApplyOn": {"Fn::If": ["SnapStartOn", "PublishedVersions", "None"]}}
    assert function["AutoPublishAlias"] == "live"


def test_every_function_has_its_handler_on_disk() -> None:
    for spec in functions().values():
        module, _, attribute = spec.handler.rpartition(".")
        source = (spec.code_dir / f"{module}.py").read_text()
        assert f"{attribute} = " in source or f"def {attribute}" in source


def test_api_requires_a_key_with_usage_plan_except_health_and_the_openapi_document() -> None:
    api = resources_of_type("AWS::Serverless::Api")["ContentgenApi"]["Properties"]

    assert api["Auth"]["ApiKeyRequired"] is True
    plan = api["Auth"]["UsagePlan"]
    assert plan["CreateUsagePlan"] == "PER_API"
    assert {"RateLimit", "BurstLimit"} <= set(plan["Throttle"])
    assert {"Limit", "Period"} <= set(plan["Quota"])
    required = {route.path: route.api_key_required for route in routes()}
    open_paths = {"/health", "/openapi.json"}
    assert all(required[path] is False for path in open_paths)
    assert all(value for path, value in required.items() if path not in open_paths)


# BreakerStatePolicy is attached only where the breaker state is shared (ShareCircuitBreakerState).
SHARED_BREAKER_POLICY = {
    "Fn::If": ["ShareBreakerState", {"Ref": "BreakerStatePolicy"}, {"Ref": "AWS::NoValue"}]
}


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
    assert properties["Policies"][:6] == [
        {"Ref": "OpenRouterKeyReadPolicy"},
        SHARED_BREAKER_POLICY,
        {"Ref": "SpendAccountingPolicy"},
        {"Ref": "BudgetAlarmPolicy"},
        {"Ref": "IdempotencyRecordsPolicy"},
        {"Ref": "EventGenerationPolicy"},
    ]
    statements = _statements({"Ref": "OpenRouterKeyReadPolicy"})
    assert {s["Action"] for s in statements} == {"ssm:GetParameter", "kms:Decrypt"}
    ssm = next(s for s in statements if s["Action"] == "ssm:GetParameter")
    assert "${OpenRouterApiKeyParameterName}" in ssm["Resource"]["Fn::Sub"]
    kms = next(s for s in statements if s["Action"] == "kms:Decrypt")
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"
    }


@pytest.mark.parametrize("function", sorted(TEXT_FUNCTIONS | {"ShortsFunction"}))
def test_text_functions_are_fed_by_their_own_queue_and_a_bus_rule(function: str) -> None:
    resources = load_template()["Resources"]
    properties = resources[function]["Properties"]
    name = function.removesuffix("Function")
    # An explicit mapping (SAM's SQS event would add AWSLambdaSQSQueueExecutionRole).
    queue_event = resources[f"{name}QueueMapping"]["Properties"]
    assert queue_event["FunctionName"] == {"Ref": function}
    assert queue_event["EventSourceArn"] == {"Fn::GetAtt": [f"{name}Queue", "Arn"]}
    (own_queue,) = [s for s in _inline_statements(function) if s["Resource"] == queue_event["EventSourceArn"]]
    assert set(own_queue["Action"]) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
    }
    assert "SQS" not in {event["Type"] for event in properties["Events"].values()}
    assert queue_event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = resources[f"{name}Queue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [f"{name}DeadLetterQueue", "Arn"]}
    assert queue["VisibilityTimeout"] >= 6 * properties.get("Timeout", 29)
    assert queue_event["ScalingConfig"] == {"MaximumConcurrency": 5}
    # Bus events go into the same queue (bounded concurrency), not to the function directly.
    assert "Bus" not in properties["Events"]
    rule = resources[f"{name}BusRule"]["Properties"]
    assert rule["EventPattern"] == {"detail-type": [properties["CodeUri"].strip("/").rsplit("/", 1)[-1]]}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [f"{name}Queue", "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [f"{name}DeadLetterQueue", "Arn"]}
    (allowed,) = resources[f"{name}QueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allowed["Principal"] == {"Service": "events.amazonaws.com"}
    assert allowed["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [f"{name}BusRule", "Arn"]}


def test_event_generation_policy_is_scoped_to_its_tables_bucket_prefix_and_bus() -> None:
    statements = _statements({"Ref": "EventGenerationPolicy"})
    resources = {json.dumps(s["Resource"], sort_keys=True) for s in statements}
    assert resources == {
        json.dumps({"Fn::GetAtt": ["ResultsTable", "Arn"]}),
        json.dumps({"Fn::Sub": "${ResultsBucket.Arn}/results/${!aws:PrincipalTag/contentgen-route}#*"}),
        json.dumps({"Fn::GetAtt": ["ContentgenEventBus", "Arn"]}),
    }


def test_health_reads_the_keys_and_only_its_usage_plans_keys() -> None:
    properties = load_template()["Resources"]["HealthFunction"]["Properties"]

    policies = properties["Policies"]
    assert policies[:2] == [{"Ref": "OpenRouterKeyReadPolicy"}, {"Ref": "GoogleKeyReadPolicy"}]
    (statement,) = _inline_statements("HealthFunction")
    assert statement["Action"] == "apigateway:GET"
    plan_keys, api_keys = statement["Resource"]
    assert plan_keys["Fn::Sub"].endswith("::/usageplans/${ContentgenApiUsagePlan}/keys")
    assert api_keys["Fn::Sub"].endswith("::/apikeys/*")  # GetApiKey: is the key enabled
    variables = properties["Environment"]["Variables"]
    assert variables["API_USAGE_PLAN_ID"] == {"Ref": "ContentgenApiUsagePlan"}
    # The route stays open (uptime checks); the deep check verifies the key itself.
    (event,) = properties["Events"].values()
    assert event["Properties"]["Auth"] == {"ApiKeyRequired": False}


def test_every_provider_calling_function_may_share_breaker_state() -> None:
    resources = load_template()["Resources"]
    callers = [
        name
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
        and (
            {"Ref": "OpenRouterKeyReadPolicy"} in resource["Properties"].get("Policies", [])
            or {"Ref": "GoogleKeyReadPolicy"} in resource["Properties"].get("Policies", [])
        )
    ]
    callers = [name for name in callers if name != "HealthFunction"]
    assert len(callers) == 8
    for name in callers:
        assert SHARED_BREAKER_POLICY in resources[name]["Properties"]["Policies"]
        assert {"Ref": "BreakerStatePolicy"} not in resources[name]["Properties"]["Policies"]
    # The durable video job calls Google from its own role (not SAM's): the same policies there.
    job_role = resources["VideoJobFunctionRole"]["Properties"]["ManagedPolicyArns"]
    assert {"Ref": "GoogleKeyReadPolicy"} in job_role
    assert SHARED_BREAKER_POLICY in job_role
    # Neither the table nor the policy exists unless the state is shared.
    assert resources["BreakerStateTable"]["Condition"] == "ShareBreakerState"
    assert resources["BreakerStatePolicy"]["Condition"] == "ShareBreakerState"
    table = resources["BreakerStateTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    statement = resources["BreakerStatePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert set(statement["Action"]) == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["BREAKER_TABLE"] == {"Fn::If": ["ShareBreakerState", {"Ref": "BreakerStateTable"}, ""]}


def test_alarms_cover_error_rate_throttles_dead_letters_and_cost() -> None:
    resources = load_template()["Resources"]
    alarms = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {
        "ProviderErrorRateAlarm",
        "ApiErrorRateAlarm",
        "ThrottlesAlarm",
        "VideoJobFailedExecutionsAlarm",
        "VideoJobTimedOutExecutionsAlarm",
        "ShortJobErrorsAlarm",
        "ShortJobFailedExecutionsAlarm",
        "ShortJobTimedOutExecutionsAlarm",
        "DeadLetterQueueAlarm",
        "CostPerHourAlarm",
        "EventsNotPublishedAlarm",
        "ModelUnavailableAlarm",
    }
    gone = alarms["ModelUnavailableAlarm"]
    assert (gone["Namespace"], gone["MetricName"], gone["Threshold"]) == ("contentgen", "ModelUnavailable", 0)
    assert gone["Dimensions"] == [{"Name": "service", "Value": "contentgen"}]
    dead_letter_queues = {name for name in resources if name.endswith("DeadLetterQueue")}
    watched = {
        metric["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for metric in alarms["DeadLetterQueueAlarm"]["Metrics"]
        if "MetricStat" in metric
    }
    assert watched == dead_letter_queues
    throttled = [m for m in alarms["ThrottlesAlarm"]["Metrics"] if "MetricStat" in m]
    assert len(throttled) == 10  # CloudWatch's limit for one metric-math alarm
    assert alarms["CostPerHourAlarm"]["Period"] == 3600
    assert alarms["CostPerHourAlarm"]["MetricName"] == "CostUSD"
    # The metric contentgen.stores.results.publish counts when PutEvents keeps failing an entry.
    assert alarms["EventsNotPublishedAlarm"]["MetricName"] == "EventsNotPublished"


def test_the_dashboard_body_is_valid_json() -> None:
    body = load_template()["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    text = re.sub(r"\$\{[^}]+\}", "x", body[0])

    widgets = json.loads(text)["widgets"]
    titles = " ".join(widget["properties"]["title"] for widget in widgets)
    for topic in ("errors", "latency", "Cost", "fallbacks", "throttles", "dead-letter", "Alarms"):
        assert topic in titles


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


def _inline_statements(function: str) -> list[dict[str, Any]]:
    policies = load_template()["Resources"][function]["Properties"]["Policies"]
    return [statement for policy in policies if "Statement" in policy for statement in policy["Statement"]]


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_media_functions_touch_only_their_own_prefixes_table_and_queue() -> None:
    thumbnail = _inline_statements("GenerateThumbnailFunction")
    assert [_actions(s) for s in thumbnail] == [{"s3:PutObject", "s3:GetObject"}]
    assert thumbnail[0]["Resource"] == {"Fn::Sub": "${MediaBucket.Arn}/thumbnails/*"}

    start = {frozenset(_actions(s)): s["Resource"] for s in _inline_statements("GenerateVideoFunction")}
    job_arn = (
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-video-job"
    )
    assert start == {
        frozenset({"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"}): {
            "Fn::GetAtt": ["JobsTable", "Arn"]
        },
        frozenset({"lambda:InvokeFunction"}): {"Fn::Sub": f"{job_arn}:live"},
        frozenset({"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage"}): {
            "Fn::GetAtt": ["GenerateVideoQueue", "Arn"]
        },
        frozenset({"s3:GetObject"}): {"Fn::Sub": "${MediaBucket.Arn}/videos/*"},
    }
    job = _role_statements("VideoJobFunctionRole")
    by_actions = {frozenset(_actions(s)): s for s in job}
    assert by_actions[frozenset({"lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"})][
        "Resource"
    ] == {"Fn::Sub": f"{job_arn}:*"}
    assert by_actions[frozenset({"dynamodb:GetItem", "dynamodb:UpdateItem"})]["Resource"] == {
        "Fn::GetAtt": ["JobsTable", "Arn"]
    }
    assert by_actions[frozenset({"s3:PutObject", "s3:GetObject"})]["Resource"] == {
        "Fn::Sub": "${MediaBucket.Arn}/videos/*"
    }
    assert not any(a.startswith("s3:List") for s in job for a in _actions(s))
    resources = load_template()["Resources"]
    for function in ("GenerateThumbnailFunction", "GenerateVideoFunction", "VideoJobFunction"):
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert variables["MEDIA_BUCKET"] == {"Ref": "MediaBucket"}
        assert "OPENROUTER_API_KEY_PARAM" not in variables
    for function in ("GenerateThumbnailFunction", "VideoJobFunction"):
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert variables["GOOGLE_API_KEY_PARAM"] == {"Ref": "GoogleApiKeyParameterName"}


def _role_statements(role: str) -> list[dict[str, Any]]:
    policies = load_template()["Resources"][role]["Properties"]["Policies"]
    return [s for policy in policies for s in policy["PolicyDocument"]["Statement"]]


def test_the_video_job_is_a_durable_function_with_its_own_role_and_no_check_queue() -> None:
    """Lambda durable functions (DurableConfig, set only when a function is created): the job's
    whole life is bounded by ExecutionTimeout (above its deadline), kept RetentionPeriodInDays
    (as long as the job rows); no SQS check chain and no worker remain."""
    resources = load_template()["Resources"]
    job = resources["VideoJobFunction"]["Properties"]
    parameters_ = load_template()["Parameters"]
    assert job["DurableConfig"] == {
        "ExecutionTimeout": {"Ref": "VideoJobExecutionTimeoutSeconds"},
        "RetentionPeriodInDays": {"Ref": "JobRetentionDays"},
    }
    assert (
        parameters_["VideoJobExecutionTimeoutSeconds"]["Default"]
        >= parameters_["VideoJobDeadlineSeconds"]["Default"] + 900
    )
    assert 1 <= parameters_["JobRetentionDays"]["Default"] <= 90
    assert job["Role"] == {"Fn::GetAtt": ["VideoJobFunctionRole", "Arn"]}
    assert job["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-video-job"}
    assert job["Environment"]["Variables"]["JOB_RETENTION_DAYS"] == {"Ref": "JobRetentionDays"}
    assert "Events" not in job  # started by name (the API function), never by an event source
    assert not [name for name in resources if "VideoWorker" in name or "VideoJobQueue" in name]
    assert not [
        name
        for name, r in resources.items()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"]["FunctionName"] == {"Ref": "VideoJobFunction"}
    ]
    table = resources["JobsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    for alarm, metric in (
        ("VideoJobFailedExecutionsAlarm", "DurableExecutionFailed"),
        ("VideoJobTimedOutExecutionsAlarm", "DurableExecutionTimedOut"),
    ):
        properties = resources[alarm]["Properties"]
        assert (properties["Namespace"], properties["MetricName"]) == ("AWS/Lambda", metric)
        assert properties["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "VideoJobFunction"}}]


def test_media_bucket_is_private_encrypted_and_tls_only() -> None:
    resources = load_template()["Resources"]
    bucket = resources["MediaBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (deny,) = resources["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_results_are_written_with_the_action_the_policy_grants() -> None:
    """The results table is written with UpdateItem (results.py); PutItem alone would be denied."""
    source = (
        Path(__file__).resolve().parents[2] / "shared" / "contentgen" / "stores" / "results.py"
    ).read_text()
    assert "update_item(" in source
    assert "put_item(" not in source
    statements = _statements({"Ref": "EventGenerationPolicy"})
    (results,) = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["ResultsTable", "Arn"]}]
    assert results["Action"] == "dynamodb:UpdateItem"


def test_the_generation_routes_may_keep_idempotency_records_and_nothing_else() -> None:
    resources = load_template()["Resources"]
    for function in sorted(GENERATION_FUNCTIONS):
        assert {"Ref": "IdempotencyRecordsPolicy"} in resources[function]["Properties"]["Policies"]
    (statement,) = resources["IdempotencyRecordsPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    # No GetItem: Powertools reads a repeat's record from its refused conditional PutItem.
    assert _actions(statement) == {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    own_records = {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/contentgen-route}#*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    assert statement["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    assert statement["Condition"] == own_records
    # Reading paid parts back (contentgen.stores.partials): only the functions that fan out.
    readers = {
        function
        for function in GENERATION_FUNCTIONS
        if {"Ref": "PaidPartsReadPolicy"} in resources[function]["Properties"]["Policies"]
    }
    assert readers == {"StorySegmentsChunkedFunction", "StorySegmentsInSetsFunction"}
    (read,) = resources["PaidPartsReadPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert _actions(read) == {"dynamodb:GetItem"}
    assert read["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    assert read["Condition"] == own_records


def test_spend_is_kept_per_key_and_day_with_ttl_and_no_index_to_write() -> None:
    table = load_template()["Resources"]["SpendTable"]["Properties"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert "GlobalSecondaryIndexes" not in table, "an index would double each charge's writes"
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["SPEND_TABLE"] == {"Ref": "SpendTable"}
    assert variables["DAILY_BUDGET_USD"] == {"Ref": "DailyBudgetUsd"}


def test_every_generation_function_may_check_and_charge_spend_and_nothing_else_of_it() -> None:
    resources = load_template()["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        policies = resource["Properties"].get("Policies", [])
        ledger = {"Ref": "SpendAccountingPolicy"} in policies
        alarm = {"Ref": "BudgetAlarmPolicy"} in policies
        # POST /videos reserves a job's most before starting it (the ledger) but charges nothing:
        # the durable job it starts settles and is charged, from its own role (and may alarm).
        assert ledger is (logical_id in GENERATION_FUNCTIONS), logical_id
        # So does POST /shorts (the short pipeline's role is charged).
        assert alarm is (logical_id in GENERATION_FUNCTIONS - {"GenerateVideoFunction", "ShortsFunction"}), (
            logical_id
        )
    for role in ("VideoJobFunctionRole", "ShortJobFunctionRole"):
        job_role = resources[role]["Properties"]["ManagedPolicyArns"]
        assert {"Ref": "SpendAccountingPolicy"} in job_role
        assert {"Ref": "BudgetAlarmPolicy"} in job_role
    statements = resources["SpendAccountingPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {frozenset(_actions(s)): s["Resource"] for s in statements} == {
        frozenset({"dynamodb:Query"}): {"Fn::GetAtt": ["SpendTable", "Arn"]},
        frozenset({"dynamodb:UpdateItem"}): {"Fn::GetAtt": ["SpendTable", "Arn"]},
    }
    (alarm_statement,) = resources["BudgetAlarmPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert alarm_statement["Action"] == "events:PutEvents"
    assert alarm_statement["Resource"] == {"Fn::GetAtt": ["ContentgenEventBus", "Arn"]}


def test_a_generation_role_may_write_spend_days_but_no_budget() -> None:
    """Issue 22 finding 3: the UpdateItem grant names the day item's attributes (IAM's
    `dynamodb:Attributes`), so the per-key limit `daily_budget_usd` is the operators' alone; and
    no partition `budget#<key>` (IAM's `dynamodb:LeadingKeys`), so not even the TTL attribute
    `expires_at` can make DynamoDB delete a budget item."""
    from local.iam import allows, function_statements

    statements = function_statements("StorySegmentsFunction")
    table = next(
        resource
        for statement in statements
        if statement.get("Action") == "dynamodb:UpdateItem"
        for resource in [statement["Resource"]]
        if "spendtable" in str(resource).lower()
    )

    def update(*attributes: str, returns: str = "NONE", key: str = "k1") -> bool:
        context = {
            "dynamodb:Attributes": ["pk", "sk", *attributes],
            "dynamodb:ReturnValues": [returns],
            "dynamodb:LeadingKeys": [key],
        }
        return allows(statements, "dynamodb:UpdateItem", table, context)

    assert update("committed_usd", "hold#0a1b2c")  # a reservation
    assert update("committed_usd", "hold#0a1b2c", "settled#0a1b2c", "cost_usd")  # a job's settle, once
    assert update(
        "committed_usd",
        "hold#0a1b",
        "cost_usd",
        "requests",
        "fn#f#cost_usd",
        "expires_at",
        "alarmed_at",
        returns="UPDATED_NEW",
    )  # a settle
    assert not update("daily_budget_usd"), "the budget item's limit"
    assert not update("committed_usd", "daily_budget_usd"), "not even beside a day's attributes"
    assert not update("committed_usd", returns="ALL_NEW"), "no read of unlisted attributes"
    assert not allows(statements, "dynamodb:PutItem", table, {"dynamodb:Attributes": ["pk", "sk"]})
    assert not allows(statements, "dynamodb:UpdateItem", table, {}), "a request naming no attributes"
    assert not update("expires_at", key="budget#k1"), "a budget item's TTL"
    assert not update("committed_usd", key="budget#k1"), "nothing in a budget item's partition"
    no_key = {"dynamodb:Attributes": ["pk", "sk", "expires_at"], "dynamodb:ReturnValues": ["NONE"]}
    assert not allows(statements, "dynamodb:UpdateItem", table, no_key), "a request without LeadingKeys"


def test_usage_route_needs_a_key_and_only_reads_the_spend_table() -> None:
    usage = load_template()["Resources"]["UsageFunction"]["Properties"]
    assert usage["Events"]["Api"]["Properties"]["Path"] == "/usage"
    assert "Auth" not in usage["Events"]["Api"]["Properties"], "the API's ApiKeyRequired applies"
    assert [(_actions(s), s["Resource"]) for s in _inline_statements("UsageFunction")] == [
        ({"dynamodb:Query"}, {"Fn::GetAtt": ["SpendTable", "Arn"]})
    ]
    assert [p for p in usage["Policies"] if "Statement" not in p] == []


def test_results_bucket_is_tls_only_like_the_media_bucket() -> None:
    resources = load_template()["Resources"]
    policy = resources["ResultsBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "ResultsBucket"}
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_bus_publishing_is_limited_to_the_projects_own_events() -> None:
    (alarm,) = [s for s in _statements({"Ref": "BudgetAlarmPolicy"}) if s["Action"] == "events:PutEvents"]
    assert alarm["Condition"]["StringEquals"] == {"events:source": "contentgen"}
    assert alarm["Condition"]["ForAllValues:StringEquals"] == {
        "events:detail-type": ["BudgetThresholdReached"]
    }
    (put,) = [s for s in _statements({"Ref": "EventGenerationPolicy"}) if s["Action"] == "events:PutEvents"]
    assert put["Condition"]["StringEquals"] == {"events:source": "contentgen"}
    assert put["Condition"]["ForAllValues:StringEquals"] == {
        "events:detail-type": ["GenerationCompleted", "GenerationFailed"]
    }
    source = (ROOT / "shared" / "contentgen" / "stores" / "results.py").read_text()
    assert 'EVENT_SOURCE = "contentgen"' in source
    assert '"GenerationCompleted" if' in source
    assert 'else "GenerationFailed"' in source


def test_api_access_logs_are_json_with_request_key_status_and_latency() -> None:
    resources = load_template()["Resources"]
    setting = resources["ContentgenApi"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(setting["Format"])
    assert fields["request_id"] == "$context.requestId"
    assert fields["api_key_id"] == "$context.identity.apiKeyId"
    assert fields["status"] == "$context.status"
    assert fields["latency_ms"] == "$context.responseLatency"
    assert resources["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert resources["ApiGatewayAccount"]["Condition"] == "SetApiGatewayAccountRole"


def test_the_open_health_route_has_its_own_method_throttle() -> None:
    settings = load_template()["Resources"]["ContentgenApi"]["Properties"]["MethodSettings"]
    (health,) = [s for s in settings if s["ResourcePath"] == "/~1health"]
    assert health["HttpMethod"] == "GET"
    assert health["ThrottlingRateLimit"] == {"Ref": "HealthThrottleRateLimit"}
    assert health["ThrottlingBurstLimit"] == {"Ref": "HealthThrottleBurstLimit"}


def test_the_short_pipeline_role_grants_only_what_the_pipeline_uses() -> None:
    """ShortJobFunction: its own role (not SAM's durable managed policy with "*"), checkpoints on its
    own executions, the job table, its S3 prefix, its outcome events, the webhook secret; the API
    function may only start it (its alias) and read jobs. Nothing on "*" but X-Ray."""
    resources = load_template()["Resources"]
    job = resources["ShortJobFunction"]["Properties"]
    assert job["Role"] == {"Fn::GetAtt": ["ShortJobFunctionRole", "Arn"]}
    assert job["DurableConfig"]["RetentionPeriodInDays"] == {"Ref": "JobRetentionDays"}
    assert (job["MemorySize"], job["EphemeralStorage"]["Size"]) == (2048, 1024)
    statements = resources["ShortJobFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_actions = {frozenset(_actions(s)): s["Resource"] for s in statements}
    assert by_actions[
        frozenset({"lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"})
    ] == {
        "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-short-job:*"
    }
    assert by_actions[frozenset({"s3:PutObject", "s3:GetObject"})] == {
        "Fn::Sub": "${MediaBucket.Arn}/shorts/*"
    }
    assert by_actions[frozenset({"dynamodb:GetItem", "dynamodb:UpdateItem"})] == {
        "Fn::GetAtt": ["JobsTable", "Arn"]
    }
    # A terminally failed execution goes to the reaper's queue, as the video job's.
    assert job["DeadLetterQueue"] == {
        "Type": "SQS",
        "TargetArn": {"Fn::GetAtt": ["DurableJobDeadLetterQueue", "Arn"]},
    }
    assert by_actions[frozenset({"sqs:SendMessage"})] == {"Fn::GetAtt": ["DurableJobDeadLetterQueue", "Arn"]}
    for name in ("ShortsFunction", "ShortJobFunction"):
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["JOB_EXECUTION_TIMEOUT_SECONDS"] == {"Ref": "ShortJobExecutionTimeoutSeconds"}, name
    assert [s["Resource"] for s in statements if s["Resource"] == "*"] == ["*"]  # X-Ray only
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} == set(
        next(_actions(s) for s in statements if s["Resource"] == "*")
    )
    starter = _inline_statements("ShortsFunction")
    invoke = [s for s in starter if "lambda:InvokeFunction" in _actions(s)]
    assert [s["Resource"] for s in invoke] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-short-job:live"
        }
    ]


# docs/benchmark.md is a dated log of measurements, some taken under earlier interpreters (each
# says which); tests/unit/test_local_stack.py names a too-old Python on purpose. A version older than
# the development minimum (dicts "ordered since Python 3.7") is history, not a runtime claim.
PYTHON_MENTION = re.compile(r"(?<![\w-])(?:python ?|docs\.python\.org/)3\.(\d+)", re.IGNORECASE)
HISTORY = {"docs/benchmark.md", "tests/unit/test_local_stack.py"}


def test_every_python_version_the_repo_names_is_the_runtime_or_the_development_minimum() -> None:
    runtime = load_template()["Globals"]["Function"]["Runtime"]
    needed = re.search(r"^NEEDED\s*:=\s*3\.(\d+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    git = shutil.which("git")
    assert runtime.startswith("python3.")
    assert needed is not None
    assert git is not None
    allowed = {runtime.removeprefix("python3."), needed.group(1)}
    tracked = subprocess.run(
        [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    wrong = []
    for name in tracked:
        path = ROOT / name
        if not name or name in HISTORY or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a binary file
        for number, line in enumerate(text.splitlines(), start=1):
            wrong += [
                f"{name}:{number}: {line.strip()}"
                for m in PYTHON_MENTION.finditer(line)
                if m[1] not in allowed and int(m[1]) >= int(needed.group(1))
            ]
    assert wrong == [], f"the runtime is {runtime}; these name another Python"


def test_the_durable_job_knows_its_execution_timeout_so_its_deadline_stays_within_it() -> None:
    """VideoJobDeadlineSeconds may be set past VideoJobExecutionTimeoutSeconds - 900 (CloudFormation
    Rules cannot compare numbers: intrinsic-function-reference-rules.html); the job bounds its own
    deadline by the timeout it is given (`contentgen.services.durable.job_budget_seconds`), and the
    starter keeps job rows past the execution's name (`contentgen.stores.jobs.expires_at`)."""
    resources = load_template()["Resources"]
    for name in ("VideoJobFunction", "GenerateVideoFunction"):
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["JOB_EXECUTION_TIMEOUT_SECONDS"] == {"Ref": "VideoJobExecutionTimeoutSeconds"}, name
    durable = resources["VideoJobFunction"]["Properties"]["DurableConfig"]
    assert durable["ExecutionTimeout"] == {"Ref": "VideoJobExecutionTimeoutSeconds"}


def test_terminally_failed_durable_executions_go_to_a_queue_the_reaper_consumes() -> None:
    """AWS, durable-best-practices.html (Error handling): "configure a dead-letter queue (DLQ) on
    your durable function to capture events from permanently failed executions" (FAILED, STOPPED,
    TIMED_OUT after an asynchronous invocation). VideoJobFunction's DLQ is consumed by
    JobReaperFunction (partial batch failures), which ends the job failed with one JobFailed; the
    function's role may send there, the reaper's only read it."""
    resources = load_template()["Resources"]
    dlq = resources["VideoJobFunction"]["Properties"]["DeadLetterQueue"]
    assert dlq == {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["DurableJobDeadLetterQueue", "Arn"]}}
    (mapping,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["DurableJobDeadLetterQueue", "Arn"]}
    ]
    assert mapping["FunctionName"] == {"Ref": "JobReaperFunction"}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    statements = resources["VideoJobFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert {
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["DurableJobDeadLetterQueue", "Arn"]},
    } in statements


def test_video_requests_that_arrive_by_sqs_or_eventbridge_have_the_same_way_in_as_every_route() -> None:
    """functions/generate_video/app.py is the dispatcher of requests that arrive by SQS or
    EventBridge (issue 24: "the queue path for requests that arrive by SQS/EventBridge starts
    executions too"): its own queue (with a dead-letter queue), an explicit mapping with partial
    batch failures, and a bus rule for detail-type `generate_video` into that queue."""
    resources = load_template()["Resources"]
    (mapping,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"].get("FunctionName") == {"Ref": "GenerateVideoFunction"}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["GenerateVideoQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    rule = resources["GenerateVideoBusRule"]["Properties"]
    assert rule["EventPattern"] == {"detail-type": ["generate_video"]}
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["GenerateVideoQueue", "Arn"]}
    redrive = resources["GenerateVideoQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["GenerateVideoDeadLetterQueue", "Arn"]}


def alarm_states(alarm: dict[str, Any], counts: dict[int, float], minutes: int) -> list[str]:
    """The state of a CloudWatch metric alarm evaluated at the end of each period up to `minutes`,
    given the metric's points (`counts`: minute -> value, summed per period). M out of N as
    CloudWatch documents it: ALARM when at least `DatapointsToAlarm` (default `EvaluationPeriods`)
    of the last `EvaluationPeriods` periods breach; a period without data is treated as
    `TreatMissingData` says (`notBreaching`: within the threshold; `ignore`: the state is kept),
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    (read 2026-12-07). Only `Sum` and `GreaterThanThreshold`, what the alarm uses."""
    assert (alarm["Statistic"], alarm["ComparisonOperator"]) == ("Sum", "GreaterThanThreshold")
    period = int(alarm["Period"]) // 60
    sums: dict[int, float] = {}
    for minute, value in counts.items():
        sums[minute // period] = sums.get(minute // period, 0.0) + value
    evaluation = int(alarm["EvaluationPeriods"])
    needed = int(alarm.get("DatapointsToAlarm", evaluation))
    missing = alarm.get("TreatMissingData", "missing")
    states: list[str] = []
    state = "INSUFFICIENT_DATA"
    for end in range(1, minutes // period + 1):
        window = [sums.get(index) for index in range(max(0, end - evaluation), end)]
        if missing == "ignore" and all(value is None for value in window):
            states.append(state)
            continue
        breaching = sum(1 for value in window if value is not None and value > float(alarm["Threshold"]))
        state = "ALARM" if breaching >= needed else "OK"
        states.append(state)
    return states


def test_the_model_unavailable_alarm_stays_in_alarm_while_requests_are_served_around_a_gone_model() -> None:
    """The product counts `ModelUnavailable` once per request that met a gone model (found, or
    skipped because remembered: tests/integration/test_model_gone.py); with a request every 20
    minutes for 3 hours served by the fallback, the alarm is in ALARM from the first 5-minute
    period on (a count per period is not needed: quiet spells do not flap it to OK), and it
    clears within an hour and 5 minutes after the configuration moved to the successor."""
    alarm = load_template()["Resources"]["ModelUnavailableAlarm"]["Properties"]
    served_around = {minute: 1.0 for minute in range(0, 180, 20)}  # the last request at 160 min

    states = alarm_states(alarm, served_around, minutes=300)

    period = int(alarm["Period"]) // 60
    while_gone = states[: 180 // period]
    assert set(while_gone) == {"ALARM"}, while_gone
    after_fix = states[(160 + 65) // period :]
    assert after_fix, states
    assert set(after_fix) == {"OK"}, states
