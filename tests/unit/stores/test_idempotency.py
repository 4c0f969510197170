"""The Idempotency-Key / request_id store (contentgen.stores.idempotency) at its edges, over the real code
path (Powertools' DynamoDB layer on moto): the headers an answer sets survive the store, and a
table that cannot be used never costs a provider call nor a lost paid answer."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.event_handler import Response, content_types
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from contentgen.billing import budgets
from contentgen.billing.meter import before_request
from contentgen.clients.aws import get_dynamodb_client
from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.entrypoints.events import GenerationFailed
from contentgen.errors import ProviderRateLimitedError
from contentgen.models.stories import StorySegmentsRequest
from contentgen.stores.results import get_result
from local.aws import create_table_as_declared
from local.lambda_context import LocalLambdaContext
from tests.conftest import load_event, log_records

NOON = 1796040000.0  # 2026-11-30 12:00:00 UTC
ROUTE = ("POST", "/stories/segments")
Handler = Callable[[Any, Any], Any]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table_as_declared(dynamodb, "IdempotencyTable", "idempotency")
        create_table_as_declared(dynamodb, "ResultsTable", "results")
        monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
        monkeypatch.setenv("RESULTS_TABLE", "results")
        yield dynamodb


class Route:
    """A generation route that counts its runs and answers what `answer()` gives (or raises)."""

    def __init__(self, answer: Callable[[], Any]) -> None:
        self.runs = 0
        app = create_app()

        @app.post(ROUTE[1])
        def route(request: StorySegmentsRequest) -> Any:
            self.runs += 1
            return answer()

        self.handler: Handler = lambda_entrypoint(app, direct_route=ROUTE)


def post(
    route: Route,
    api_event: Callable[..., dict[str, Any]],
    context: LocalLambdaContext,
    *,
    key: str = "order-1",
    api_key_id: str | None = None,
) -> dict[str, Any]:
    event = api_event("POST", ROUTE[1], {"prompt": "a robot learns to paint"})
    event["headers"]["Idempotency-Key"] = key
    if api_key_id is not None:
        event["requestContext"]["identity"]["apiKeyId"] = api_key_id
    response: dict[str, Any] = route.handler(event, context)
    return response


def created() -> Response[str]:
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"job_id": "j-1"}),
        headers={"Location": "/videos/j-1"},
    )


# --- the answer's headers (probe14 F5) ----------------------------------------------------------


def test_a_stored_answer_is_replayed_with_its_headers(
    aws: Any, api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    route = Route(created)

    first = post(route, api_event, lambda_context)
    again = post(route, api_event, lambda_context)

    assert route.runs == 1
    for answer in (first, again):
        assert answer["statusCode"] == 202
        assert answer["multiValueHeaders"]["Location"] == ["/videos/j-1"]
        assert answer["multiValueHeaders"]["Idempotency-Key"] == ["order-1"]
    assert json.loads(again["body"]) == json.loads(first["body"])


def test_a_provider_wait_under_an_idempotency_key_keeps_retry_after(
    aws: Any, api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    def rate_limited() -> Any:
        raise ProviderRateLimitedError("provider is rate limiting; retry later", retry_after=7)

    answer = post(Route(rate_limited), api_event, lambda_context)

    assert answer["statusCode"] == 503
    assert answer["multiValueHeaders"]["Retry-After"] == ["7"]


def test_a_budget_refusal_under_an_idempotency_key_keeps_retry_after_until_midnight(
    aws: Any,
    ledger_on_moto: None,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
) -> None:
    create_table_as_declared(aws, "SpendTable", "spend")
    monkeypatch.setenv("SPEND_TABLE", "spend")
    monkeypatch.setenv("DAILY_BUDGET_USD", "0")
    monkeypatch.setattr(budgets, "clock", lambda: NOON)

    started: list[str] = []

    def start_video() -> Response[str]:
        before_request(Decimal("3.2"))  # the call policy reserves before the paid start: refused
        started.append("paid")
        return created()

    route = Route(start_video)

    for _ in range(2):  # a refusal is not remembered: the repeat is refused again, with the header
        answer = post(route, api_event, lambda_context, api_key_id="k-over")
        assert answer["statusCode"] == 429
        assert json.loads(answer["body"])["code"] == "budget_exceeded"
        assert answer["multiValueHeaders"]["Retry-After"] == [str(12 * 3600)]
    assert started == [], "refused before anything was paid"


# --- a table that cannot be used ----------------------------------------------------------------


def test_a_missing_idempotency_table_is_a_503_with_retry_after_and_runs_nothing(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
    log_output: io.StringIO,
) -> None:
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "no-such-table")
    route = Route(created)

    answer = post(route, api_event, lambda_context)

    assert answer["statusCode"] == 503
    body = json.loads(answer["body"])
    assert body["code"] == "idempotency_unavailable"
    assert "no-such-table" not in body["message"]
    assert answer["multiValueHeaders"]["Retry-After"] == ["5"]
    assert route.runs == 0, "no provider request without the record that guards it"
    errors = [line["message"] for line in log_records(log_output) if line["level"] == "ERROR"]
    assert errors == ["idempotency store unavailable; nothing run"]


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (test)"}}, operation)


@pytest.mark.parametrize(
    "failure",
    [
        _client_error("ProvisionedThroughputExceededException", "PutItem"),
        _client_error("AccessDeniedException", "PutItem"),
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ],
    ids=["throttled", "access-denied", "outage"],
)
def test_a_failing_idempotency_table_is_a_503_and_runs_nothing(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
    failure: Exception,
) -> None:
    def fail(**_: Any) -> Any:
        raise failure

    monkeypatch.setattr(get_dynamodb_client(), "put_item", fail)  # the in-progress record
    route = Route(created)

    answer = post(route, api_event, lambda_context)

    assert (answer["statusCode"], json.loads(answer["body"])["code"]) == (503, "idempotency_unavailable")
    assert "Retry-After" in answer["multiValueHeaders"]
    assert route.runs == 0


def test_an_outcome_that_cannot_be_recorded_is_still_answered(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
    log_output: io.StringIO,
) -> None:
    """The work ran (and was paid for); only completing the record failed: the answer is given,
    not turned into an error, and the key stays locked while its in-progress record lives."""

    def fail(**_: Any) -> Any:
        raise _client_error("ProvisionedThroughputExceededException", "UpdateItem")

    monkeypatch.setattr(get_dynamodb_client(), "update_item", fail)  # the record's completion
    route = Route(created)

    answer = post(route, api_event, lambda_context)

    assert answer["statusCode"] == 202
    assert json.loads(answer["body"])["job_id"] == "j-1"
    assert answer["multiValueHeaders"]["Location"] == ["/videos/j-1"]
    errors = [line["message"] for line in log_records(log_output) if line["level"] == "ERROR"]
    assert errors == ["idempotency record not kept; the answer is returned"]
    assert post(route, api_event, lambda_context)["statusCode"] == 409
    assert route.runs == 1


def test_an_unremembered_answer_whose_record_cannot_be_released_is_still_answered(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
) -> None:
    def rate_limited() -> Any:
        raise ProviderRateLimitedError("provider is rate limiting; retry later", retry_after=7)

    def fail(**_: Any) -> Any:
        raise _client_error("ProvisionedThroughputExceededException", "DeleteItem")

    monkeypatch.setattr(get_dynamodb_client(), "delete_item", fail)

    answer = post(Route(rate_limited), api_event, lambda_context)

    assert (answer["statusCode"], json.loads(answer["body"])["code"]) == (503, "provider_rate_limited")
    assert answer["multiValueHeaders"]["Retry-After"] == ["7"]


def test_a_queued_message_meeting_an_unavailable_store_is_retried_not_stored(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: LocalLambdaContext,
    log_output: io.StringIO,
) -> None:
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "no-such-table")
    route = Route(created)
    event = load_event("story_segments_sqs.json")
    (record,) = event["Records"]
    request_id = json.loads(record["body"])["request_id"]

    answer = route.handler(event, lambda_context)

    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}, "SQS delivers it again"
    assert get_result(request_id, "pipeline") is None, "no failure stored"
    assert route.runs == 0
    not_run = next(line for line in log_records(log_output) if line["message"] == "request not run")
    assert not_run["code"] == "idempotency_unavailable"


def test_an_eventbridge_event_meeting_an_unavailable_store_is_retried_not_stored(
    aws: Any, monkeypatch: pytest.MonkeyPatch, lambda_context: LocalLambdaContext
) -> None:
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "no-such-table")
    route = Route(created)
    event = load_event("story_segments_eventbridge.json")

    with pytest.raises(GenerationFailed):  # Lambda's async retries, then the on-failure destination
        route.handler(event, lambda_context)

    assert get_result(event["detail"]["request_id"], "pipeline") is None
    assert route.runs == 0
