"""Each function run under the permissions template.yaml gives it, with moto enforcing IAM.

How: the function's role comes from the template translated by aws-sam-translator, managed
policies expanded (`local.iam.function_statements`). Moto gets an IAM role holding exactly those
statements (`local.iam.for_moto`); the test assumes it through STS, as Lambda does, and the
function's environment gets that role's temporary credentials (`ASIA...` key + session token:
the layer's boto3 clients and the Parameters and Secrets extension sign with them). The
containers' lazy clients are rebuilt (`reset_container`) so nothing signs with an older key, and
moto's IAM enforcement is switched on (`/moto-api/reset-auth` 0) for the run only. Every AWS API
call the code makes is recorded at botocore's `_make_api_call`, and at the spend ledger's own
DynamoDB client's (`contentgen.clients.dynamodb`: SigV4 over httpx, checked by moto like botocore's).

What this proves:
- the layer's own clients sign with the role's credentials and are subject to enforcement: a call outside the role is AccessDenied
  (`test_a_call_outside_the_role_is_denied`, the negative control);
- every AWS action each exercised path takes is granted to its function by the template (the run
  would fail with AccessDenied otherwise, and the recorded calls are also compared with the
  granted actions);
- every grant is used: `test_a_text_function_uses_every_grant_and_nothing_else[<function>]` and
  the `..._use(s)_every_grant_and_nothing_else` tests of the media, result, usage and health
  functions drive each path of the function that needs a grant (a keyed request and its replay, a keyed request whose generation fails so
  Powertools deletes its record, a queue message with a result large enough for S3, a message
  handed back while the breaker is open, a probe through a shared breaker, a budget crossing, ...),
  each under the function's own role, and fails naming the function, action and resource of any
  grant that none of those runs used (`local.iam.unused_grants`: action, resource and the
  statement's conditions, e.g. the budget alarm's PutEvents apart from the completion events').
  The role checked is the one deployed with ShareCircuitBreakerState=true (a superset of the
  default's); grants only the platform uses are left out (`PLATFORM`, `LAMBDA_POLLS`: the only
  allow-list). `test_every_function_with_grants_is_covered` keeps a new function from escaping.
  Grants are matched on resources and conditions as IAM evaluates them (`local.iam.conditions_hold`),
  not as moto enforces them (see below).

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
  exercised here;
- a presigned GET URL is an `s3:GetObject` of the role made by whoever follows it: it is recorded
  when the URL is signed (`botocore.signers.generate_presigned_url`).
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import Any

import boto3
import botocore.client
import botocore.signers
import pytest
from botocore.exceptions import ClientError

from contentgen.catalog import default_chain
from contentgen.clients.dynamodb import DynamoDBClient, DynamoDBError
from contentgen.stores import results
from contentgen.stores.idempotency import reset_idempotency
from local.aws import LOCAL_API_KEY, MotoServer, client
from local.iam import (
    Use,
    actions,
    allows,
    dynamodb_allows,
    dynamodb_context,
    for_moto,
    function_statements,
    unused_grants,
)
from local.lambda_context import LocalLambdaContext
from local.runtime import load_handler
from local.template import (
    ACCOUNT,
    REGION,
    functions,
    parameters,
    physical_name,
    queue_sources,
    resolve,
    resources_of_type,
)
from tests.conftest import load_event, log_records, reset_container
from tests.integration.conftest import Stack
from tests.integration.test_health import deep_event

pytestmark = pytest.mark.integration

# The only grants no run here has to use: actions the platform takes with the role, not the
# function's code. Lambda writes the function's logs and traces (logs:, xray:); SSM decrypts a
# SecureString with KMS on the reader's behalf (kms:Decrypt, conditioned on kms:ViaService); the
# SQS event source mapping receives and deletes the function's messages (LAMBDA_POLLS).
PLATFORM = ("logs:", "xray:", "kms:Decrypt")
LAMBDA_POLLS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
# Lambda sends the record of a failed asynchronous invocation to the on-failure destination with
# the function's role (the generation functions' EventInvokeConfig): the platform's use.
LAMBDA_DESTINATION = Use.of(
    "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical_name('DirectInvokeDeadLetterQueue')}"
)
# Lambda sends the start payload of a durable execution that ended FAILED / TIMED_OUT / STOPPED
# to the job function's DeadLetterQueue with the function's role (JobReaperFunction consumes it):
# the platform's use, as the on-failure destination's.
DURABLE_DEAD_LETTER = Use.of(
    "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical_name('DurableJobDeadLetterQueue')}"
)
# The deployment whose roles hold every grant: with ShareCircuitBreakerState=true each provider
# function also holds BreakerStatePolicy (the default deployment's roles are a subset).
EVERY_GRANT = {"ShareCircuitBreakerState": "true"}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}

# The IAM action of S3 operations that have none of their own (Amazon S3 User Guide, "Actions,
# resources, and condition keys for Amazon S3": HeadObject needs s3:GetObject).
S3_ACTIONS = {"HeadObject": "GetObject", "HeadBucket": "ListBucket", "ListObjectsV2": "ListBucket"}

# DynamoDB's requests on one item: their partition key is the request's leading key (other
# requests are checked with no leading key: a LeadingKeys-conditioned grant never allows them).
ITEM_OPERATIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}

READER = "role-test-reader"  # the API key the stored results were charged to


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
    for table, request in _table_requests(operation, params).items():
        if table not in _tables() or f"dynamodb:{operation}" not in granted(function):
            continue
        arn, _ = _tables()[table]
        keys = _leading_keys(operation, request)
        context = dynamodb_context(operation, request)
        if not dynamodb_allows(function, f"dynamodb:{operation}", arn, keys, context):
            return f"{function} is not authorized to perform: dynamodb:{operation} on {arn} (leading keys {keys})"
    return None


def _table_requests(operation: str, params: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The request per table it touches: `BatchGetItem` names its tables in `RequestItems`."""
    if operation == "BatchGetItem":
        return {
            str(table): {"TableName": table, **read}
            for table, read in (params.get("RequestItems") or {}).items()
        }
    return {str(params.get("TableName", "")): params}


def _leading_keys(operation: str, params: Mapping[str, Any]) -> list[str]:
    """The request's `dynamodb:LeadingKeys`: the partition key of an item request (other requests
    are checked with none: a LeadingKeys-conditioned grant never allows them)."""
    if params.get("TableName") not in _tables():
        return []
    _, hash_key = _tables()[params["TableName"]]
    if operation == "BatchGetItem":
        items = list(params.get("Keys") or [])
    elif operation in ITEM_OPERATIONS:
        items = [params.get("Key") or params.get("Item") or {}]
    else:
        return []
    return [str(value) for item in items for value in item.get(hash_key, {}).values()]


def _reset_auth(server: MotoServer, count: str) -> None:
    """Moto's enforcement: "0" checks every request from now on, "inf" none."""
    request = urllib.request.Request(
        f"{server.url}/moto-api/reset-auth",
        data=count.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},  # a form body would be parsed away
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def moto_policy(function: str) -> dict[str, Any]:
    """The role's policy as moto evaluates it (apigateway:GET named as moto names its actions)."""
    document = for_moto(function_statements(function))
    # moto names Lambda's Invoke by its operation ("lambda:Invoke"), IAM by "lambda:InvokeFunction".
    moto_names = {"apigateway:GET": "apigateway:Get*", "lambda:InvokeFunction": "lambda:Invoke"}
    for statement in document["Statement"]:
        statement["Action"] = [moto_names.get(action, action) for action in statement["Action"]]
    return document


def _api_gateway_path(api_client: Any, operation: str, params: Mapping[str, Any]) -> str:
    """The request's path (`/usageplans/<id>/keys`), the resource IAM authorizes it on; the local
    usage plan's id named as the template names it locally."""
    model = api_client.meta.service_model.operation_model(operation)
    path = str(model.http["requestUri"]).split("?", 1)[0]
    for member, shape in model.input_shape.members.items():
        if shape.serialization.get("location") == "uri" and member in params:
            path = path.replace("{" + shape.serialization.get("name", member) + "}", str(params[member]))
    plan = os.environ.get("API_USAGE_PLAN_ID")
    return path.replace(
        f"/usageplans/{plan}/", "/usageplans/" + physical_name("ContentgenApiUsagePlan") + "/"
    )


def uses_of(api_client: Any, operation: str, action: str, params: Mapping[str, Any]) -> list[Use]:
    """The call as IAM authorizes it: its resource's ARN and the context keys its grants test."""
    service = action.split(":", 1)[0]
    if service == "dynamodb":
        uses = []
        for table, request in _table_requests(operation, params).items():
            arn = (
                _tables()[table][0]
                if table in _tables()
                else f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
            )
            keys = _leading_keys(operation, request)
            context = {
                **dynamodb_context(operation, request),
                **({"dynamodb:LeadingKeys": keys} if keys else {}),
            }
            uses.append(Use.of(action, arn, context))
        return uses
    if service == "s3":
        key = f"/{params['Key']}" if "Key" in params else ""
        return [Use.of(action, f"arn:aws:s3:::{params.get('Bucket', '')}{key}")]
    if service == "sqs" and "QueueUrl" in params:
        name = str(params["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1]
        return [Use.of(action, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")]
    if service == "events" and operation == "PutEvents":
        return [
            Use.of(
                action,
                _bus_arn(str(entry.get("EventBusName", "default"))),
                {"events:source": [entry["Source"]], "events:detail-type": [entry["DetailType"]]},
            )
            for entry in params.get("Entries", [])
        ]
    if service == "ssm" and "Name" in params:
        name = str(params["Name"])
        return [
            Use.of(
                action, f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{'' if name.startswith('/') else '/'}{name}"
            )
        ]
    if service == "apigateway":
        return [
            Use.of(action, f"arn:aws:apigateway:{REGION}::{_api_gateway_path(api_client, operation, params)}")
        ]
    if service == "lambda" and "FunctionName" in params:
        name = str(params["FunctionName"])
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        return [Use.of(action, arn)]
    return [Use.of(action, "*")]


def _bus_arn(name_or_arn: str) -> str:
    return (
        name_or_arn
        if name_or_arn.startswith("arn:")
        else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name_or_arn}"
    )


class Calls:
    """Every AWS API call the code makes, as the IAM action it needs and as `Use`s (action,
    resource, context keys)."""

    def __init__(self) -> None:
        self.actions: set[str] = set()
        self.uses: set[Use] = set()
        self.stale: set[str] = set()  # made by a client holding other credentials than the role's
        self.denied: list[str] = []  # DynamoDB requests outside the role's tables or leading keys
        self.share_breaker_state = False  # the role of the run: deployed with shared breaker state

    def record(self, api_client: Any, operation: str, params: Mapping[str, Any]) -> None:
        service = api_client.meta.service_model.signing_name
        if service == "apigateway":  # API Gateway's management API is authorized by HTTP method
            method = api_client.meta.service_model.operation_model(operation).http["method"]
            action = f"apigateway:{method}"
        elif service == "s3":  # S3 operations without an IAM action of their own
            action = f"s3:{S3_ACTIONS.get(operation, operation)}"
        elif service == "lambda" and operation == "Invoke":  # the API's Invoke is IAM's InvokeFunction
            action = "lambda:InvokeFunction"
        else:
            action = f"{service}:{operation}"
        self.actions.add(action)
        self.uses.update(uses_of(api_client, operation, action, params))

    def record_dynamodb(self, operation: str, params: Mapping[str, Any]) -> None:
        """A request of the spend ledger's own DynamoDB client (`contentgen.clients.dynamodb`)."""
        action = f"dynamodb:{operation}"
        self.actions.add(action)
        self.uses.update(uses_of(None, operation, action, params))

    def clear(self) -> None:
        self.actions.clear()
        self.uses.clear()
        self.stale.clear()
        self.denied.clear()


Run = Callable[..., None]


def role_parameters(share_breaker_state: bool) -> AbstractContextManager[None]:
    return parameters(ShareCircuitBreakerState="true") if share_breaker_state else nullcontext()


@pytest.fixture
def as_role(
    stack: Stack, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Run, Calls]]:
    """`run_as(function, share_breaker_state=False, prepare=None)`: from now on the code runs with
    that function's role (as deployed with or without shared breaker state), enforced."""
    iam = client("iam", stack.aws_url)
    sts = client("sts", stack.aws_url)
    calls = Calls()
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
    original_presign = botocore.signers.generate_presigned_url
    running: dict[str, Any] = {"function": "", "share": False}
    sent_to: set[str] = set()  # queues the runs sent messages to: emptied afterwards

    def recording(self: Any, operation_name: str, api_params: Any) -> Any:
        calls.record(self, operation_name, api_params)
        if self.meta.service_model.signing_name == "dynamodb":
            with role_parameters(running["share"]):  # fan-out threads do not inherit the context
                denial = dynamodb_denial(running["function"], operation_name, api_params)
            if denial is not None:
                calls.denied.append(denial)
                error = {"Error": {"Code": "AccessDeniedException", "Message": denial}}
                raise ClientError(error, operation_name)  # type: ignore[arg-type]
        signer = self._request_signer._credentials
        if signer is not None and signer.access_key != os.environ["AWS_ACCESS_KEY_ID"]:
            calls.stale.add(f"{self.meta.service_model.signing_name}:{operation_name}")
        answer = original(self, operation_name, api_params)
        if operation_name == "SendMessage":
            sent_to.add(str(api_params["QueueUrl"]))  # sent (SQS allows one purge a minute)
        return answer

    original_ledger = DynamoDBClient._make_api_call

    def recording_ledger(self: DynamoDBClient, operation_name: str, api_params: Mapping[str, Any]) -> Any:
        calls.record_dynamodb(operation_name, api_params)
        with role_parameters(running["share"]):
            denial = dynamodb_denial(running["function"], operation_name, dict(api_params))
        if denial is not None:
            calls.denied.append(denial)
            error = {"Error": {"Code": "AccessDeniedException", "Message": denial}}
            raise DynamoDBError(operation_name, "AccessDeniedException", denial, error)
        if self._credentials().access_key != os.environ["AWS_ACCESS_KEY_ID"]:
            calls.stale.add(f"dynamodb:{operation_name}")
        return original_ledger(self, operation_name, api_params)

    def presigning(self: Any, ClientMethod: str, Params: Any = None, **kwargs: Any) -> Any:
        """A presigned URL is the role's action, taken by whoever follows it."""
        operation = self.meta.method_to_api_mapping.get(ClientMethod, ClientMethod)
        calls.record(self, operation, Params or {})
        return original_presign(self, ClientMethod, Params, **kwargs)

    def run_as(
        function: str, *, share_breaker_state: bool = False, prepare: Callable[[], None] | None = None
    ) -> None:
        running["function"], running["share"] = function, share_breaker_state
        _reset_auth(moto_server, "inf")
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
        monkeypatch.setattr(DynamoDBClient, "_make_api_call", original_ledger)
        if prepare is not None:
            prepare()
        name = f"{function}-{uuid.uuid4().hex[:8]}"
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
        with role_parameters(share_breaker_state):
            policy = moto_policy(function)
            breaker_table = functions()[function].environment.get("BREAKER_TABLE", "")
        iam.put_role_policy(RoleName=name, PolicyName="role", PolicyDocument=json.dumps(policy))
        monkeypatch.setenv("BREAKER_TABLE", breaker_table)
        credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName=function)["Credentials"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
        # boto3's default session resolves credentials once and keeps them: without a new session
        # the rebuilt clients (and the parameters extension's) would sign with an earlier key.
        boto3.setup_default_session()
        reset_container()  # the lazy clients are built again, with these credentials
        reset_idempotency()  # its persistence layer holds a client of its own
        calls.clear()
        calls.share_breaker_state = share_breaker_state
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
        monkeypatch.setattr(DynamoDBClient, "_make_api_call", recording_ledger)
        _reset_auth(moto_server, "0")

    # S3 clients built from now on sign URLs through `presigning` (botocore adds the function to
    # the client class when the class is created).
    monkeypatch.setattr(botocore.signers, "generate_presigned_url", presigning)
    try:
        yield run_as, calls
    finally:
        _reset_auth(moto_server, "inf")
        monkeypatch.undo()
        boto3.setup_default_session()
        reset_container()
        reset_idempotency()
        clear_breaker_rows(stack)  # no breaker row a run seeded outlives it (the table is shared)
        sqs = client("sqs", stack.aws_url)
        # Nor a handed-back or scheduled message (another test would run it). Purged, since delayed
        # messages cannot be received yet; PurgeQueue is allowed once a minute per queue, so no
        # other test purges these queues (they drain theirs).
        for queue_url in sent_to:
            sqs.purge_queue(QueueUrl=queue_url)


def granted(function: str) -> set[str]:
    return {
        action
        for statement in function_statements(function)
        for action in actions(statement)
        if not action.startswith(PLATFORM)
    }


def assert_allowed(function: str, calls: Calls) -> set[Use]:
    """Every recorded call is granted by the role as IAM would evaluate it: its action, on its
    resource's ARN (a parameter, a bus, a key prefix, a table), under the statement's conditions
    for the call's context keys (`dynamodb:LeadingKeys`, `dynamodb:Attributes`,
    `dynamodb:ReturnValues`, `events:source`, `events:detail-type`), whatever moto enforced;
    returns the run's calls, as `Use`s."""
    with role_parameters(calls.share_breaker_state):
        allowed = granted(function)
        statements = function_statements(function)
    assert calls.actions, "the run made no AWS call: nothing was proven"
    assert not calls.stale, f"calls signed with other credentials than the role's: {calls.stale}"
    assert not calls.denied, f"{function} touches tables or items outside its role: {calls.denied}"
    assert calls.actions <= allowed, (
        f"{function} calls what its role does not grant: {calls.actions - allowed}"
    )
    denied = sorted(
        f"{use.action} on {use.resource} with {dict(use.context)}"
        for use in calls.uses
        if not use.action.startswith(PLATFORM)
        and not allows(statements, use.action, use.resource, dict(use.context))
    )
    assert not denied, f"{function} makes calls IAM would deny (resource or condition): {denied}"
    return set(calls.uses)


def assert_every_grant_used(function: str, uses: set[Use]) -> None:
    """Each action the role (as deployed with every grant, `EVERY_GRANT`) allows on each resource
    was used by one of the function's runs, platform grants left out."""
    with parameters(**EVERY_GRANT):
        unused = unused_grants(function, {*uses, LAMBDA_DESTINATION}, leaving_out=(*PLATFORM, *LAMBDA_POLLS))
    assert not unused, f"{function}'s role grants what none of its runs used: " + "; ".join(
        sorted(map(str, unused))
    )


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
    from contentgen.clients.aws import get_dynamodb_client

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
    from contentgen.clients.aws import get_sqs_client

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
    from contentgen.clients.aws import get_s3_client

    run_as, _ = as_role
    run_as("GenerateThumbnailFunction")

    with pytest.raises(ClientError) as denied:
        get_s3_client().put_object(Bucket=physical_name("MediaBucket"), Key="videos/forged.mp4", Body=b"x")

    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


# --- Every path that needs a grant, under the function's own role ------------------------------

TEXT_FUNCTIONS = {
    "StorySegmentsFunction": "story_segments.json",
    "StorySegmentsChunkedFunction": "story_segments_chunked.json",
    "StorySegmentsInSetsFunction": "story_segments_in_sets.json",
    "MemeSegmentsFunction": "meme_segments.json",
    "FreeContentFunction": "free_content.json",
    "TrendingIdeasFunction": "trending_ideas.json",
    "AnalyzeCharacterFunction": "analyze_character.json",
}
BREAKER_PROVIDERS = ("OpenRouter", "Google GenAI")  # the connectors' PROVIDER names
MODEL_VARIABLES = ("TEXT_MODEL", "VISION_MODEL", "IMAGE_MODEL", "VIDEO_MODEL")


def keyed(event: dict[str, Any]) -> dict[str, Any]:
    """The event with an `Idempotency-Key` of its own."""
    event["headers"]["Idempotency-Key"] = f"perm-{uuid.uuid4().hex[:8]}"
    return event


def with_api_key(event: dict[str, Any]) -> dict[str, Any]:
    """The event sent with an API key of its own (a fresh spend ledger)."""
    event["requestContext"]["identity"]["apiKeyId"] = f"perm-key-{uuid.uuid4().hex[:8]}"
    return event


def queue_event(function: str, request: dict[str, Any]) -> dict[str, Any]:
    """An SQS event from the function's own queue carrying `request` under a new request_id."""
    (queue,) = [source.queue for source in queue_sources() if source.function == function]
    event = load_event("story_segments_sqs.json")
    event["Records"][0]["eventSourceARN"] = resolve({"Fn::GetAtt": [queue, "Arn"]})
    event["Records"][0]["body"] = json.dumps(
        {"request_id": f"perm-{uuid.uuid4().hex[:8]}", "request": request}
    )
    return event


def fail_provider(stack: Stack, target: str) -> None:
    """Every request to `target` (openai or gemini) answers 503 until `stack.provider.faults()`."""
    stack.provider.faults({"kind": "server_error", "status": 503, "count": 50, "target": target})


def crossing_budget_alarm(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key's first paid call crosses the budget alarm's share (not the budget)."""
    monkeypatch.setenv("DAILY_BUDGET_USD", "10")
    monkeypatch.setenv("BUDGET_ALARM_THRESHOLD", "0.000001")


def breaker_rows(stack: Stack, opened_at: float) -> Callable[[], None]:
    """Seeds the shared breaker table as another container would leave it: every model's breaker
    open since `opened_at`, the providers' own breakers closed (no row)."""

    def seed() -> None:
        from aws_lambda_powertools.utilities.circuit_breaker import CircuitBreakerConfig
        from aws_lambda_powertools.utilities.circuit_breaker.persistence import (
            CircuitBreakerDynamoDBPersistence,
        )

        clear_breaker_rows(stack)
        layer = CircuitBreakerDynamoDBPersistence(
            table_name=physical_name("BreakerStateTable"), boto3_client=client("dynamodb", stack.aws_url)
        )
        config = CircuitBreakerConfig(recovery_timeout=30, local_cache_max_age=1)
        for provider in BREAKER_PROVIDERS:
            for variable in MODEL_VARIABLES:
                name = f"{provider}#{os.environ[variable]}"
                layer.configure(config, name)
                layer.save_open(name, 1, int(opened_at))

    return seed


def clear_breaker_rows(stack: Stack) -> None:
    """No shared breaker state (other tests share the table)."""
    dynamodb = client("dynamodb", stack.aws_url)
    table = physical_name("BreakerStateTable")
    for item in dynamodb.scan(TableName=table, ProjectionExpression="id").get("Items", []):
        dynamodb.delete_item(TableName=table, Key={"id": item["id"]})


def run_text_paths(
    function: str, stack: Stack, run_as: Run, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> set[Use]:
    """Every path of a text function that needs a grant, each under its role; the calls made."""
    sample = load_event(TEXT_FUNCTIONS[function])
    request = json.loads(sample["body"])
    used: set[Use] = set()

    # A keyed request and its replay: the record is written (PutItem) and completed (UpdateItem);
    # the replay is answered from the conditional write's old item. Fan-outs keep paid parts.
    event = keyed(load_event(TEXT_FUNCTIONS[function]))
    run_as(function)
    first, again = _invoke(function, event), _invoke(function, event)
    assert first["statusCode"] == again["statusCode"] == 200, first["body"]
    assert json.loads(again["body"]) == json.loads(first["body"])
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "ssm:GetParameter", "dynamodb:Query"} <= calls.actions
    used |= assert_allowed(function, calls)

    # A keyed request whose generation fails: Powertools deletes the record (DeleteItem), so the
    # key's retry runs again.
    fail_provider(stack, "openai")
    run_as(function)
    failed = _invoke(function, keyed(load_event(TEXT_FUNCTIONS[function])))
    stack.provider.faults()
    assert failed["statusCode"] >= 500, (failed["statusCode"], failed["body"][:300])
    assert "dynamodb:DeleteItem" in calls.actions
    used |= assert_allowed(function, calls)

    # A queue message whose result is too large for an item: claimed, stored in S3 under the
    # route's prefix with a pointer in the item, announced (GenerationCompleted).
    inline_limit = results.MAX_INLINE_BYTES
    monkeypatch.setattr(results, "MAX_INLINE_BYTES", 0)  # any result is "too large"
    run_as(function)
    assert _invoke(function, queue_event(function, request)) == {"batchItemFailures": []}
    assert {"s3:PutObject", "events:PutEvents", "dynamodb:UpdateItem"} <= calls.actions
    used |= assert_allowed(function, calls)
    monkeypatch.setattr(results, "MAX_INLINE_BYTES", inline_limit)

    # Breaker state shared: a message met by an open breaker (read from the table, GetItem) is
    # handed back to its own queue with a delay (SendMessage).
    run_as(function, share_breaker_state=True, prepare=breaker_rows(stack, time.time()))
    assert _invoke(function, queue_event(function, request)) == {"batchItemFailures": []}
    assert {"dynamodb:GetItem", "sqs:SendMessage"} <= calls.actions
    used |= assert_allowed(function, calls)

    # Breaker state shared, the cooldown over: this container wins the probe (a conditional
    # PutItem) and closes the breaker (UpdateItem); the key's first call crosses its budget
    # alarm (BudgetThresholdReached).
    crossing_budget_alarm(monkeypatch)
    run_as(function, share_breaker_state=True, prepare=breaker_rows(stack, time.time() - 3600))
    answer = _invoke(function, with_api_key(load_event(TEXT_FUNCTIONS[function])))
    if function == "StorySegmentsInSetsFunction" and answer["statusCode"] == 503:
        # Concurrent sets: one is the probe, those admitted while it runs meet it (503, retried).
        assert json.loads(answer["body"])["code"] == "provider_circuit_open", answer["body"]
        assert json.loads(answer["body"])["partial"]["sets"]  # the probe's set, paid and kept
    else:
        assert answer["statusCode"] == 200, answer["body"]
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem"} <= calls.actions  # the probe won, then closed
    budget_alarms = [
        use for use in calls.uses if ("events:detail-type", ("BudgetThresholdReached",)) in use.context
    ]
    assert budget_alarms, "the budget alarm was not published"
    used |= assert_allowed(function, calls)
    return used


@pytest.mark.slow  # every route and failure path of the function, under its role
@pytest.mark.parametrize("function", sorted(TEXT_FUNCTIONS))
def test_a_text_function_uses_every_grant_and_nothing_else(
    stack: Stack,
    as_role: tuple[Run, Calls],
    monkeypatch: pytest.MonkeyPatch,
    function: str,
) -> None:
    run_as, calls = as_role

    used = run_text_paths(function, stack, run_as, calls, monkeypatch)

    assert_every_grant_used(function, used)


def test_thumbnails_use_every_grant_and_nothing_else(
    stack: Stack, as_role: tuple[Run, Calls], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_as, calls = as_role
    function = "GenerateThumbnailFunction"
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("IMAGE_MODEL", default_chain("image")[0])
    used: set[Use] = set()

    event = keyed(load_event("generate_thumbnail.json"))
    run_as(function)
    first, again = _invoke(function, event), _invoke(function, event)
    assert first["statusCode"] == again["statusCode"] == 200, first["body"]
    assert {"s3:PutObject", "s3:GetObject", "dynamodb:PutItem"} <= calls.actions  # stored, presigned
    assert "X-Amz-Signature=" in first["body"]  # presigned (SigV4) with the role's credentials
    used |= assert_allowed(function, calls)

    fail_provider(stack, "gemini")
    run_as(function)
    failed = _invoke(function, keyed(load_event("generate_thumbnail.json")))
    stack.provider.faults()
    assert failed["statusCode"] >= 500, failed["body"]
    assert "dynamodb:DeleteItem" in calls.actions
    used |= assert_allowed(function, calls)

    crossing_budget_alarm(monkeypatch)
    run_as(function, share_breaker_state=True, prepare=breaker_rows(stack, time.time() - 3600))
    answer = _invoke(function, with_api_key(load_event("generate_thumbnail.json")))
    assert answer["statusCode"] == 200, answer["body"]
    assert {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "events:PutEvents",
    } <= calls.actions
    used |= assert_allowed(function, calls)

    assert_every_grant_used(function, used)


def _status_event(sample: str, resource: str, id_param: str, job_id: str, api_key_id: str) -> dict[str, Any]:
    """GET `resource/{job_id}` (path parameter `id_param`) by `api_key_id`, from the recorded `sample`."""
    event = load_event(sample)
    event["httpMethod"], event["body"] = "GET", None
    event["resource"], event["path"] = f"{resource}/{{{id_param}}}", f"{resource}/{job_id}"
    event["pathParameters"] = {id_param: job_id}
    event["requestContext"]["identity"]["apiKeyId"] = api_key_id
    return event


def _held_starts(pending: list[tuple[str, str, str]]) -> Callable[[str, str, str], str]:
    """A durable start as the starter's role makes it: Lambda's named Invoke (moto authorizes it,
    then has no durable function to run: ResourceNotFound); the execution is kept in `pending`, to
    be run under the job's role."""
    from contentgen.services import jobs as job_service

    def invoke_then_hold(function: str, name: str, payload: str) -> str:
        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            job_service._lambda_starter(function, name, payload)
        pending.append((function, name, payload))
        return ""

    return invoke_then_hold


def _refused_start_uses(
    function: str, sample: str, run_as: Run, calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> set[Use]:
    """A keyed start (the recorded `sample`) that Lambda refuses: 503, the idempotency record
    released (DeleteItem). The grants `function` used for it."""
    from contentgen.services import jobs as job_service

    def refused(function: str, name: str, payload: str) -> str:
        raise ConnectionError("Lambda could not be reached")

    monkeypatch.setattr(job_service, "_starter", refused)
    run_as(function)
    failed = _invoke(function, with_api_key(keyed(load_event(sample))))
    assert failed["statusCode"] == 503, failed["body"]
    assert "dynamodb:DeleteItem" in calls.actions
    return assert_allowed(function, calls)


def _assert_durable_grants_all_used(
    starter: str,
    starter_uses: set[Use],
    starter_unusable: tuple[tuple[str, str], ...],
    job: str,
    job_uses: set[Use],
) -> None:
    """Every grant of the durable starter `starter` and of its job function `job` was used by
    their runs, but for the platform's, the pollers', the durable checkpoints' (proven on the
    template) and `starter_unusable` ((action, resource substring) no run of the starter can use)."""
    with parameters(**EVERY_GRANT):
        unused = unused_grants(
            starter, {*starter_uses, LAMBDA_DESTINATION}, leaving_out=(*PLATFORM, *LAMBDA_POLLS)
        )
        job_unused = unused_grants(
            job,
            {*job_uses, DURABLE_DEAD_LETTER},
            leaving_out=(*PLATFORM, *LAMBDA_POLLS, *DURABLE_CHECKPOINTS),
        )
    unused = {
        grant
        for grant in unused
        if not any(
            grant.action == action and part in grant.resource.lower() for action, part in starter_unusable
        )
    }
    assert not unused, f"{starter}'s role grants what none of its runs used: " + "; ".join(
        sorted(map(str, unused))
    )
    assert not job_unused, f"{job}'s role grants what none of its runs used: " + "; ".join(
        sorted(map(str, job_unused))
    )


# The durable SDK's two APIs: the testing runner keeps checkpoints in memory, so no run calls
# them here; their grant (this function's executions only) is proven on the template
# (tests/unit/test_permissions.py::test_the_durable_video_job_checkpoints_only_its_own_executions).
DURABLE_CHECKPOINTS = ("lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState")


@pytest.mark.slow
def test_a_durable_video_job_started_and_run_uses_every_grant_and_nothing_else(
    stack: Stack, as_role: tuple[Run, Calls], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The starter (API function) claims the job and invokes the durable function by name; the
    durable function (its own role) runs the job: start, charge, checks, store, outcome event."""
    from contentgen.services import jobs as job_service
    from tests.durable_jobs import RunnerStarter

    run_as, calls = as_role
    monkeypatch.setenv("VIDEO_POLL_DELAY_SECONDS", "1")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    stack.provider.configure(video_polls=2)
    starter: set[Use] = set()
    job_uses: set[Use] = set()
    runner = RunnerStarter(load_handler(functions()["VideoJobFunction"]))
    pending: list[tuple[str, str, str]] = []
    invoke_then_hold = _held_starts(pending)  # the executions are run below, under the job's role

    monkeypatch.setattr(job_service, "_starter", invoke_then_hold)
    try:
        # Two keyed starts with the same key: one claim (PutItem), one Invoke; a GET of the job.
        key = with_api_key(keyed(load_event("generate_video.json")))
        owner = key["requestContext"]["identity"]["apiKeyId"]
        run_as("GenerateVideoFunction")
        accepted, again = _invoke("GenerateVideoFunction", key), _invoke("GenerateVideoFunction", key)
        assert accepted["statusCode"] == again["statusCode"] == 202, accepted["body"]
        assert json.loads(again["body"]) == json.loads(accepted["body"])
        assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "lambda:InvokeFunction"} <= calls.actions
        starter |= assert_allowed("GenerateVideoFunction", calls)
        job_id = json.loads(accepted["body"])["job_id"]
        assert len(pending) == 1

        # The execution, as the job's role: crossing the key's budget alarm, then (a second job)
        # through a shared breaker whose cooldown is over.
        crossing_budget_alarm(monkeypatch)
        run_as("VideoJobFunction")
        arn = runner(*pending.pop())
        assert runner.runner.wait_for_result(arn, timeout=300).status.name == "SUCCEEDED"
        assert {
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "s3:PutObject",
            "events:PutEvents",
        } <= calls.actions
        job_uses |= assert_allowed("VideoJobFunction", calls)

        run_as("GenerateVideoFunction")
        second = _invoke("GenerateVideoFunction", with_api_key(load_event("generate_video.json")))
        assert second["statusCode"] == 202, second["body"]
        starter |= assert_allowed("GenerateVideoFunction", calls)
        run_as("VideoJobFunction", share_breaker_state=True, prepare=breaker_rows(stack, time.time() - 3600))
        arn = runner(*pending.pop())
        assert runner.runner.wait_for_result(arn, timeout=300).status.name == "SUCCEEDED"
        job_uses |= assert_allowed("VideoJobFunction", calls)

        # A keyed start Lambda refuses: 503, the idempotency record released (DeleteItem).
        starter |= _refused_start_uses(
            "GenerateVideoFunction", "generate_video.json", run_as, calls, monkeypatch
        )

        # Its status: read (GetItem) and the video's URL presigned (GetObject under videos/).
        run_as("GenerateVideoFunction")
        answer = _invoke(
            "GenerateVideoFunction",
            _status_event("generate_video_status.json", "/videos", "job_id", job_id, owner),
        )
        assert answer["statusCode"] == 200, answer["body"]
        assert json.loads(answer["body"])["status"] == "succeeded"
        assert {"dynamodb:GetItem", "s3:GetObject"} <= calls.actions
        starter |= assert_allowed("GenerateVideoFunction", calls)

        # A queued request: its 202 stored under its request_id and announced (EventGenerationPolicy).
        monkeypatch.setattr(job_service, "_starter", invoke_then_hold)
        run_as("GenerateVideoFunction")
        queued = _invoke(
            "GenerateVideoFunction", queue_event("GenerateVideoFunction", {"prompt": "A kite at dawn"})
        )
        assert queued == {"batchItemFailures": []}
        assert "events:PutEvents" in calls.actions
        starter |= assert_allowed("GenerateVideoFunction", calls)
        pending.clear()
    finally:
        runner.close()

    _assert_durable_grants_all_used(
        "GenerateVideoFunction", starter, VIDEO_STARTER_UNUSABLE, "VideoJobFunction", job_uses
    )


# Grants of the shorts starter no run of it can use, each with its reason (resource substrings):
# its 202 body is never too large for a results item (the results bucket's PutObject is for
# results over 350 KB), and it calls no provider, so no message is handed back to its queue for an
# open breaker (sqs:SendMessage on its own queue; the platform's send to DirectInvokeDeadLetterQueue
# is LAMBDA_DESTINATION).
SHORTS_STARTER_UNUSABLE = (("s3:PutObject", "resultsbucket"), ("sqs:SendMessage", "shortsqueue"))
# The video starter's, for the same reasons (a 202 body; no provider call, so no hand-back).
VIDEO_STARTER_UNUSABLE = (("s3:PutObject", "resultsbucket"), ("sqs:SendMessage", "generatevideoqueue"))


@pytest.mark.slow
def test_a_durable_short_started_and_run_uses_every_grant_and_nothing_else(
    stack: Stack, as_role: tuple[Run, Calls], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shorts starter (keyed start and its repeat, a start Lambda refuses, a queued request,
    the status with presigned parts) and the durable short pipeline (story, images, narrations,
    assembly to S3 under shorts/, charge, outcome event, the webhook signed with the secret from
    SSM, through a shared breaker), each under its own role."""
    from contentgen.services import jobs as job_service
    from contentgen.services import webhooks
    from contentgen.services.webhooks import PostResult
    from tests.durable_jobs import RunnerStarter

    run_as, calls = as_role
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    starter: set[Use] = set()
    job_uses: set[Use] = set()
    runner = RunnerStarter(load_handler(functions()["ShortJobFunction"]))
    pending: list[tuple[str, str, str]] = []
    secret_parameter = str(functions()["ShortJobFunction"].environment["WEBHOOK_SECRET_PARAM"])
    delivered: list[str] = []
    invoke_then_hold = _held_starts(pending)

    def poster(url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
        delivered.append(url)
        return PostResult(204)

    def seed_secret() -> None:
        client("ssm", stack.aws_url).put_parameter(
            Name=secret_parameter,
            Value="whsec_" + base64.b64encode(b"role-test-webhook-secret-32bytes").decode(),
            Type="SecureString",
            Overwrite=True,
        )
        breaker_rows(stack, time.time() - 3600)()

    monkeypatch.setattr(job_service, "_starter", invoke_then_hold)
    webhooks.set_webhook_poster(poster)
    try:
        event = with_api_key(keyed(load_event("shorts.json")))
        event["body"] = json.dumps(
            {
                "prompt": "A lighthouse keeper",
                "segment_count": 3,
                "callback_url": "https://hooks.example.com/x",
            }
        )
        owner = event["requestContext"]["identity"]["apiKeyId"]
        run_as("ShortsFunction")
        accepted, again = _invoke("ShortsFunction", event), _invoke("ShortsFunction", event)
        assert accepted["statusCode"] == again["statusCode"] == 202, accepted["body"]
        assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "lambda:InvokeFunction"} <= calls.actions
        starter |= assert_allowed("ShortsFunction", calls)
        short_id = json.loads(accepted["body"])["short_id"]
        assert len(pending) == 1

        # The pipeline, as the job's role, through a shared breaker and crossing the budget alarm.
        # Every model's shared breaker is seeded open past its recovery time: one request probes
        # it. The segments run one at a time here so that the probe is the first segment's and
        # the others find the breaker closed again (branches in parallel would meet the
        # half-open breaker and be refused: the grants are what this test proves).
        crossing_budget_alarm(monkeypatch)
        monkeypatch.setenv("SHORT_PARALLEL_SEGMENTS", "1")
        run_as("ShortJobFunction", share_breaker_state=True, prepare=seed_secret)
        arn = runner(*pending.pop())
        assert runner.runner.wait_for_result(arn, timeout=1200).status.name == "SUCCEEDED"
        assert {"s3:PutObject", "s3:GetObject", "events:PutEvents", "ssm:GetParameter"} <= calls.actions
        assert delivered == ["https://hooks.example.com/x"]
        job_uses |= assert_allowed("ShortJobFunction", calls)

        # A queued request: its 202 stored under its request_id and announced.
        run_as("ShortsFunction")
        queued = _invoke(
            "ShortsFunction", queue_event("ShortsFunction", {"prompt": "A kite", "segment_count": 3})
        )
        assert queued == {"batchItemFailures": []}
        starter |= assert_allowed("ShortsFunction", calls)
        pending.clear()

        # A keyed start Lambda refuses: 503, the idempotency record released (DeleteItem).
        starter |= _refused_start_uses("ShortsFunction", "shorts.json", run_as, calls, monkeypatch)

        # Its status: read (GetItem) and the parts' and MP4's URLs presigned (GetObject under shorts/).
        run_as("ShortsFunction")
        answer = _invoke(
            "ShortsFunction", _status_event("shorts.json", "/shorts", "short_id", short_id, owner)
        )
        assert answer["statusCode"] == 200, answer["body"]
        assert json.loads(answer["body"])["status"] == "succeeded"
        assert {"dynamodb:GetItem", "s3:GetObject"} <= calls.actions
        starter |= assert_allowed("ShortsFunction", calls)
    finally:
        runner.close()
        webhooks.set_webhook_poster(None)

    _assert_durable_grants_all_used(
        "ShortsFunction", starter, SHORTS_STARTER_UNUSABLE, "ShortJobFunction", job_uses
    )


def test_the_job_reaper_uses_every_grant_and_nothing_else(stack: Stack, as_role: tuple[Run, Calls]) -> None:
    """JobReaperFunction, fed the start payload of an execution that ended FAILED (its DLQ's
    message): the job row read and ended failed, its outcome claimed and JobFailed published,
    and the short's `callback_url` told, signed with the secret from SSM."""
    from contentgen.services import webhooks
    from contentgen.services.webhooks import PostResult
    from contentgen.stores.jobs import Job, claim_job, get_job

    run_as, calls = as_role
    job_id = f"short-perm-{uuid.uuid4().hex[:12]}"
    request = {"prompt": "x", "callback_url": "https://hooks.example.com/x"}
    secret_parameter = str(functions()["JobReaperFunction"].environment["WEBHOOK_SECRET_PARAM"])
    delivered: list[str] = []

    def running_job() -> None:
        client("ssm", stack.aws_url).put_parameter(
            Name=secret_parameter,
            Value="whsec_" + base64.b64encode(b"role-test-webhook-secret-32bytes").decode(),
            Type="SecureString",
            Overwrite=True,
        )
        now = int(time.time())
        job = Job(job_id, "short", READER, "running", request, "h", now, now)
        claim_job(job)

    def poster(url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
        delivered.append(url)
        return PostResult(204)

    payload = json.dumps({"job_id": job_id, "kind": "short", "owner": READER, "request": request})
    run_as("JobReaperFunction", prepare=running_job)
    webhooks.set_webhook_poster(poster)
    try:
        answer = _invoke("JobReaperFunction", {"Records": [{"messageId": "m-1", "body": payload}]})
    finally:
        webhooks.set_webhook_poster(None)
    assert answer == {"batchItemFailures": []}
    assert delivered == ["https://hooks.example.com/x"]
    assert {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "events:PutEvents",
        "ssm:GetParameter",
    } <= calls.actions
    uses = assert_allowed("JobReaperFunction", calls)
    job = get_job(job_id)
    assert job is not None
    assert (job.status, job.error_code) == ("failed", "execution_failed")

    with parameters(**EVERY_GRANT):
        unused = unused_grants("JobReaperFunction", uses, leaving_out=(*PLATFORM, *LAMBDA_POLLS))
    assert not unused, "JobReaperFunction's role grants what none of its runs used: " + "; ".join(
        sorted(map(str, unused))
    )


def test_the_result_reader_uses_every_grant_and_nothing_else(
    stack: Stack, as_role: tuple[Run, Calls]
) -> None:
    """A result stored in S3 (too large for an item) is read through its pointer (a claim is not
    followed); a thumbnail's URL is signed again (GetObject under the media bucket's thumbnails/)."""
    run_as, calls = as_role
    request_id = f"perm-{uuid.uuid4().hex[:8]}"
    key = f"results/stories/segments#{READER}#{request_id}.json"

    def store_large_result() -> None:
        table, bucket = physical_name("ResultsTable"), physical_name("ResultsBucket")
        client("s3", stack.aws_url).put_object(
            Bucket=bucket, Key=key, Body=json.dumps({"segments": []}).encode()
        )
        dynamodb = client("dynamodb", stack.aws_url)
        dynamodb.put_item(
            TableName=table,
            Item={"pk": {"S": f"_claim#{READER}#{request_id}"}, "route": {"S": "/stories/segments"}},
        )
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"stories/segments#{READER}#{request_id}"},
                "route": {"S": "/stories/segments"},
                "status": {"S": "succeeded"},
                "status_code": {"N": "200"},
                "created_at": {"N": str(int(time.time()))},
                "api_key_id": {"S": READER},
                "body_s3_key": {"S": key},
            },
        )

    event = load_event("get_result.json")
    event["path"] = f"/results/{request_id}"
    event["pathParameters"] = {"request_id": request_id}
    event["requestContext"]["identity"]["apiKeyId"] = READER
    run_as("GetResultFunction", prepare=store_large_result)

    response = _invoke("GetResultFunction", event)

    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["result"] == {"segments": []}
    assert {"dynamodb:BatchGetItem", "s3:GetObject"} <= calls.actions
    used = assert_allowed("GetResultFunction", calls)

    thumbnail_id = f"perm-{uuid.uuid4().hex[:8]}"

    def store_thumbnail_result() -> None:
        client("dynamodb", stack.aws_url).put_item(
            TableName=physical_name("ResultsTable"),
            Item={
                "pk": {"S": f"thumbnails#{READER}#{thumbnail_id}"},
                "route": {"S": "/thumbnails"},
                "status": {"S": "succeeded"},
                "status_code": {"N": "200"},
                "created_at": {"N": str(int(time.time()))},
                "api_key_id": {"S": READER},
                "body": {"S": json.dumps({"image_url": "expired", "s3_key": "thumbnails/2026/12/01/x.png"})},
            },
        )

    event["path"] = f"/results/{thumbnail_id}"
    event["pathParameters"] = {"request_id": thumbnail_id}
    run_as("GetResultFunction", prepare=store_thumbnail_result)
    response = _invoke("GetResultFunction", event)
    assert response["statusCode"] == 200, response["body"]
    assert "X-Amz-Signature=" in json.loads(response["body"])["result"]["image_url"]
    used |= assert_allowed("GetResultFunction", calls)
    assert_every_grant_used("GetResultFunction", used)


def test_the_deep_health_check_uses_every_grant_and_nothing_else(
    stack: Stack, as_role: tuple[Run, Calls], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_as, calls = as_role
    api_gateway_signatures_unchecked(monkeypatch)
    run_as("HealthFunction")

    response = _invoke("HealthFunction", deep_event(LOCAL_API_KEY), timeout=10)

    assert response["statusCode"] == 200, response["body"]
    assert "apigateway:GET" in calls.actions
    assert_every_grant_used("HealthFunction", assert_allowed("HealthFunction", calls))


def test_usage_reads_the_spend_table_and_nothing_else(stack: Stack, as_role: tuple[Run, Calls]) -> None:
    run_as, calls = as_role
    event = load_event("usage.json")
    event["requestContext"]["identity"]["apiKeyId"] = f"perm-key-{uuid.uuid4().hex[:8]}"
    run_as("UsageFunction")

    response = _invoke("UsageFunction", event)

    assert response["statusCode"] == 200, response["body"]
    assert_every_grant_used("UsageFunction", assert_allowed("UsageFunction", calls))


def test_every_function_with_grants_is_covered() -> None:
    """A function added to the template gets a test of its grants here."""
    covered = {
        *TEXT_FUNCTIONS,
        "GenerateThumbnailFunction",
        "GenerateVideoFunction",
        "VideoJobFunction",
        "ShortsFunction",
        "ShortJobFunction",
        "JobReaperFunction",
        "GetResultFunction",
        "HealthFunction",
        "UsageFunction",
    }
    with parameters(**EVERY_GRANT):
        holding = {function for function in functions() if granted(function)}
    assert holding == covered


def test_another_functions_records_are_denied(stack: Stack, as_role: tuple[Run, Calls]) -> None:
    """dynamodb:LeadingKeys: a function reaches only its own route's records and results (and the
    shared request_id claims); another route's are denied, as IAM would deny them."""
    from contentgen.clients.aws import get_dynamodb_client
    from contentgen.stores.results import mark_notified

    run_as, calls = as_role
    run_as("StorySegmentsFunction")
    idempotency = physical_name("IdempotencyTable")

    with pytest.raises(ClientError, match="AccessDenied"):
        get_dynamodb_client().delete_item(TableName=idempotency, Key={"id": {"S": "memes/segments#0f1e"}})
    with pytest.raises(ClientError, match="AccessDenied"):
        get_dynamodb_client().put_item(
            TableName=idempotency, Item={"id": {"S": "stories/segments/sets#0f1e"}}
        )
    with pytest.raises(ClientError, match="AccessDenied"):
        mark_notified("perm-other", "/memes/segments", READER)  # another route's result

    get_dynamodb_client().delete_item(TableName=idempotency, Key={"id": {"S": "stories/segments#0f1e"}})
    mark_notified("perm-own", "/stories/segments", READER)  # its own: allowed
    assert len(calls.denied) == 3


def test_a_table_the_role_does_not_name_is_denied(stack: Stack, as_role: tuple[Run, Calls]) -> None:
    """DynamoDB resources are checked per table: UpdateItem granted on the spend, results and
    idempotency tables does not pass on the jobs table."""
    from contentgen.clients.aws import get_dynamodb_client

    run_as, calls = as_role
    run_as("FreeContentFunction")

    with pytest.raises(ClientError, match="AccessDenied"):
        get_dynamodb_client().update_item(
            TableName=physical_name("JobsTable"),
            Key={"job_id": {"S": "perm-job"}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "forged"}},
        )
    assert len(calls.denied) == 1


def test_a_corrupted_spend_day_is_restarted_within_the_role(
    stack: Stack, as_role: tuple[Run, Calls], log_output: io.StringIO
) -> None:
    """The spend ledger's recovery path (a day total that is not a number) reads the day with what
    the role grants, so the key stays budgeted."""
    from contentgen.billing.budgets import clock, utc_day
    from contentgen.clients.aws import get_dynamodb_client

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


# --- Calls moto lets through and IAM would deny: resources and conditions are evaluated ----------


def test_a_text_function_reading_the_google_keys_parameter_fails_the_role_test(
    stack: Stack, as_role: tuple[Run, Calls]
) -> None:
    """Moto authorizes SSM against "*": the call goes through, and the role test must still fail
    it, since the text role's GetParameter names only the OpenRouter key's parameter."""
    run_as, calls = as_role
    run_as("StorySegmentsFunction")
    google = str(resolve({"Ref": "GoogleApiKeyParameterName"}))

    # Signed with the role's credentials (run_as put them in the environment), as the
    # Parameters and Secrets extension would sign it.
    boto3.client("ssm", endpoint_url=stack.aws_url).get_parameter(Name=google, WithDecryption=True)

    assert "ssm:GetParameter" in calls.actions, "the action alone is granted"
    with pytest.raises(AssertionError, match="IAM would deny") as failed:
        assert_allowed("StorySegmentsFunction", calls)
    assert f"parameter{google}" in str(failed.value)


def test_a_text_function_putting_another_functions_request_on_the_bus_fails_the_role_test(
    stack: Stack, as_role: tuple[Run, Calls], moto_server: MotoServer
) -> None:
    """Moto drops the PutEvents conditions: the story function sending a meme request (the meme
    function's rule) passes moto, and the role test must fail it on `events:detail-type`."""
    run_as, calls = as_role
    run_as("StorySegmentsFunction")
    bus = physical_name("ContentgenEventBus")
    forged = {"request_id": f"forged-{uuid.uuid4().hex[:6]}", "request": {"prompt": "spend their budget"}}

    from contentgen.clients.aws import get_events_client

    get_events_client().put_events(
        Entries=[
            {
                "Source": "contentgen",
                "DetailType": "meme_segments",
                "Detail": json.dumps(forged),
                "EventBusName": bus,
            }
        ]
    )

    try:
        with pytest.raises(AssertionError, match="IAM would deny") as failed:
            assert_allowed("StorySegmentsFunction", calls)
        assert "'events:detail-type': ('meme_segments',)" in str(failed.value)
    finally:  # the forged request is not left in the meme queue for another test
        _reset_auth(moto_server, "inf")
        sqs = client("sqs", stack.aws_url)
        url = sqs.get_queue_url(QueueName=physical_name("MemeSegmentsQueue"))["QueueUrl"]
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                if forged["request_id"] in message["Body"]:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                else:
                    sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
            if not any(forged["request_id"] in m["Body"] for m in messages):
                break


@pytest.mark.parametrize(
    ("update", "values"),
    [
        ("SET daily_budget_usd = :v", {":v": {"N": "1000000"}}),  # its limit raised
        # Its TTL attribute in the past: DynamoDB would delete the item and the key fall back to
        # DAILY_BUDGET_USD ("Using time to live (TTL) in DynamoDB"; issue 22, probe 22).
        ("SET expires_at = :v", {":v": {"N": "1"}}),
        ("REMOVE daily_budget_usd", None),
    ],
    ids=["limit", "ttl", "remove"],
)
def test_a_generation_role_cannot_change_or_expire_a_keys_budget(
    stack: Stack, as_role: tuple[Run, Calls], update: str, values: dict[str, Any] | None
) -> None:
    """Issue 22 finding 3 and docs/spend.md "Budget items are the operators' alone": a budget
    item lives in its own partition (`budget#<key>`), where the generation roles may write
    nothing (`dynamodb:LeadingKeys`), not even the TTL attribute they may set on day items; they
    still read it: the operator's budget (0) refuses the key under the role."""
    from contentgen.billing.budgets import BudgetExceededError, clock
    from contentgen.clients.aws import get_dynamodb_client
    from contentgen.stores import ledger

    victim = f"victim-{uuid.uuid4().hex[:8]}"
    ledger.set_daily_budget(victim, Decimal(0))  # the operator's write, before the role applies
    run_as, calls = as_role
    run_as("StorySegmentsFunction")
    arguments: dict[str, Any] = {
        "TableName": physical_name("SpendTable"),
        "Key": ledger.budget_key(victim),
        "UpdateExpression": update,
    }
    if values is not None:
        arguments["ExpressionAttributeValues"] = values

    with pytest.raises(ClientError, match="not authorized to perform: dynamodb:UpdateItem"):
        get_dynamodb_client().update_item(**arguments)
    assert len(calls.denied) == 1

    ledger.forget_budgets()
    with pytest.raises(BudgetExceededError):
        ledger.reserve(victim, Decimal("0.01"), clock() + 60)
    assert len(calls.denied) == 1, calls.denied  # the budget was read with what the role grants
