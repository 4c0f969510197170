"""Each function run under the permissions template.yaml gives it, with moto enforcing IAM.

How: the function's role comes from the template translated by aws-sam-translator, managed
policies expanded (`local.iam.function_statements`). Moto gets an IAM role holding exactly those
statements (`local.iam.for_moto`); the test assumes it through STS, as Lambda does, and the
function's environment gets that role's temporary credentials (`ASIA...` key + session token:
the layer's boto3 clients and the Parameters and Secrets extension sign with them). The
containers' lazy clients are rebuilt (`reset_container`) so nothing signs with an older key, and
moto's IAM enforcement is switched on (`/moto-api/reset-auth` 0) for the run only. Every AWS API
call the code makes is recorded at botocore's `_make_api_call`.

What this proves:
- the layer's own clients sign with the role's credentials and are subject to enforcement: a call outside the role is AccessDenied
  (`test_a_call_outside_the_role_is_denied`, the negative control);
- every AWS action each exercised path takes is granted to its function by the template (the run
  would fail with AccessDenied otherwise, and the recorded calls are also compared with the
  granted actions);
- `unused_grants` lists what a role grants that the exercised paths never use (printed by each
  test, `-s` shows it; the lead's report lists them).

What moto cannot prove (moto 5.2, `moto/iam/access_control.py`, `moto/core/responses.py`):
- resources: only SQS, S3 (bucket/key ARN), IAM and STS requests are authorized against their
  resource's ARN (`test_a_queue_outside_the_role_is_denied`, `test_a_prefix_outside_the_role_is_denied`);
  DynamoDB, SSM, EventBridge and API Gateway are authorized against "*", so `for_moto` keeps
  resources only for SQS and S3 statements and their scoping to a table, parameter, bus or usage
  plan is not proven here; the resource scoping of the other services is asserted
  on the template by `tests/unit/test_template.py` and `tests/unit/test_permissions.py`;
- conditions: moto only evaluates `sts:ExternalId`, so conditions (the PutEvents
  source/detail-type, KMS `ViaService`) are dropped and not proven here;
- DynamoDB is the exception to both: every request the code makes to a table is checked here, in
  the recording hook, against the role's statements for that table's ARN (an action granted on
  one table does not pass on another) and their `dynamodb:LeadingKeys` conditions, with the role's
  tags in place of `${aws:PrincipalTag/...}` (`local.iam.dynamodb_allows`), and denied as IAM
  would deny it (`test_another_functions_records_are_denied`,
  `test_a_table_the_role_does_not_name_is_denied`);
- API Gateway: moto refuses botocore's SigV4 signature of API Gateway requests, so its signature
  check is skipped for API Gateway (`api_gateway_signatures_unchecked`), its action check is not;
  IAM authorizes its management API by HTTP method (`apigateway:GET`); moto names
  the action by operation (`apigateway:GetUsagePlanKeys`). `apigateway:GET` is given to moto as
  `apigateway:Get*` (every GET operation of the API is a `Get*`), and calls are recorded as
  `apigateway:<METHOD>`;
- platform actions (CloudWatch Logs, X-Ray, the event source mapping's ReceiveMessage/
  DeleteMessage, KMS Decrypt of SecureStrings) are made by Lambda, not by the code, and are not
  exercised here.
"""

from __future__ import annotations

import io
import json
import os
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError

from contentgen.idempotency import reset_idempotency
from local.aws import LOCAL_API_KEY, MotoServer, client
from local.iam import actions, dynamodb_allows, for_moto, function_statements
from local.lambda_context import LocalLambdaContext
from local.runtime import load_handler
from local.template import functions, physical_name, resolve, resources_of_type
from tests.conftest import load_event, log_records, reset_container
from tests.integration.conftest import Stack
from tests.integration.test_health import deep_event

pytestmark = pytest.mark.integration

# Actions the platform takes with the role, not the function's code.
PLATFORM = ("logs:", "xray:", "kms:Decrypt")
LAMBDA_POLLS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}

# The IAM action of S3 operations that have none of their own (Amazon S3 User Guide, "Actions,
# resources, and condition keys for Amazon S3": HeadObject needs s3:GetObject).
S3_ACTIONS = {"HeadObject": "GetObject", "HeadBucket": "ListBucket", "ListObjectsV2": "ListBucket"}

Run = Callable[[str], None]

# DynamoDB's requests on one item: their partition key is the request's leading key (other
# requests are checked with no leading key: a LeadingKeys-conditioned grant never allows them).
ITEM_OPERATIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}


def _tables() -> dict[str, tuple[str, str]]:
    """physical table name -> (its ARN, its partition key attribute), from the template."""
    tables = {}
    for logical_id, resource in resources_of_type("AWS::DynamoDB::Table").items():
        schema = resource["Properties"]["KeySchema"]
        hash_key = next(key["AttributeName"] for key in schema if key["KeyType"] == "HASH")
        tables[physical_name(logical_id)] = (str(resolve({"Fn::GetAtt": [logical_id, "Arn"]})), hash_key)
    return tables


def dynamodb_denial(function: str, operation: str, params: dict[str, Any]) -> str | None:
    """IAM's denial of a request on a table the role's statements do not grant it for, or with a
    partition key its LeadingKeys do not allow (an action the role does not grant on any table is
    left to moto's enforcement, the negative control). A `BatchGetItem` is checked per table with
    all its keys, as IAM evaluates `ForAllValues` on them."""
    if operation == "BatchGetItem":
        reads = {
            table: list(read.get("Keys", [])) for table, read in (params.get("RequestItems") or {}).items()
        }
    elif operation in ITEM_OPERATIONS:
        reads = {params.get("TableName"): [params.get("Key") or params.get("Item") or {}]}
    else:
        reads = {params.get("TableName"): []}
    for table, items in reads.items():
        if table not in _tables() or f"dynamodb:{operation}" not in granted(function):
            continue
        arn, hash_key = _tables()[table]
        keys = [str(value) for item in items for value in item.get(hash_key, {}).values()]
        if not dynamodb_allows(function, f"dynamodb:{operation}", arn, keys):
            return f"{function} is not authorized to perform: dynamodb:{operation} on {arn} (leading keys {keys})"
    return None


def _reset_auth(server: MotoServer, count: str) -> None:
    """Moto's enforcement: "0" checks every request from now on, "inf" none."""
    request = urllib.request.Request(
        f"{server.url}/moto-api/reset-auth",
        data=count.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},  # a form body would be parsed away
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


def moto_policy(function: str) -> dict[str, Any]:
    """The role's policy as moto evaluates it (apigateway:GET named as moto names its actions)."""
    document = for_moto(function_statements(function))
    for statement in document["Statement"]:
        statement["Action"] = [
            "apigateway:Get*" if action == "apigateway:GET" else action for action in statement["Action"]
        ]
    return document


class Calls:
    """Every AWS API call the code makes, as the IAM action it needs."""

    def __init__(self) -> None:
        self.actions: set[str] = set()
        self.stale: set[str] = set()  # made by a client holding other credentials than the role's
        self.denied: list[str] = []  # DynamoDB requests outside the role's tables or leading keys

    def record(self, api_client: Any, operation: str) -> None:
        service = api_client.meta.service_model.signing_name
        if service == "apigateway":  # API Gateway's management API is authorized by HTTP method
            method = api_client.meta.service_model.operation_model(operation).http["method"]
            self.actions.add(f"apigateway:{method}")
        elif service == "s3":  # S3 operations without an IAM action of their own
            self.actions.add(f"s3:{S3_ACTIONS.get(operation, operation)}")
        else:
            self.actions.add(f"{service}:{operation}")


@pytest.fixture
def as_role(
    stack: Stack, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Run, Calls]]:
    """`run_as(function)`: from now on the code runs with that function's role, enforced."""
    iam = client("iam", stack.aws_url)
    sts = client("sts", stack.aws_url)
    calls = Calls()
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
    running = {"function": ""}

    def recording(self: Any, operation_name: str, api_params: Any) -> Any:
        calls.record(self, operation_name)
        if self.meta.service_model.signing_name == "dynamodb":
            denial = dynamodb_denial(running["function"], operation_name, api_params)
            if denial is not None:
                calls.denied.append(denial)
                error = {"Error": {"Code": "AccessDeniedException", "Message": denial}}
                raise ClientError(error, operation_name)  # type: ignore[arg-type]
        signer = self._request_signer._credentials
        if signer is not None and signer.access_key != os.environ["AWS_ACCESS_KEY_ID"]:
            calls.stale.add(f"{self.meta.service_model.signing_name}:{operation_name}")
        return original(self, operation_name, api_params)

    def run_as(function: str) -> None:
        running["function"] = function
        _reset_auth(moto_server, "inf")
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
        name = f"{function}-{uuid.uuid4().hex[:8]}"
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
        iam.put_role_policy(
            RoleName=name, PolicyName="role", PolicyDocument=json.dumps(moto_policy(function))
        )
        credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName=function)["Credentials"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
        # boto3's default session resolves credentials once and keeps them: without a new session
        # the rebuilt clients (and the parameters extension's) would sign with an earlier key.
        boto3.setup_default_session()
        reset_container()  # the lazy clients are built again, with these credentials
        reset_idempotency()  # its persistence layer holds a client of its own
        calls.actions.clear()
        calls.stale.clear()
        calls.denied.clear()
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
        _reset_auth(moto_server, "0")

    try:
        yield run_as, calls
    finally:
        _reset_auth(moto_server, "inf")
        monkeypatch.undo()
        boto3.setup_default_session()
        reset_container()
        reset_idempotency()


def granted(function: str) -> set[str]:
    return {
        action
        for statement in function_statements(function)
        for action in actions(statement)
        if not action.startswith(PLATFORM)
    }


def unused_grants(function: str, *used: set[str]) -> set[str]:
    """What the role grants that the given runs never used (platform actions left out)."""
    return granted(function) - set().union(*used) - LAMBDA_POLLS


def assert_allowed(function: str, calls: Calls) -> set[str]:
    """Every recorded call is granted by the role; returns (and prints) the grants left unused."""
    allowed = granted(function)
    assert calls.actions, "the run made no AWS call: nothing was proven"
    assert not calls.stale, f"calls signed with other credentials than the role's: {calls.stale}"
    assert not calls.denied, f"{function} touches tables or items outside its role: {calls.denied}"
    assert calls.actions <= allowed, (
        f"{function} calls what its role does not grant: {calls.actions - allowed}"
    )
    used = set(calls.actions)
    print(f"\n{function}: used {sorted(used)}; granted, unused here: {sorted(unused_grants(function, used))}")
    return used


def _invoke(function: str, event: Any, timeout: float = 29) -> Any:
    handler = load_handler(functions()[function])
    return handler(event, LocalLambdaContext(function_name=function, timeout_seconds=timeout))


def api_gateway_signatures_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work around moto 5.2 refusing SigV4-signed API Gateway requests in server mode.

    moto answers botocore's correctly signed `GetUsagePlanKeys` with SignatureDoesNotMatch (its
    recomputed canonical request differs for API Gateway's REST paths), so no API Gateway call can
    pass enforcement. The signature check is skipped for API Gateway only (the server runs in this
    process); the action is still authorized against the role (`check_action_permitted`).
    """
    from moto.iam.access_control import IAMRequest

    original = IAMRequest.check_signature

    def check_signature(self: Any) -> None:
        if self._service != "apigateway":
            original(self)

    monkeypatch.setattr(IAMRequest, "check_signature", check_signature)


def test_a_call_outside_the_role_is_denied(stack: Stack, as_role: tuple[Run, Calls]) -> None:
    """The enforcement is real for the layer's own clients: the result reader may not write results."""
    from contentgen.connectors.aws import get_dynamodb_client

    run_as, _ = as_role
    run_as("GetResultFunction")
    table = physical_name("ResultsTable")
    signing = get_dynamodb_client()._request_signer._credentials  # type: ignore[attr-defined]
    assert signing.access_key == os.environ["AWS_ACCESS_KEY_ID"]  # the role's temporary key
    assert signing.token == os.environ["AWS_SESSION_TOKEN"]
    get_dynamodb_client().batch_get_item(
        RequestItems={table: {"Keys": [{"pk": {"S": "content#perm-x"}}]}}
    )  # granted

    with pytest.raises(ClientError) as denied:
        get_dynamodb_client().update_item(
            TableName=table,
            Key={"pk": {"S": "_claim#perm-x"}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "forged"}},
        )

    error = denied.value.response
    # moto answers DynamoDB's denial in IAM's XML, which botocore's JSON parser reports as "403".
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "not authorized to perform: dynamodb:UpdateItem" in error["Error"]["Message"]


def test_a_queue_outside_the_role_is_denied(stack: Stack, as_role: tuple[Run, Calls]) -> None:
    """SQS resources are enforced: the video starter feeds its own queue (the video test), not a text
    function's."""
    from contentgen.connectors.aws import get_sqs_client

    run_as, _ = as_role
    run_as("GenerateVideoFunction")
    account = "123456789012"
    other = f"{stack.aws_url}/{account}/{physical_name('StorySegmentsQueue')}"

    with pytest.raises(ClientError) as denied:
        get_sqs_client().send_message(QueueUrl=other, MessageBody="{}")

    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "not authorized to perform: sqs:SendMessage" in str(denied.value)


def test_a_prefix_outside_the_role_is_denied(stack: Stack, as_role: tuple[Run, Calls]) -> None:
    """S3 resources are enforced: the thumbnail function writes under thumbnails/ (the thumbnail
    test), not under videos/."""
    from contentgen.connectors.aws import get_s3_client

    run_as, _ = as_role
    run_as("GenerateThumbnailFunction")

    with pytest.raises(ClientError) as denied:
        get_s3_client().put_object(Bucket=physical_name("MediaBucket"), Key="videos/forged.mp4", Body=b"x")

    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_a_text_function_over_http_with_an_idempotency_key(
    stack: Stack, as_role: tuple[Run, Calls], api_event: Any
) -> None:
    run_as, calls = as_role
    event = api_event("POST", "/stories/segments", {"prompt": "A robot learns to paint", "segment_count": 1})
    event["headers"]["Idempotency-Key"] = f"perm-{uuid.uuid4().hex[:8]}"
    run_as("StorySegmentsFunction")

    first = _invoke("StorySegmentsFunction", event)
    again = _invoke("StorySegmentsFunction", event)

    assert first["statusCode"] == again["statusCode"] == 200, first["body"]
    assert json.loads(again["body"]) == json.loads(first["body"])
    assert "dynamodb:PutItem" in calls.actions  # the record (the repeat is answered from it)
    assert_allowed("StorySegmentsFunction", calls)


def test_a_text_function_from_its_queue_stores_and_announces(
    stack: Stack, as_role: tuple[Run, Calls]
) -> None:
    run_as, calls = as_role
    event = load_event("story_segments_sqs.json")
    request_id = f"perm-{uuid.uuid4().hex[:8]}"
    event["Records"][0]["body"] = json.dumps(
        {"request_id": request_id, "request": {"prompt": "A robot learns to paint", "segment_count": 1}}
    )
    run_as("StorySegmentsFunction")

    answer = _invoke("StorySegmentsFunction", event)

    assert answer == {"batchItemFailures": []}
    assert {"dynamodb:UpdateItem", "events:PutEvents"} <= calls.actions
    assert_allowed("StorySegmentsFunction", calls)


def test_the_result_reader(stack: Stack, as_role: tuple[Run, Calls]) -> None:
    run_as, calls = as_role
    event = load_event("get_result.json")
    event["path"] = "/results/perm-none"
    event["pathParameters"] = {"request_id": "perm-none"}
    run_as("GetResultFunction")

    response = _invoke("GetResultFunction", event)

    assert response["statusCode"] == 404, response["body"]  # read, and found nothing: not a 5xx
    assert "dynamodb:BatchGetItem" in calls.actions
    assert_allowed("GetResultFunction", calls)


def test_thumbnails_store_and_presign(
    stack: Stack, as_role: tuple[Run, Calls], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_as, calls = as_role
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("IMAGE_MODEL", "imagen-4.0-generate-001")
    event = load_event("generate_thumbnail.json")
    event["headers"]["Idempotency-Key"] = f"perm-{uuid.uuid4().hex[:8]}"
    run_as("GenerateThumbnailFunction")

    response = _invoke("GenerateThumbnailFunction", event)

    assert response["statusCode"] == 200, response["body"]
    assert {"s3:PutObject", "dynamodb:PutItem"} <= calls.actions  # the image, and its idempotency record
    assert "X-Amz-Signature=" in response["body"]  # presigned (SigV4) with the role's credentials
    assert_allowed("GenerateThumbnailFunction", calls)


def test_a_video_job_started_and_advanced_by_its_worker(
    stack: Stack, as_role: tuple[Run, Calls], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_as, calls = as_role
    monkeypatch.setenv("VIDEO_POLL_DELAY_SECONDS", "0")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    stack.provider.configure(video_polls=2)  # not done at the first check: checked again
    post = load_event("generate_video.json")
    run_as("GenerateVideoFunction")

    accepted = _invoke("GenerateVideoFunction", post)

    assert accepted["statusCode"] == 202, accepted["body"]
    assert {"dynamodb:PutItem", "sqs:SendMessage"} <= calls.actions
    started = assert_allowed("GenerateVideoFunction", calls)
    job_id = json.loads(accepted["body"])["job_id"]

    worker_event = load_event("video_worker.json")
    worker_event["Records"][0]["body"] = json.dumps({"job_id": job_id})
    run_as("VideoWorkerFunction")

    assert _invoke("VideoWorkerFunction", worker_event) == {"batchItemFailures": []}
    assert "sqs:SendMessage" in calls.actions  # the next check scheduled on its own queue
    assert _invoke("VideoWorkerFunction", worker_event) == {"batchItemFailures": []}
    assert {"s3:PutObject", "dynamodb:UpdateItem"} <= calls.actions
    assert_allowed("VideoWorkerFunction", calls)

    status = load_event("generate_video_status.json")
    status["path"] = f"/videos/{job_id}"
    status["pathParameters"] = {"job_id": job_id}
    run_as("GenerateVideoFunction")

    answer = _invoke("GenerateVideoFunction", status)

    assert answer["statusCode"] == 200, answer["body"]
    assert json.loads(answer["body"])["status"] == "succeeded"
    print(
        f"GenerateVideoFunction (start + status): unused {sorted(unused_grants('GenerateVideoFunction', started, calls.actions))}"
    )
    assert_allowed("GenerateVideoFunction", calls)


def test_the_deep_health_check(
    stack: Stack, as_role: tuple[Run, Calls], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_as, calls = as_role
    api_gateway_signatures_unchecked(monkeypatch)
    run_as("HealthFunction")

    response = _invoke("HealthFunction", deep_event(LOCAL_API_KEY), timeout=10)

    assert response["statusCode"] == 200, response["body"]
    assert "apigateway:GET" in calls.actions
    assert_allowed("HealthFunction", calls)


def test_usage_reads_the_spend_table(stack: Stack, as_role: tuple[Run, Calls]) -> None:
    run_as, calls = as_role
    event = load_event("usage.json")
    event["requestContext"]["identity"]["apiKeyId"] = f"perm-key-{uuid.uuid4().hex[:8]}"
    run_as("UsageFunction")

    response = _invoke("UsageFunction", event)

    assert response["statusCode"] == 200, response["body"]
    assert_allowed("UsageFunction", calls)


TEXT_FUNCTIONS = {
    "StorySegmentsChunkedFunction": "story_segments_chunked.json",
    "StorySegmentsInSetsFunction": "story_segments_in_sets.json",
    "MemeSegmentsFunction": "meme_segments.json",
    "FreeContentFunction": "free_content.json",
    "TrendingIdeasFunction": "trending_ideas.json",
    "AnalyzeCharacterFunction": "analyze_character.json",
}


@pytest.mark.parametrize("function", sorted(TEXT_FUNCTIONS))
def test_every_other_text_function_over_http(stack: Stack, as_role: tuple[Run, Calls], function: str) -> None:
    run_as, calls = as_role
    event = load_event(TEXT_FUNCTIONS[function])
    run_as(function)

    response = _invoke(function, event)

    assert response["statusCode"] == 200, response["body"]
    assert {
        "ssm:GetParameter",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    } <= calls.actions  # key, budget, spend
    assert_allowed(function, calls)


def test_another_functions_records_are_denied(stack: Stack, as_role: tuple[Run, Calls]) -> None:
    """dynamodb:LeadingKeys: a function reaches only its own route's records and results (and the
    shared request_id claims); another route's are denied, as IAM would deny them."""
    from contentgen.connectors.aws import get_dynamodb_client
    from contentgen.results import mark_notified

    run_as, calls = as_role
    run_as("StorySegmentsFunction")
    idempotency = physical_name("IdempotencyTable")

    with pytest.raises(ClientError, match="AccessDenied"):
        get_dynamodb_client().delete_item(TableName=idempotency, Key={"id": {"S": "memes/segments#0f1e"}})
    with pytest.raises(ClientError, match="AccessDenied"):
        get_dynamodb_client().get_item(TableName=idempotency, Key={"id": {"S": "stories/segments/sets#0f1e"}})
    with pytest.raises(ClientError, match="AccessDenied"):
        mark_notified("perm-other", "/memes/segments")  # another route's result

    get_dynamodb_client().get_item(TableName=idempotency, Key={"id": {"S": "stories/segments#0f1e"}})
    mark_notified("perm-own", "/stories/segments")  # its own: allowed
    assert len(calls.denied) == 3


def test_a_table_the_role_does_not_name_is_denied(stack: Stack, as_role: tuple[Run, Calls]) -> None:
    """DynamoDB resources are checked per table: GetItem granted on the idempotency table does not
    pass on the spend table."""
    from contentgen.connectors.aws import get_dynamodb_client

    run_as, calls = as_role
    run_as("FreeContentFunction")

    with pytest.raises(ClientError, match="AccessDenied"):
        get_dynamodb_client().get_item(
            TableName=physical_name("SpendTable"), Key={"pk": {"S": "k"}, "sk": {"S": "2026-11-30"}}
        )
    assert len(calls.denied) == 1


def test_a_corrupted_spend_day_is_restarted_within_the_role(
    stack: Stack, as_role: tuple[Run, Calls], log_output: io.StringIO
) -> None:
    """The spend ledger's recovery path (a day total that is not a number) reads the day with what
    the role grants, so the key stays budgeted."""
    from contentgen.connectors.aws import get_dynamodb_client
    from contentgen.spend import clock, utc_day

    key_id = f"perm-key-{uuid.uuid4().hex[:8]}"
    event = load_event("free_content.json")
    event["requestContext"]["identity"]["apiKeyId"] = key_id
    day = utc_day(clock())
    get_dynamodb_client().put_item(
        TableName=physical_name("SpendTable"),
        Item={"pk": {"S": key_id}, "sk": {"S": day}, "cost_usd": {"S": "not a number"}},
    )
    run_as, calls = as_role
    run_as("FreeContentFunction")

    response = _invoke("FreeContentFunction", event)

    assert response["statusCode"] == 200, response["body"]
    messages = [record["message"] for record in log_records(log_output)]
    assert "spend day item corrupted; totals restarted" in messages
    assert "spend not recorded" not in messages
    assert_allowed("FreeContentFunction", calls)
