"""Spend control's edges (contentgen.entrypoints.spend, contentgen.billing.budgets): the clock, the day, failures that must not cost an
answer, and charges for work that failed after it was paid for. The ledger over the wire is in
tests/integration/test_spend.py."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from moto import mock_aws

from contentgen.billing import budgets
from contentgen.billing.budgets import BudgetExceededError
from contentgen.billing.meter import Meter, add_request, before_request
from contentgen.entrypoints import spend
from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.errors import ContentFilteredError, ModelOutputError, ProviderUnavailableError
from contentgen.models.stories import StorySegmentsRequest
from contentgen.stores import ledger
from local.aws import create_table_as_declared
from local.lambda_context import LocalLambdaContext
from tests.conftest import log_records, moto_in_process

NOON = 1796040000.0  # 2026-11-30 12:00:00 UTC


def test_days_and_retry_after_are_utc() -> None:
    assert budgets.utc_day(NOON) == "2026-11-30"
    assert budgets.utc_day(NOON + 12 * 3600) == "2026-12-01"
    assert budgets.seconds_until_midnight(NOON) == 12 * 3600
    assert budgets.seconds_until_midnight(NOON + 12 * 3600 - 0.25) == 0.25


def test_only_the_budget_refusal_is_over_budget() -> None:
    assert budgets.is_over_budget(429, {"code": "budget_exceeded"})
    assert not budgets.is_over_budget(429, {"code": "rate_limited"})
    assert not budgets.is_over_budget(503, {"code": "budget_exceeded"})
    assert not budgets.is_over_budget(429, "budget_exceeded")


def handler_charging(cost: float, *, then: Exception | None = None) -> Callable[[Any, Any], Any]:
    """A generation route whose one provider request costs `cost`, then maybe fails."""
    app = create_app()

    @app.post("/stories/segments")
    def route(request: StorySegmentsRequest) -> Any:
        before_request(Decimal(str(cost)))  # what the call policy does: reserve the request's most
        add_request(model="m", ok=True, prompt_tokens=3, completion_tokens=4, cost_usd=cost)
        if then is not None:
            raise then
        return {"title": request.prompt}

    return lambda_entrypoint(app, direct_route=("POST", "/stories/segments"))


def http_event(api_event: Callable[..., dict[str, Any]], key: str) -> dict[str, Any]:
    event = api_event("POST", "/stories/segments", {"prompt": "hi"})
    event["requestContext"]["identity"]["apiKeyId"] = key
    return event


def test_without_a_ledger_answers_still_carry_usage(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    response = handler_charging(0.5)(http_event(api_event, "k"), lambda_context)

    assert response["statusCode"] == 200
    assert json.loads(response["body"])["usage"]["cost_usd"] == 0.5


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, ledger_on_moto: None) -> Iterator[Any]:
    with mock_aws():
        import boto3

        dynamodb = boto3.client("dynamodb")
        create_table_as_declared(dynamodb, "SpendTable", "spend")
        monkeypatch.setenv("SPEND_TABLE", "spend")
        monkeypatch.setattr(budgets, "clock", lambda: NOON)
        yield dynamodb


def test_a_paid_request_that_failed_afterwards_is_charged(
    aws: Any, api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    handler = handler_charging(0.25, then=ProviderUnavailableError("the next request failed"))

    response = handler(http_event(api_event, "k1"), lambda_context)

    assert response["statusCode"] == 502
    item = aws.get_item(TableName="spend", Key={"pk": {"S": "k1"}, "sk": {"S": "2026-11-30"}})["Item"]
    assert (item["cost_usd"], item["prompt_tokens"], item["requests"]) == (
        {"N": "0.25"},
        {"N": "3"},
        {"N": "1"},
    )
    assert item["fn#contentgen-test#cost_usd"] == {"N": "0.25"}
    assert json.loads(response["body"])["usage"]["cost_usd"] == 0.25, "a paid failure says what it cost"


def test_a_ledger_that_cannot_be_read_or_written_costs_no_answer(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
    log_output: io.StringIO,
) -> None:
    monkeypatch.setenv("SPEND_TABLE", "no-such-table")

    response = handler_charging(0.25)(http_event(api_event, "k2"), lambda_context)

    assert response["statusCode"] == 200, "fail open: the paid result is answered"
    messages = [line["message"] for line in log_records(log_output) if line["level"] == "ERROR"]
    assert messages == ["spend ledger not readable; budget not checked", "spend not recorded"]
    unrecorded = next(line for line in log_records(log_output) if line["message"] == "spend not recorded")
    assert (unrecorded["api_key_id"], unrecorded["cost_usd"]) == ("k2", 0.25), "enough to reconcile"


def test_a_key_without_a_budget_item_gets_the_default(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
) -> None:
    monkeypatch.setenv("DAILY_BUDGET_USD", "0.5")
    handler = handler_charging(0.3)

    assert handler(http_event(api_event, "k3"), lambda_context)["statusCode"] == 200
    assert handler(http_event(api_event, "k3"), lambda_context)["statusCode"] == 200  # 0.3 < 0.5
    refused = handler(http_event(api_event, "k3"), lambda_context)  # 0.6 >= 0.5

    assert refused["statusCode"] == 429
    assert json.loads(refused["body"])["code"] == "budget_exceeded"
    assert refused["multiValueHeaders"]["Retry-After"] == [str(12 * 3600)]


def test_the_budget_is_checked_before_each_provider_request_of_an_invocation(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
) -> None:
    """A fan-out of ten 0.3 USD requests under a 0.5 budget stops at the third: at most one
    request's cost past the budget, answered 429 with what was paid."""
    monkeypatch.setenv("DAILY_BUDGET_USD", "0.5")
    app = create_app()

    @app.post("/stories/segments")
    def route(request: StorySegmentsRequest) -> Any:
        for _ in range(10):
            before_request(Decimal("0.3"))  # what the call policy does before every provider request
            add_request(model="m", ok=True, prompt_tokens=1, completion_tokens=1, cost_usd=0.3)
        return {"title": request.prompt}

    handler: Callable[[Any, Any], Any] = lambda_entrypoint(app, direct_route=("POST", "/stories/segments"))
    response = handler(http_event(api_event, "k4"), lambda_context)

    body = json.loads(response["body"])
    assert (response["statusCode"], body["code"]) == (429, "budget_exceeded")
    assert body["usage"]["provider_requests"] == 2
    item = aws.get_item(TableName="spend", Key={"pk": {"S": "k4"}, "sk": {"S": "2026-11-30"}})["Item"]
    assert item["cost_usd"] == {"N": "0.6"}, "0.1 past the budget: less than one request's cost"


def test_an_event_is_charged_to_the_named_key_and_the_pipeline_key(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: LocalLambdaContext,
) -> None:
    handler = handler_charging(0.25)
    direct = {"prompt": "from a queue"}

    assert spend.charged_to("fresh-1", lambda: handler(direct, lambda_context))()["title"] == "from a queue"
    for key in ("fresh-1", "pipeline"):
        item = aws.get_item(TableName="spend", Key={"pk": {"S": key}, "sk": {"S": "2026-11-30"}})["Item"]
        assert item["cost_usd"] == {"N": "0.25"}, key

    ledger.set_daily_budget("pipeline", Decimal(0))  # mid-day: the day item's copy changes too
    refused = spend.charged_to("fresh-2", lambda: handler(direct, lambda_context))()
    assert refused["code"] == "budget_exceeded", "a made-up key does not escape the pipeline budget"


def test_the_api_key_id_is_read_only_from_rest_proxy_events(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    def key_of(event: Any, context: Any) -> str | None:
        invocation = spend._invocation.get()
        return invocation.api_key_id if invocation is not None else "no invocation"

    seen = spend.invocation_scope(key_of)
    eventbridge = {
        "version": "0",
        "detail-type": "story_segments",
        "source": "sfn",
        "detail": {"request_id": "r", "request": {"prompt": "p"}},
        "requestContext": {"identity": {"apiKeyId": "victim"}},
    }

    assert seen(eventbridge, lambda_context) is None
    assert seen(http_event(api_event, "real"), lambda_context) == "real"


@pytest.mark.parametrize("value", [{"S": "25"}, {"N": "-5"}, {"BOOL": True}])
def test_an_invalid_budget_item_is_logged_and_the_default_applies(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
    log_output: io.StringIO,
    value: dict[str, Any],
) -> None:
    monkeypatch.setenv("DAILY_BUDGET_USD", "0.5")
    aws.put_item(
        TableName="spend", Item={"pk": {"S": "budget#k5"}, "sk": {"S": "budget"}, "daily_budget_usd": value}
    )

    response = handler_charging(0.3)(http_event(api_event, "k5"), lambda_context)

    assert response["statusCode"] == 200
    warnings = [line for line in log_records(log_output) if line["level"] == "WARNING"]
    assert [line["message"] for line in warnings] == [
        "invalid budget item ignored; the default budget applies"
    ]


def test_a_keys_budget_is_read_from_its_own_partition_only(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
) -> None:
    """`set_daily_budget` writes `{pk: budget#<key>, sk: budget}` (a partition the generation
    roles cannot write); a budget item of the old layout, in the key's own partition (where a
    role could set its TTL), is not read: until it is migrated the default applies."""
    monkeypatch.setenv("DAILY_BUDGET_USD", "0.5")
    aws.put_item(
        TableName="spend", Item={"pk": {"S": "k7"}, "sk": {"S": "budget"}, "daily_budget_usd": {"N": "0"}}
    )
    handler = handler_charging(0.25)

    assert handler(http_event(api_event, "k7"), lambda_context)["statusCode"] == 200, (
        "the old item is ignored"
    )
    assert ledger.usage_report("k7")["daily_budget_usd"] == 0.5
    assert [day["day"] for day in ledger.usage_report("k7")["days"]] == ["2026-11-30"], "it is not a day"

    ledger.set_daily_budget("k7", Decimal(0))

    stored = aws.get_item(TableName="spend", Key={"pk": {"S": "budget#k7"}, "sk": {"S": "budget"}})["Item"]
    assert stored["daily_budget_usd"] == {"N": "0"}
    assert ledger.usage_report("k7")["daily_budget_usd"] == 0.0
    assert handler(http_event(api_event, "k7"), lambda_context)["statusCode"] == 429


def test_a_day_item_with_a_non_numeric_cost_does_not_turn_charging_off(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
    log_output: io.StringIO,
) -> None:
    monkeypatch.setenv("DAILY_BUDGET_USD", "0.5")
    day = {"pk": {"S": "k6"}, "sk": {"S": "2026-11-30"}, "cost_usd": {"S": "oops"}, "requests": {"N": "3"}}
    aws.put_item(TableName="spend", Item=day)
    handler = handler_charging(0.3)

    assert handler(http_event(api_event, "k6"), lambda_context)["statusCode"] == 200
    item = aws.get_item(TableName="spend", Key={"pk": {"S": "k6"}, "sk": {"S": "2026-11-30"}})["Item"]
    # (moto applies the refused ADD's earlier clauses; DynamoDB does not, so requests is not compared)
    assert item["cost_usd"] == {"N": "0.3"}, "charged from this request on"
    assert handler(http_event(api_event, "k6"), lambda_context)["statusCode"] == 200
    assert handler(http_event(api_event, "k6"), lambda_context)["statusCode"] == 429, "the budget holds again"
    messages = [line["message"] for line in log_records(log_output) if line["level"] == "ERROR"]
    assert "spend day item corrupted; totals restarted" in messages


def test_a_paid_failure_with_a_partial_answers_its_usage_with_the_partial(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    failure = ModelOutputError("output failed validation twice").with_partial({"sets": [{"segments": []}]})

    response = handler_charging(0.25, then=failure)(http_event(api_event, "k"), lambda_context)

    body = json.loads(response["body"])
    assert (response["statusCode"], body["code"]) == (502, "invalid_model_output")
    assert body["partial"] == {"sets": [{"segments": []}]}
    assert (body["usage"]["provider_requests"], body["usage"]["cost_usd"]) == (1, 0.25)


def test_a_paid_unexpected_error_is_the_generic_500_with_its_usage(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext, log_output: io.StringIO
) -> None:
    response = handler_charging(0.25, then=RuntimeError("bug with a secret sk-123"))(
        http_event(api_event, "k"), lambda_context
    )

    body = json.loads(response["body"])
    assert (response["statusCode"], body["code"], body["message"]) == (
        500,
        "internal_error",
        "internal error",
    )
    assert body["usage"]["cost_usd"] == 0.25
    assert "sk-123" not in response["body"]
    unhandled = next(line for line in log_records(log_output) if line["message"] == "unhandled error")
    assert "RuntimeError" in unhandled["exception"], "the trace goes to the log"


def test_an_unpaid_unexpected_error_carries_no_usage(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    app = create_app()

    @app.post("/stories/segments")
    def route(request: StorySegmentsRequest) -> Any:
        raise RuntimeError("bug before any provider request")

    handler: Callable[[Any, Any], Any] = lambda_entrypoint(app, direct_route=("POST", "/stories/segments"))
    body = json.loads(handler(http_event(api_event, "k"), lambda_context)["body"])

    assert (body["code"], "usage" in body) == ("internal_error", False)


@pytest.fixture
def pipeline(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The event path's tables and bus: idempotency, results, and a bus for completion events."""
    import boto3

    from local.aws import create_table_as_declared

    create_table_as_declared(aws, "IdempotencyTable", "idempotency")
    create_table_as_declared(aws, "ResultsTable", "results")
    boto3.client("events").create_event_bus(Name="bus")
    for variable, value in (("IDEMPOTENCY_TABLE", "idempotency"), ("RESULTS_TABLE", "results")):
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("EVENT_BUS_NAME", "bus")
    return aws


def eventbridge(request_id: str, api_key_id: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"request_id": request_id, "request": {"prompt": "from a pipeline"}}
    if api_key_id is not None:
        detail["api_key_id"] = api_key_id
    return {"version": "0", "id": "e-1", "detail-type": "story_segments", "source": "p", "detail": detail}


def test_a_paid_failure_of_an_event_is_stored_with_its_usage(
    pipeline: Any, lambda_context: LocalLambdaContext
) -> None:
    from contentgen.stores.results import get_result

    handler = handler_charging(0.25, then=ContentFilteredError("the model declined"))

    assert handler(eventbridge("paid-refusal"), lambda_context)["status"] == "failed"

    stored = get_result("paid-refusal", "pipeline")
    assert stored is not None
    assert (stored["status_code"], stored["error"]["code"]) == (422, "content_filtered")
    assert stored["error"]["usage"]["cost_usd"] == 0.25


def test_a_budget_refusal_stored_for_an_event_names_no_key_nor_amounts(
    pipeline: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
) -> None:
    """Results are read by request_id with any key: what they keep of a budget refusal says
    neither whose budget nor how much (probe14 F11); the key's own HTTP answer still does."""
    from contentgen.stores.results import get_result

    budget = {"pk": {"S": "budget#victim-key"}, "sk": {"S": "budget"}, "daily_budget_usd": {"N": "0.125"}}
    pipeline.put_item(TableName="spend", Item=budget)
    day = {"pk": {"S": "victim-key"}, "sk": {"S": "2026-11-30"}, "cost_usd": {"N": "0.375"}}
    pipeline.put_item(TableName="spend", Item=day)
    handler = handler_charging(0.25)

    assert handler(eventbridge("over-1", "victim-key"), lambda_context)["status"] == "failed"

    stored = get_result("over-1", "victim-key")
    assert stored is not None
    assert (stored["status_code"], stored["error"]["code"]) == (429, "budget_exceeded")
    assert stored["error"]["message"] == budgets.STORED_BUDGET_MESSAGE
    text = json.dumps(stored)
    for secret in ("victim-key", "0.375", "0.125"):
        assert secret not in text
    own = json.loads(handler(http_event(api_event, "victim-key"), lambda_context)["body"])
    for kept in ("victim-key", "0.375"):
        assert kept in own["message"], "the holder's own answer keeps them"


# --- reservations: held before the provider is paid, settled or released after -----------------


def day_item(aws: Any, key: str) -> dict[str, Any]:
    found = aws.get_item(
        TableName="spend", Key={"pk": {"S": key}, "sk": {"S": "2026-11-30"}}, ConsistentRead=True
    )
    return dict(found.get("Item", {}))


def holds_of(item: dict[str, Any]) -> list[str]:
    return sorted(name for name in item if name.startswith("hold#"))


def test_a_reservation_is_held_while_the_request_runs_and_settled_to_its_cost(
    aws: Any, api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    seen: dict[str, Any] = {}
    app = create_app()

    @app.post("/stories/segments")
    def route(request: StorySegmentsRequest) -> Any:
        before_request(Decimal("0.5"))  # the request's most
        seen["during"] = day_item(aws, "r1")
        add_request(model="m", ok=True, prompt_tokens=1, completion_tokens=1, cost_usd=0.125)
        return {"title": request.prompt}

    handler: Callable[[Any, Any], Any] = lambda_entrypoint(app, direct_route=("POST", "/stories/segments"))
    assert handler(http_event(api_event, "r1"), lambda_context)["statusCode"] == 200

    during = seen["during"]
    (hold,) = holds_of(during)
    assert during["committed_usd"] == {"N": "0.5"}
    assert during[hold]["M"]["usd"] == {"N": "0.5"}
    after = day_item(aws, "r1")
    assert holds_of(after) == [], "settled: the hold is gone"
    assert (Decimal(after["committed_usd"]["N"]), Decimal(after["cost_usd"]["N"])) == (
        Decimal("0.125"),
        Decimal("0.125"),
    )
    report = ledger.usage_report("r1")
    assert (report["settled_today_usd"], report["reserved_today_usd"]) == (0.125, 0)


@pytest.mark.parametrize("failure", [ProviderUnavailableError("provider down"), RuntimeError("a bug")])
def test_a_request_that_fails_unpaid_releases_its_reservation(
    aws: Any, api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext, failure: Exception
) -> None:
    app = create_app()

    @app.post("/stories/segments")
    def route(request: StorySegmentsRequest) -> Any:
        before_request(Decimal("3.2"))
        raise failure

    handler: Callable[[Any, Any], Any] = lambda_entrypoint(app, direct_route=("POST", "/stories/segments"))
    assert handler(http_event(api_event, "r2"), lambda_context)["statusCode"] in (500, 502)

    item = day_item(aws, "r2")
    assert holds_of(item) == [], "released"
    assert Decimal(item["committed_usd"]["N"]) == 0
    assert "requests" not in item, "nothing paid, nothing charged"


def test_a_leaked_reservation_refuses_only_until_it_expires(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
    log_output: io.StringIO,
) -> None:
    """A Lambda killed mid-request never settles: its hold stays. While it may still be running
    (its deadline plus the margin) the key is refused; after that the refused reservation reaps it."""
    monkeypatch.setenv("DAILY_BUDGET_USD", "4")
    now = [NOON]
    monkeypatch.setattr(budgets, "clock", lambda: now[0])
    ledger.forget_budgets()
    leaked = ledger.reserve("r3", Decimal("4"), until=NOON + 30)  # the invocation that died
    assert leaked is not None
    handler = handler_charging(0.5)

    refused = handler(http_event(api_event, "r3"), lambda_context)
    assert refused["statusCode"] == 429, "the hold may still be a running request"
    assert ledger.usage_report("r3")["reserved_today_usd"] == 4

    now[0] = NOON + 31
    assert handler(http_event(api_event, "r3"), lambda_context)["statusCode"] == 200
    item = day_item(aws, "r3")
    assert holds_of(item) == []
    assert Decimal(item["committed_usd"]["N"]) == Decimal("0.5")
    released = [
        line for line in log_records(log_output) if line["message"] == "expired spend reservations released"
    ]
    assert released
    assert released[0]["holds"] == [leaked.hold_id]
    ledger.settle("r3", "late", None, [leaked])  # the dead invocation's settle, were it to come
    assert Decimal(day_item(aws, "r3")["committed_usd"]["N"]) == Decimal("0.5"), "not released twice"


def test_a_refusal_of_the_second_key_releases_the_first_keys_hold(
    aws: Any, monkeypatch: pytest.MonkeyPatch, lambda_context: LocalLambdaContext
) -> None:
    ledger.set_daily_budget("pipeline", Decimal(0))
    handler = handler_charging(0.25)

    refused = spend.charged_to("fresh-3", lambda: handler({"prompt": "from a queue"}, lambda_context))()

    assert refused["code"] == "budget_exceeded"
    item = day_item(aws, "fresh-3")
    assert holds_of(item) == []
    assert Decimal(item["committed_usd"]["N"]) == 0


def test_a_retry_runs_under_the_reservation_its_unpaid_attempt_left(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
) -> None:
    """Three attempts of one 3.20 USD video start (two failed unpaid) hold 3.20 USD, not 9.60:
    on a 4 USD budget the third attempt is not refused by the first two's holds."""
    monkeypatch.setenv("DAILY_BUDGET_USD", "4")
    reserved: list[int] = []
    app = create_app()

    @app.post("/stories/segments")
    def route(request: StorySegmentsRequest) -> Any:
        for attempt in range(3):
            before_request(Decimal("3.2"))
            reserved.append(len(holds_of(day_item(aws, "r4"))))
            paid = attempt == 2
            add_request(
                model="veo",
                ok=paid,
                prompt_tokens=None,
                completion_tokens=None,
                cost_usd=3.2 if paid else None,
            )
        return {"title": request.prompt}

    handler: Callable[[Any, Any], Any] = lambda_entrypoint(app, direct_route=("POST", "/stories/segments"))
    assert handler(http_event(api_event, "r4"), lambda_context)["statusCode"] == 200

    assert reserved == [1, 1, 1], "one hold for the three attempts"
    item = day_item(aws, "r4")
    assert Decimal(item["committed_usd"]["N"]) == Decimal(item["cost_usd"]["N"]) == Decimal("3.2")


# --- a durable job's start: held once under its own id, settled once whoever replays it ----------


def test_a_hold_under_a_given_id_is_made_once_and_its_settle_counts_once(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reserve_once`: a repeat finds the hold and reserves nothing more; `settle(once=...)`: a
    replayed settle changes nothing, even after the hold was reaped meanwhile."""
    monkeypatch.setenv("DAILY_BUDGET_USD", "10")
    now = [NOON]
    monkeypatch.setattr(budgets, "clock", lambda: now[0])
    ledger.forget_budgets()

    first = ledger.reserve_once("j1", "0123456789abcdef", Decimal("3.2"), until=NOON + 600)
    again = ledger.reserve_once("j1", "0123456789abcdef", Decimal("3.2"), until=NOON + 600)

    assert first is not None
    assert again is not None
    assert (first[1], again[1]) == (True, False)
    assert first[0] == again[0]
    item = day_item(aws, "j1")
    assert holds_of(item) == ["hold#0123456789abcdef"]
    assert Decimal(item["committed_usd"]["N"]) == Decimal("3.2"), "held once"

    meter = Meter()
    meter.add(model="veo", ok=True, prompt_tokens=None, completion_tokens=None, cost_usd=1.2)
    for _ in range(2):  # the step replayed after the write
        ledger.settle("j1", "job", meter, [first[0]], once="0123456789abcdef")
    item = day_item(aws, "j1")
    assert holds_of(item) == []
    assert (Decimal(item["committed_usd"]["N"]), Decimal(item["cost_usd"]["N"])) == (
        Decimal("1.2"),
        Decimal("1.2"),
    )
    assert item["requests"] == {"N": "1"}
    assert "settled#0123456789abcdef" in item


def test_a_hold_under_a_given_id_is_refused_past_the_budget_and_an_expired_one_is_made_again(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILY_BUDGET_USD", "4")
    now = [NOON]
    monkeypatch.setattr(budgets, "clock", lambda: now[0])
    ledger.forget_budgets()
    assert ledger.reserve("j2", Decimal("4"), until=NOON + 30) is not None  # the day is full

    with pytest.raises(BudgetExceededError):
        ledger.reserve_once("j2", "feedfacefeedface", Decimal("1"), until=NOON + 600)
    assert "hold#feedfacefeedface" not in holds_of(day_item(aws, "j2")), "refused: nothing held"

    now[0] = NOON + 31  # the first hold lapsed: reaped, and the start's hold is made
    taken = ledger.reserve_once("j2", "feedfacefeedface", Decimal("1"), until=NOON + 600)
    assert taken is not None
    assert taken[1] is True
    assert holds_of(day_item(aws, "j2")) == ["hold#feedfacefeedface"]


def test_a_settle_sent_again_after_its_answer_was_lost_charges_once(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client re-sends an UpdateItem whose answer did not come back (read timeout, retries on):
    the first send was applied, so the second finds the invocation's live holds gone. It must not
    ADD the cost again (a double charge seen once in a loaded test run: `requests` 6 for 5)."""
    monkeypatch.setenv("DAILY_BUDGET_USD", "10")
    now = [NOON]
    monkeypatch.setattr(budgets, "clock", lambda: now[0])
    ledger.forget_budgets()
    hold = ledger.reserve("t1", Decimal("0.5"), until=NOON + 90)
    assert hold is not None
    meter = Meter()
    meter.add(model="m", ok=True, prompt_tokens=10, completion_tokens=20, cost_usd=0.25)

    ledger.settle("t1", "fn", meter, [hold])
    ledger.settle("t1", "fn", meter, [hold])  # the same write, sent again

    item = day_item(aws, "t1")
    assert holds_of(item) == []
    assert item["requests"] == {"N": "1"}
    assert (Decimal(item["cost_usd"]["N"]), Decimal(item["committed_usd"]["N"])) == (
        Decimal("0.25"),
        Decimal("0.25"),
    )


def test_a_settle_whose_answer_the_client_lost_is_sent_again_and_charges_once(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same, over the wire: DynamoDB applies the settle, its answer never arrives (a read
    timeout), the ledger's client sends the write again (`contentgen.clients.dynamodb`), which
    finds the holds gone; the day is charged once."""
    import httpx2

    from contentgen.clients.dynamodb import use_transport

    moto = moto_in_process()
    lost: list[bytes] = []

    class LosingTheFirstSettlesAnswer(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            response = moto.handle_request(request)
            body = request.read()
            if b" REMOVE " in body and b" ADD " in body and not lost:
                lost.append(body)
                raise httpx2.ReadTimeout("the answer was lost", request=request)
            return response

    use_transport(LosingTheFirstSettlesAnswer())
    monkeypatch.setenv("DAILY_BUDGET_USD", "10")
    ledger.forget_budgets()
    hold = ledger.reserve("t2", Decimal("0.5"), until=NOON + 90)
    assert hold is not None
    meter = Meter()
    meter.add(model="m", ok=True, prompt_tokens=10, completion_tokens=20, cost_usd=0.25)

    ledger.settle("t2", "fn", meter, [hold])

    assert lost, "the settle's first answer was lost and the write sent again"
    item = day_item(aws, "t2")
    assert holds_of(item) == []
    assert (item["requests"], item["cost_usd"], item["committed_usd"]) == (
        {"N": "1"},
        {"N": "0.25"},
        {"N": "0.25"},
    )
