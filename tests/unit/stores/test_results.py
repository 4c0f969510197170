"""Results: stored under the owning route and request_id, large ones in S3 behind a pointer,
found again through the request_id's claim."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contentgen.errors import ConflictError
from contentgen.stores.results import (
    MAX_INLINE_BYTES,
    StoredResult,
    claim_request_id,
    get_result,
    store_result,
)
from local.aws import create_table_as_declared

OWNER = "key-a"  # the API key charged for the stored requests


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("RESULTS_TABLE", "results")
    monkeypatch.setenv("RESULTS_BUCKET", "results-bucket")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table_as_declared(dynamodb, "ResultsTable", "results")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="results-bucket")
        yield {"dynamodb": dynamodb, "s3": s3}


def _store(*, request_id: str, route: str, status_code: int, body: Any) -> StoredResult:
    """As the event path does: claim the request_id for the route, then store its outcome."""
    claim_request_id(request_id=request_id, route=route, owner=OWNER)
    return store_result(owner=OWNER, request_id=request_id, route=route, status_code=status_code, body=body)


def test_a_small_result_is_kept_in_the_item(aws: Any) -> None:
    stored = _store(request_id="r1", route="/content", status_code=200, body={"content": "hi"})

    assert stored.summary == {"request_id": "r1", "route": "/content", "status": "succeeded"}
    assert stored.notified is False
    assert get_result("r1", OWNER) == {
        "request_id": "r1",
        "route": "/content",
        "status": "succeeded",
        "status_code": 200,
        "created_at": get_result("r1", OWNER)["created_at"],  # type: ignore[index]
        "result": {"content": "hi"},
    }


def test_a_result_too_large_for_dynamodb_goes_to_s3_with_a_pointer(aws: Any) -> None:
    body = {"segments": [{"text": "x" * 1000} for _ in range(MAX_INLINE_BYTES // 1000 + 10)]}

    _store(request_id="big", route="/stories/segments/chunked", status_code=200, body=body)

    key = {"pk": {"S": f"stories/segments/chunked#{OWNER}#big"}}
    item = aws["dynamodb"].get_item(TableName="results", Key=key)["Item"]
    assert "body" not in item
    assert (
        item["body_s3_key"]["S"] == f"results/stories/segments/chunked#{OWNER}#big.json"
    )  # the owner's prefix
    stored = aws["s3"].get_object(
        Bucket="results-bucket", Key=f"results/stories/segments/chunked#{OWNER}#big.json"
    )
    assert stored["ContentType"] == "application/json"
    assert json.loads(stored["Body"].read()) == body
    found = get_result("big", OWNER)
    assert found is not None
    assert found["result"] == body


def test_an_error_is_stored_as_failed_with_its_message(aws: Any) -> None:
    error = {"message": "invalid request: prompt: Field required", "code": "invalid_request"}

    stored = _store(request_id="bad", route="/content", status_code=422, body=error)

    assert stored.summary["status"] == "failed"
    assert stored.summary["error"] == error["message"]
    found = get_result("bad", OWNER)
    assert found is not None
    assert found["error"] == error
    assert get_result("missing", OWNER) is None


def test_storing_again_keeps_the_notified_mark(aws: Any) -> None:
    from contentgen.stores.results import mark_notified

    _store(request_id="r2", route="/content", status_code=200, body={"content": "hi"})
    mark_notified("r2", "/content", OWNER)

    again = store_result(
        owner=OWNER, request_id="r2", route="/content", status_code=200, body={"content": "hi"}
    )

    assert again.notified is True


def test_items_are_keyed_by_their_owning_route(aws: Any) -> None:
    """Each function may touch only keys that begin with its route (dynamodb:LeadingKeys)."""
    _store(request_id="r3", route="/memes/segments", status_code=200, body={"segments": []})

    keys = {item["pk"]["S"] for item in aws["dynamodb"].scan(TableName="results")["Items"]}

    assert keys == {f"memes/segments#{OWNER}#r3", f"_claim#{OWNER}#r3"}, "each under the key charged"
    assert get_result("r3", OWNER)["route"] == "/memes/segments"  # type: ignore[index]


def test_a_request_id_claimed_by_one_route_is_refused_on_another(aws: Any) -> None:
    claim_request_id(request_id="r4", route="/content", owner=OWNER)
    claim_request_id(request_id="r4", route="/content", owner=OWNER)  # the same route again: a redelivery

    with pytest.raises(ConflictError, match="another route"):
        claim_request_id(request_id="r4", route="/memes/segments", owner=OWNER)


def test_a_claimed_request_that_has_not_finished_is_not_found(aws: Any) -> None:
    claim_request_id(request_id="r5", route="/content", owner=OWNER)

    assert get_result("r5", OWNER) is None


def test_a_forged_claim_cannot_redirect_a_result(aws: Any) -> None:
    """Every event-fed role may write claims (IAM cannot limit what a claim says), so reading never
    follows one: a claim rewritten to another route, with a result forged there, is a 409, not
    the forger's answer."""
    _store(request_id="r6", route="/memes/segments", status_code=200, body={"segments": ["real"]})
    assert get_result("r6", OWNER)["result"] == {"segments": ["real"]}  # type: ignore[index]
    aws["dynamodb"].put_item(
        TableName="results", Item={"pk": {"S": f"_claim#{OWNER}#r6"}, "route": {"S": "/content"}}
    )

    assert get_result("r6", OWNER)["route"] == "/memes/segments"  # type: ignore[index]

    _store(request_id="r6-forged", route="/content", status_code=200, body={"content": "forged"})
    forged = aws["dynamodb"].get_item(TableName="results", Key={"pk": {"S": f"content#{OWNER}#r6-forged"}})[
        "Item"
    ]
    aws["dynamodb"].put_item(TableName="results", Item={**forged, "pk": {"S": f"content#{OWNER}#r6"}})
    with pytest.raises(ConflictError, match="several routes"):
        get_result("r6", OWNER)


def test_unprocessed_keys_are_asked_again(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """BatchGetItem may leave keys unprocessed under throttling; they are read again."""
    from contentgen.clients.aws import get_dynamodb_client

    _store(request_id="r7", route="/ideas/trending", status_code=200, body={"ideas": []})
    client = get_dynamodb_client()
    real = client.batch_get_item
    calls: list[int] = []

    def throttled_once(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            return {"Responses": {}, "UnprocessedKeys": kwargs["RequestItems"]}
        return real(**kwargs)

    monkeypatch.setattr(client, "batch_get_item", throttled_once)

    assert get_result("r7", OWNER)["route"] == "/ideas/trending"  # type: ignore[index]
    assert len(calls) == 2


def test_a_large_result_whose_object_is_gone_is_not_found(aws: Any) -> None:
    """The bucket's lifecycle may remove the object before DynamoDB removes the item: a 404, not a 500."""
    _store(
        request_id="gone", route="/content", status_code=200, body={"content": "x" * (MAX_INLINE_BYTES + 1)}
    )
    aws["s3"].delete_object(Bucket="results-bucket", Key=f"results/content#{OWNER}#gone.json")

    assert get_result("gone", OWNER) is None


def test_an_expired_result_is_not_served(aws: Any) -> None:
    """DynamoDB deletes expired items up to about two days late; until then they are not results."""
    _store(request_id="old", route="/content", status_code=200, body={"content": "hi"})
    aws["dynamodb"].update_item(
        TableName="results",
        Key={"pk": {"S": f"content#{OWNER}#old"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )

    assert get_result("old", OWNER) is None


def test_a_claim_never_expires_before_its_result(aws: Any) -> None:
    """Else the expiry sweep could free the id while its result is readable, and a reuse on another
    route would be generated and paid again."""
    _store(request_id="r8", route="/content", status_code=200, body={"content": "hi"})
    _store(request_id="r8", route="/content", status_code=200, body={"content": "hi"})  # a redelivery

    items = {
        i["pk"]["S"]: int(i["expires_at"]["N"]) for i in aws["dynamodb"].scan(TableName="results")["Items"]
    }
    assert items[f"_claim#{OWNER}#r8"] > items[f"content#{OWNER}#r8"]


def test_each_api_key_has_its_own_request_ids(aws: Any) -> None:
    """Issue 22 finding 2: request ids are guessable (`order-42`); another key's same id is another
    request, and another key reading it finds nothing, exactly as for an id never used."""
    _store(request_id="order-42", route="/content", status_code=200, body={"content": "A's"})
    claim_request_id(request_id="order-42", route="/memes/segments", owner="key-b")  # no conflict: B's own id
    store_result(
        owner="key-b", request_id="order-42", route="/memes/segments", status_code=200, body={"segments": []}
    )

    assert get_result("order-42", OWNER)["result"] == {"content": "A's"}  # type: ignore[index]
    assert get_result("order-42", "key-b")["result"] == {"segments": []}  # type: ignore[index]
    assert get_result("order-42", "key-c") is None
