"""Results: stored under request_id, large ones in S3 behind a pointer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contentgen.results import MAX_INLINE_BYTES, get_result, store_result


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("RESULTS_TABLE", "results")
    monkeypatch.setenv("RESULTS_BUCKET", "results-bucket")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="results",
            KeySchema=[{"AttributeName": "request_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "request_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="results-bucket")
        yield {"dynamodb": dynamodb, "s3": s3}


def test_a_small_result_is_kept_in_the_item(aws: Any) -> None:
    stored = store_result(request_id="r1", route="/content", status_code=200, body={"content": "hi"})

    assert stored.summary == {"request_id": "r1", "route": "/content", "status": "succeeded"}
    assert stored.notified is False
    assert get_result("r1") == {
        "request_id": "r1",
        "route": "/content",
        "status": "succeeded",
        "status_code": 200,
        "created_at": get_result("r1")["created_at"],  # type: ignore[index]
        "result": {"content": "hi"},
    }


def test_a_result_too_large_for_dynamodb_goes_to_s3_with_a_pointer(aws: Any) -> None:
    body = {"segments": [{"text": "x" * 1000} for _ in range(MAX_INLINE_BYTES // 1000 + 10)]}

    store_result(request_id="big", route="/stories/segments/chunked", status_code=200, body=body)

    item = aws["dynamodb"].get_item(TableName="results", Key={"request_id": {"S": "big"}})["Item"]
    assert "body" not in item
    assert item["body_s3_key"]["S"] == "results/big.json"
    stored = aws["s3"].get_object(Bucket="results-bucket", Key="results/big.json")
    assert stored["ContentType"] == "application/json"
    assert json.loads(stored["Body"].read()) == body
    found = get_result("big")
    assert found is not None
    assert found["result"] == body


def test_an_error_is_stored_as_failed_with_its_message(aws: Any) -> None:
    error = {"message": "invalid request: prompt: Field required", "code": "invalid_request"}

    stored = store_result(request_id="bad", route="/content", status_code=422, body=error)

    assert stored.summary["status"] == "failed"
    assert stored.summary["error"] == error["message"]
    found = get_result("bad")
    assert found is not None
    assert found["error"] == error
    assert get_result("missing") is None


def test_storing_again_keeps_the_notified_mark(aws: Any) -> None:
    from contentgen.results import mark_notified

    store_result(request_id="r2", route="/content", status_code=200, body={"content": "hi"})
    mark_notified("r2")

    again = store_result(request_id="r2", route="/content", status_code=200, body={"content": "hi"})

    assert again.notified is True
