"""`contentgen.clients.dynamodb`: the spend ledger's DynamoDB client without botocore.

Over the wire to moto (in this process, through moto's server app: the same backends boto3 sees
under `mock_aws`) for what DynamoDB answers; over `httpx2.MockTransport` for what moto cannot be
made to answer (throttling, 5xx, a lost answer, a corrupted body)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from moto import mock_aws

from contentgen.clients import dynamodb
from contentgen.clients.dynamodb import (
    MAX_ATTEMPTS,
    DynamoDBClient,
    DynamoDBError,
    endpoint_url,
    get_ledger_client,
)
from contentgen.clients.sigv4 import Credentials

KEY = Credentials("AKIDEXAMPLE", "secret", "token")


@pytest.fixture
def table(ledger_on_moto: None) -> Iterator[Any]:
    with mock_aws():
        import boto3

        boto3_client = boto3.client("dynamodb")
        boto3_client.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield boto3_client


def test_it_writes_and_reads_what_boto3_sees(table: Any) -> None:
    client = get_ledger_client()
    client.put_item(TableName="t", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1.5"}})
    updated = client.update_item(
        TableName="t",
        Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
        UpdateExpression="ADD n :one SET #m = :m",
        ExpressionAttributeNames={"#m": "m"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":m": {"M": {"usd": {"N": "2"}}}},
        ReturnValues="UPDATED_NEW",
    )
    found = client.query(
        TableName="t",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "a"}},
        ConsistentRead=True,
    )

    assert updated["Attributes"] == {"n": {"N": "2.5"}, "m": {"M": {"usd": {"N": "2"}}}}
    assert found["Items"] == [table.get_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"S": "1"}})["Item"]]
    assert found["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_dynamodb_s_refusals_are_one_error_type_with_botocore_s_shape(table: Any) -> None:
    client = get_ledger_client()
    client.put_item(TableName="t", Item={"pk": {"S": "a"}, "sk": {"S": "1"}})

    with pytest.raises(DynamoDBError) as refused:
        client.update_item(
            TableName="t",
            Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
            UpdateExpression="SET x = :x",
            ConditionExpression="attribute_not_exists(pk)",
            ExpressionAttributeValues={":x": {"S": "x"}},
        )
    with pytest.raises(DynamoDBError) as invalid:
        client.update_item(
            TableName="t",
            Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
            UpdateExpression="ADD pk :one",  # a key attribute
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    with pytest.raises(DynamoDBError) as missing:
        client.query(
            TableName="no-such-table",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
        )

    assert refused.value.code == "ConditionalCheckFailedException"
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused.value.response["ResponseMetadata"]["RetryAttempts"] == 0, "not retried"
    assert invalid.value.code == "ValidationException"
    assert missing.value.code == "ResourceNotFoundException"
    assert "UpdateItem" in str(refused.value)


def answering(
    *answers: Callable[[httpx2.Request], httpx2.Response],
) -> tuple[DynamoDBClient, list[httpx2.Request], list[float]]:
    """A client whose attempts get `answers` in turn (the last one again), and what it sent and waited."""
    sent: list[httpx2.Request] = []
    waits: list[float] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return answers[min(len(sent), len(answers)) - 1](request)

    client = DynamoDBClient(
        region="eu-west-1",
        endpoint="https://dynamodb.eu-west-1.amazonaws.com/",
        credentials=lambda: KEY,
        transport=httpx2.MockTransport(handle),
        sleep=waits.append,
    )
    return client, sent, waits


def error(status: int, code: str) -> Callable[[httpx2.Request], httpx2.Response]:
    body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": f"{code} here"}
    return lambda request: httpx2.Response(status, json=body, headers={"x-amzn-RequestId": "r-1"})


def ok(body: dict[str, Any]) -> Callable[[httpx2.Request], httpx2.Response]:
    content = json.dumps(body).encode()
    return lambda request: httpx2.Response(
        200, content=content, headers={"x-amz-crc32": str(zlib.crc32(content))}
    )


def test_each_request_is_dynamodb_s_json_protocol_signed() -> None:
    client, sent, _ = answering(ok({"Items": [], "Count": 0}))

    answer = client.query(TableName="t", KeyConditionExpression="pk = :p", ExclusiveStartKey=None)

    request = sent[0]
    assert (request.method, str(request.url)) == ("POST", "https://dynamodb.eu-west-1.amazonaws.com/")
    assert request.headers["x-amz-target"] == "DynamoDB_20120810.Query"
    assert request.headers["content-type"] == "application/x-amz-json-1.0"
    assert request.headers["x-amz-security-token"] == "token"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert (
        "/eu-west-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,"
        in (request.headers["authorization"])
    )
    assert json.loads(request.content) == {"TableName": "t", "KeyConditionExpression": "pk = :p"}, (
        "None left out"
    )
    assert answer["Items"] == []


@pytest.mark.parametrize(
    ("failure", "most_wait"),
    [
        (error(400, "ProvisionedThroughputExceededException"), 1.0),
        (error(400, "ThrottlingException"), 1.0),
        (error(400, "RequestLimitExceeded"), 1.0),
        (error(429, "SomethingUnmodeled"), 1.0),  # a 429 naming no modeled error: throttling
        (error(400, "ReplicatedWriteConflictException"), 0.025),  # modeled as retryable
        (error(500, "InternalServerError"), 0.025),
        (error(503, "ServiceUnavailable"), 0.025),
        (lambda request: httpx2.Response(502, content=b"<html>bad gateway</html>"), 0.025),
        (lambda request: httpx2.Response(200, content=b'{"Items": []}', headers={"x-amz-crc32": "1"}), 0.025),
    ],
)
def test_retryable_answers_are_retried_with_botocore_s_backoff(
    failure: Callable[[httpx2.Request], httpx2.Response], most_wait: float
) -> None:
    """Throttling waits up to 1 s before the first retry, DynamoDB's other errors up to 25 ms."""
    client, sent, waits = answering(failure, ok({"Count": 1}))

    assert client.query(TableName="t")["Count"] == 1
    assert len(sent) == 2
    assert len(waits) == 1
    assert 0 <= waits[0] <= most_wait


def test_dynamodb_s_retry_after_raises_the_wait_by_at_most_five_seconds() -> None:
    def asked(milliseconds: str) -> Callable[[httpx2.Request], httpx2.Response]:
        body = {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "later"}
        return lambda request: httpx2.Response(500, json=body, headers={"x-amz-retry-after": milliseconds})

    client, _, waits = answering(asked("1500"), asked("60000"), ok({}))

    client.query(TableName="t")

    assert 1.5 <= waits[0] <= 1.525, "the wait DynamoDB asked for"
    assert 5.0 <= waits[1] <= 5.05, "at most 5 s more than the backoff's"


def test_a_retryable_error_that_lasts_is_raised_after_three_attempts() -> None:
    client, sent, waits = answering(error(400, "ThrottlingException"))

    with pytest.raises(DynamoDBError) as raised:
        client.update_item(TableName="t")

    assert raised.value.code == "ThrottlingException"
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == MAX_ATTEMPTS - 1
    assert len(sent) == MAX_ATTEMPTS
    assert all(0 <= wait <= 2**index for index, wait in enumerate(waits))


@pytest.mark.parametrize(
    "code",
    [
        "ConditionalCheckFailedException",
        "ValidationException",
        "AccessDeniedException",
        "ResourceNotFoundException",
    ],
)
def test_what_retrying_cannot_change_is_raised_at_once(code: str) -> None:
    client, sent, waits = answering(error(400, code))

    with pytest.raises(DynamoDBError) as raised:
        client.update_item(TableName="t")

    assert (raised.value.code, raised.value.message, len(sent), waits) == (code, f"{code} here", 1, [])
    assert raised.value.response["ResponseMetadata"]["RequestId"] == "r-1"


def test_a_cancelled_transaction_keeps_its_reasons() -> None:
    reasons = [
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
        {"Code": "None"},
    ]
    body = {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "message": "Transaction cancelled",
        "CancellationReasons": reasons,
    }
    client, _, _ = answering(lambda request: httpx2.Response(400, json=body))

    with pytest.raises(DynamoDBError) as raised:
        client.update_item(TableName="t")

    assert raised.value.code == "TransactionCanceledException"
    assert raised.value.response["CancellationReasons"] == reasons


def test_an_answer_lost_to_a_timeout_is_asked_again() -> None:
    def lost(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    client, sent, _ = answering(lost, ok({"Attributes": {}}))

    assert client.update_item(TableName="t")["ResponseMetadata"]["RetryAttempts"] == 1
    assert sent[0].content == sent[1].content, "the same write, sent again"
    assert (
        sent[0].headers["authorization"].split("Signature=")[0]
        == sent[1].headers["authorization"].split("Signature=")[0]
    )


def test_a_connection_that_never_comes_is_an_error_of_the_same_type() -> None:
    def refused(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    client, sent, _ = answering(refused)

    with pytest.raises(DynamoDBError) as raised:
        client.query(TableName="t")

    assert raised.value.code == "HTTPClientError"
    assert len(sent) == MAX_ATTEMPTS


def test_retries_stop_when_the_container_s_quota_is_spent() -> None:
    client, sent, _ = answering(error(503, "ServiceUnavailable"))
    client._quota.available = 20  # one retry's worth (14), not two

    with pytest.raises(DynamoDBError):
        client.query(TableName="t")

    assert len(sent) == 2
    assert client._quota.available == 6


def test_a_success_gives_the_quota_back() -> None:
    client, _, _ = answering(error(400, "ThrottlingException"), ok({}), ok({}))
    client._quota.available = 100

    client.query(TableName="t")  # one throttling retry (5), then its success gives the 5 back
    assert client._quota.available == 100
    client.query(TableName="t")  # no retry: 1 back (at most the capacity)
    assert client._quota.available == 101


def test_endpoint_and_region_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert endpoint_url("eu-west-1") == "https://dynamodb.eu-west-1.amazonaws.com/"
    assert endpoint_url("cn-north-1") == "https://dynamodb.cn-north-1.amazonaws.com.cn/"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert endpoint_url("eu-west-1") == "http://127.0.0.1:5000/"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:5001/")
    assert endpoint_url("eu-west-1") == "http://127.0.0.1:5001/"

    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    client = get_ledger_client()
    assert (client.region, client.endpoint) == ("eu-central-1", "http://127.0.0.1:5001/")


def test_without_keys_in_the_environment_botocore_s_chain_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    with pytest.raises(DynamoDBError) as raised:
        dynamodb.environment_credentials()

    assert raised.value.code == "NoCredentialsError"


def test_with_tracing_on_each_request_is_a_dynamodb_subsegment(monkeypatch: pytest.MonkeyPatch) -> None:
    """X-Ray traced the ledger's requests through its botocore patch; they are traced here."""
    from contextlib import contextmanager

    from contentgen import observability

    spans: list[tuple[str, dict[str, Any]]] = []

    class Subsegment:
        def __init__(self, name: str) -> None:
            self.name = name
            self.details: dict[str, Any] = {}

        def put_annotation(self, key: str, value: Any) -> None:
            self.details[key] = value

        def put_metadata(self, key: str, value: Any) -> None:
            self.details[key] = value

    class Provider:
        @contextmanager
        def in_subsegment(self, name: str) -> Iterator[Subsegment]:
            subsegment = Subsegment(name)
            yield subsegment
            spans.append((subsegment.name, subsegment.details))

    class Tracer:
        provider = Provider()

    monkeypatch.setattr(observability, "tracer", Tracer())
    client, _, _ = answering(ok({"Count": 0}))

    client.query(TableName="spend")

    assert spans == [
        (
            "DynamoDB",
            {
                "operation": "Query",
                "aws": {"operation": "Query", "region": "eu-west-1", "table_name": "spend"},
            },
        )
    ]
