"""Spend control over the wire: real SDKs to the emulator, the ledger in moto's DynamoDB.

Each test charges its own API key ids (random), so the session's shared table needs no cleanup.
The ledger's clock (`contentgen.billing.budgets.clock`) is injected where a test crosses midnight.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from contentgen.billing import budgets
from contentgen.catalog import default_chain, image_price_usd, video_price_usd
from contentgen.stores import ledger as spend_ledger
from contentgen.stores.jobs import get_job
from local.aws import client
from local.lambda_context import LocalLambdaContext
from local.runtime import load_handler
from local.template import functions, physical_name
from tests.conftest import load_event
from tests.integration.conftest import Invoke, Stack, _loaded
from tests.integration.test_event_sources import Pipes, pipes, result  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

# 2026-11-30 12:00:00 UTC: twelve hours to midnight.
NOON = 1796040000.0
STORY = {"prompt": "A lighthouse keeper finds a message in a bottle", "segment_count": 2}


def new_key() -> str:
    return f"key-{uuid.uuid4().hex[:12]}"


def handler_for(function: str) -> Callable[[Any, Any], Any]:
    if function not in _loaded:
        _loaded[function] = load_handler(functions()[function])
    return _loaded[function]


def call(
    api_event: Callable[..., dict[str, Any]],
    function: str,
    path: str,
    body: Any,
    *,
    key: str | None,
    method: str = "POST",
    query: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Invoke `function` as API Gateway would with the API key id `key`: (status, body, headers)."""
    event = api_event(method, path, body)
    event["requestContext"]["identity"]["apiKeyId"] = key
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    response = handler_for(function)(event, LocalLambdaContext(function_name=function, timeout_seconds=29))
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    return response["statusCode"], json.loads(response["body"]), headers


def story(api_event: Callable[..., dict[str, Any]], key: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    return call(api_event, "StorySegmentsFunction", "/stories/segments", STORY, key=key)


def usage_of(api_event: Callable[..., dict[str, Any]], key: str | None, **query: str) -> dict[str, Any]:
    status, report, _ = call(api_event, "UsageFunction", "/usage", None, key=key, method="GET", query=query)
    assert status == 200, report
    return report


def set_budget(stack: Stack, key: str, usd: str) -> None:
    client("dynamodb", stack.aws_url).put_item(
        TableName=physical_name("SpendTable"),
        Item={"pk": {"S": f"budget#{key}"}, "sk": {"S": "budget"}, "daily_budget_usd": {"N": usd}},
    )


def ledger(stack: Stack, key: str, day: str) -> dict[str, Any]:
    item = client("dynamodb", stack.aws_url).get_item(
        TableName=physical_name("SpendTable"), Key={"pk": {"S": key}, "sk": {"S": day}}, ConsistentRead=True
    )
    return dict(item.get("Item", {}))


def openrouter_cost(usage: dict[str, Any]) -> float:
    """What the emulator bills (OpenRouter's published price of the default model, per token)."""
    prompt, completion = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
    return round((prompt * 0.15 + completion * 0.6) / 1_000_000, 8)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [NOON]
    monkeypatch.setattr(budgets, "clock", lambda: now[0])
    return now


def test_a_generation_answers_its_usage_and_is_charged_to_its_key(
    stack: Stack, api_event: Callable[..., dict[str, Any]], fixed_clock: list[float]
) -> None:
    key = new_key()

    status, answer, _ = story(api_event, key)

    assert status == 200, answer
    usage = answer["usage"]
    assert usage["provider_requests"] == 1
    assert usage["model"] == answer["model"]
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] > 0
    assert usage["cost_usd"] == openrouter_cost(usage), "OpenRouter's usage.cost, as reported"
    item = ledger(stack, key, "2026-11-30")
    assert item["requests"] == {"N": "1"}
    assert Decimal(item["cost_usd"]["N"]) == Decimal(str(usage["cost_usd"]))
    assert item["fn#StorySegmentsFunction#requests"] == {"N": "1"}
    # TTL: the day is kept SPEND_RETENTION_DAYS (90) from its start.
    assert int(item["expires_at"]["N"]) == 1796040000 - 12 * 3600 + 90 * 86400


def test_spend_adds_up_exactly_across_concurrent_requests_of_one_key(
    stack: Stack, api_event: Callable[..., dict[str, Any]], fixed_clock: list[float]
) -> None:
    key = new_key()
    requests = [
        ("StorySegmentsFunction", "/stories/segments", STORY),
        ("MemeSegmentsFunction", "/memes/segments", {"prompt": "Cats versus Mondays"}),
        ("FreeContentFunction", "/content", {"prompt": "Three hooks for a cooking short"}),
        ("TrendingIdeasFunction", "/ideas/trending", {"niche": "home espresso", "idea_count": 2}),
        # Three sets: three provider requests on the fan-out's threads, one meter.
        (
            "StorySegmentsInSetsFunction",
            "/stories/segments/sets",
            {"prompt": "A heist", "set_count": 3, "segments_per_set": 2},
        ),
    ]
    for function, *_ in requests:
        handler_for(function)  # imported (cold start) before the race

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        answers = list(pool.map(lambda r: call(api_event, r[0], r[1], r[2], key=key), requests))

    refused = [
        (path, status, body)
        for (_, path, _), (status, body, _) in zip(requests, answers, strict=True)
        if status != 200
    ]
    assert refused == [], refused
    usages = [answer["usage"] for _, answer, _ in answers]
    assert usages[-1]["provider_requests"] == 3
    assert all(usage["cost_usd"] == openrouter_cost(usage) for usage in usages)
    report = usage_of(api_event, key)
    today = report["today"]
    assert today["requests"] == len(requests)
    assert today["provider_requests"] == sum(usage["provider_requests"] for usage in usages) == 7
    assert today["prompt_tokens"] == sum(usage["prompt_tokens"] for usage in usages)
    assert today["completion_tokens"] == sum(usage["completion_tokens"] for usage in usages)
    expected = sum((Decimal(str(usage["cost_usd"])) for usage in usages), Decimal(0))
    assert Decimal(ledger(stack, key, "2026-11-30")["cost_usd"]["N"]) == expected
    assert today["functions"]["StorySegmentsInSetsFunction"] == {
        "requests": 1,
        "cost_usd": usages[-1]["cost_usd"],
    }
    assert set(today["functions"]) == {function for function, *_ in requests}


def test_a_key_over_budget_gets_429_without_a_provider_request_and_another_key_is_unaffected(
    stack: Stack, api_event: Callable[..., dict[str, Any]], fixed_clock: list[float]
) -> None:
    spender, bystander = new_key(), new_key()
    set_budget(stack, spender, "0.0000001")

    assert story(api_event, spender)[0] == 200  # under budget when it started; now over it
    paid = len(stack.provider.requests())
    status, answer, headers = story(api_event, spender)

    assert status == 429
    assert answer["code"] == "budget_exceeded"
    assert spender in answer["message"]
    assert headers["Retry-After"] == str(12 * 3600), "until 00:00 UTC"
    assert len(stack.provider.requests()) == paid, "no provider request"
    assert story(api_event, bystander)[0] == 200
    assert ledger(stack, spender, "2026-11-30")["requests"] == {"N": "1"}, "a refusal is not charged"


def test_the_next_day_resets_the_budget(
    stack: Stack, api_event: Callable[..., dict[str, Any]], fixed_clock: list[float]
) -> None:
    key = new_key()
    set_budget(stack, key, "0.0000001")
    story(api_event, key)
    fixed_clock[0] = NOON + 11 * 3600 + 3599.5  # 23:59:59.5
    status, _, headers = story(api_event, key)
    assert (status, headers["Retry-After"]) == (429, "1")

    fixed_clock[0] = NOON + 12 * 3600  # 00:00 UTC
    status, answer, _ = story(api_event, key)

    assert status == 200, answer
    assert usage_of(api_event, key)["today"]["requests"] == 1
    assert usage_of(api_event, key)["last_30_days"]["requests"] == 2


def test_concurrent_invocations_reserve_so_only_one_passes_a_budget_it_crosses(
    stack: Stack,
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two invocations reach their reservation at the same time (a barrier holds both before it):
    the first reserves its most and crosses the budget, the second is refused before its provider
    request; the day ends over budget by less than one request's cost."""
    key = new_key()
    set_budget(stack, key, "0.0000001")
    both_ready = threading.Barrier(2, timeout=120)  # a generous bound on a condition
    real_reserve = spend_ledger.reserve

    def wait_then_reserve(api_key_id: str, most: Decimal, until: float) -> Any:
        both_ready.wait()
        return real_reserve(api_key_id, most, until)

    monkeypatch.setattr(spend_ledger, "reserve", wait_then_reserve)
    requests = [
        ("StorySegmentsFunction", "/stories/segments", STORY),
        ("FreeContentFunction", "/content", {"prompt": "A hook"}),
    ]
    for function, *_ in requests:
        handler_for(function)
    paid = len(stack.provider.requests())
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda r: call(api_event, r[0], r[1], r[2], key=key), requests))
    monkeypatch.setattr(spend_ledger, "reserve", real_reserve)

    assert sorted(status for status, _, _ in answers) == [200, 429]
    assert len(stack.provider.requests()) == paid + 1, "the refused one paid no provider"
    (cost,) = [Decimal(str(answer["usage"]["cost_usd"])) for status, answer, _ in answers if status == 200]
    spent = Decimal(ledger(stack, key, "2026-11-30")["cost_usd"]["N"])
    assert spent == cost
    assert spent - Decimal("0.0000001") < cost, "over by less than one request's cost"
    assert story(api_event, key)[0] == 429


def concurrently(
    api_event: Callable[..., dict[str, Any]], function: str, path: str, body: Any, key: str, count: int
) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """`count` requests of one key at once (threads released together by a barrier)."""
    handler_for(function)
    start = threading.Barrier(count, timeout=60)

    def one(_: int) -> tuple[int, dict[str, Any], dict[str, Any]]:
        start.wait()
        return call(api_event, function, path, body, key=key)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_twenty_concurrent_videos_on_a_4_usd_budget_spend_at_most_one_video_past_it(
    stack: Stack,
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 22 finding 1: 20 concurrent 8 s videos (3.20 USD each) on a 4 USD budget were 19 x 202
    and 60.80 USD. Each POST /videos holds the video's most (its seconds x the dearest price of
    the chain) on the key's day by one conditional write before the job is claimed or started:
    requests are admitted while settled + reserved < budget (the last one admitted crosses it),
    the others are answered 429 budget_exceeded naming the estimate, with no job, no execution
    and no provider request."""
    from tests.durable_jobs import running

    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("VIDEO_POLL_DELAY_SECONDS", "1")
    key = new_key()
    set_budget(stack, key, "4")
    starts = sum(1 for r in stack.provider.requests() if "predictLongRunning" in r["path"])
    body = {"prompt": "A paper boat on a rainy street", "duration_seconds": 8}
    from contentgen.config import get_settings

    get_settings.cache_clear()
    # The estimate: 8 s at the dearest price of the chain the settings serve (the catalog's prices).
    one = max(price for model in get_settings().video_models if (price := video_price_usd(model))) * 8

    with running(handler_for("VideoJobFunction")) as jobs:
        answers = concurrently(api_event, "GenerateVideoFunction", "/videos", body, key, 20)
        jobs.wait_all()

    statuses = sorted(status for status, _, _ in answers)
    accepted = statuses.count(202)
    # Deterministic: admitted while settled + reserved < budget, so the one that crosses it passes.
    assert accepted == math.ceil(Decimal("4") / one)
    assert statuses == [202] * accepted + [429] * (20 - accepted)
    for status, answer, headers in answers:
        if status == 429:
            assert answer["code"] == "budget_exceeded"
            assert f"up to {one.normalize():f} USD" in answer["message"], answer["message"]
            assert int(headers["Retry-After"]) > 0
    assert len(jobs.starts) == accepted, "no execution started for a refused request"
    finished = [get_job(answer["job_id"]) for status, answer, _ in answers if status == 202]
    assert [job.status if job else None for job in finished] == ["succeeded"] * accepted
    spent = Decimal(ledger(stack, key, "2026-11-30")["cost_usd"]["N"])
    assert spent == one * accepted
    assert spent <= Decimal("4") + one, "at most one video past the budget"
    started = sum(1 for r in stack.provider.requests() if "predictLongRunning" in r["path"]) - starts
    assert started == accepted, "no refused request reached the provider"
    report = usage_of(api_event, key)
    assert (report["settled_today_usd"], report["reserved_today_usd"]) == (float(spent), 0), (
        "every hold settled"
    )


def test_twenty_concurrent_text_requests_spend_at_most_one_request_past_the_budget(
    stack: Stack, api_event: Callable[..., dict[str, Any]], fixed_clock: list[float]
) -> None:
    """Text reserves an upper bound (the prompt's bytes, the model's largest answer) and settles
    OpenRouter's `usage.cost`: 20 concurrent stories on a budget of three stories' cost end below
    the budget plus one story's cost (before: all 20 ran, about 6 x the budget)."""
    probe = new_key()
    status, answer, _ = story(api_event, probe)
    assert status == 200, answer
    one = Decimal(str(answer["usage"]["cost_usd"]))
    key = new_key()
    budget = 3 * one
    set_budget(stack, key, format(budget, "f"))

    answers = concurrently(api_event, "StorySegmentsFunction", "/stories/segments", STORY, key, 20)

    statuses = [status for status, _, _ in answers]
    assert set(statuses) <= {200, 429}, statuses
    assert 200 in statuses
    spent = Decimal(ledger(stack, key, "2026-11-30")["cost_usd"]["N"])
    assert spent == one * statuses.count(200)
    assert spent < budget + one, f"{statuses.count(200)} stories ran: {spent} USD on a {budget} USD budget"
    report = usage_of(api_event, key)
    assert report["reserved_today_usd"] == 0
    assert Decimal(str(report["settled_today_usd"])) == spent


def test_a_warm_generation_makes_two_aws_requests_the_reservation_and_the_settle(
    stack: Stack,
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 26 item 2: the budget read and the charge are one conditional update (the
    reservation) and the settle; a container's first request for a key also reads its day and its
    budget item (two Queries: the budget item is in its own partition, `budget#<key>`, which the
    generation roles may read but not write). All through the ledger's own client."""
    from contentgen.clients.dynamodb import DynamoDBClient

    key = new_key()
    seen: list[str] = []
    send = DynamoDBClient._make_api_call

    def recording(self: DynamoDBClient, operation: str, parameters: Any) -> Any:
        seen.append(operation)
        return send(self, operation, parameters)

    monkeypatch.setattr(DynamoDBClient, "_make_api_call", recording)
    assert story(api_event, key)[0] == 200
    first = list(seen)
    seen.clear()
    assert story(api_event, key)[0] == 200

    assert first == ["Query", "Query", "UpdateItem", "UpdateItem"], "day and budget read once per container"
    assert seen == ["UpdateItem", "UpdateItem"], "warm: reserve, settle"


def test_events_over_budget_are_stored_failed_and_not_retried(
    stack: Stack,
    invoke: Invoke,
    pipes: Pipes,  # noqa: F811 (the fixture imported above)
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key, pipeline = new_key(), new_key()
    monkeypatch.setenv("PIPELINE_API_KEY_ID", pipeline)
    set_budget(stack, key, "0")
    body = {"request_id": "budget-1", "api_key_id": key, "request": STORY}
    pipes.sqs.send_message(QueueUrl=pipes.queue.queue_url, MessageBody=json.dumps(body))
    pipes.send("budget-2", STORY)  # no api_key_id: charged to the pipeline key

    while pipes.queue.poll_once(wait_seconds=0):
        pass

    assert pipes.queue.errors == []
    status, stored = result(invoke, "budget-1", api_key_id=key)  # read with the key charged
    assert (status, stored["status"], stored["status_code"]) == (200, "failed", 429)
    assert stored["error"]["code"] == "budget_exceeded"
    paid = result(invoke, "budget-2")[1]
    assert paid["status"] == "succeeded"
    assert paid["result"]["usage"]["provider_requests"] == 1, "the stored result carries its usage"
    assert paid["result"]["usage"]["cost_usd"] > 0
    assert len(stack.provider.requests()) == 1, "only the request within budget was sent"
    assert pipes.dead_letters() == [], "deleted from the queue, not retried into the DLQ"
    messages = pipes.sqs.receive_message(QueueUrl=pipes.queue.queue_url, MaxNumberOfMessages=10)
    assert not messages.get("Messages")
    assert {n["detail"]["request_id"]: n["detail-type"] for n in pipes.notifications()} == {
        "budget-1": "GenerationFailed",
        "budget-2": "GenerationCompleted",
    }
    assert ledger(stack, pipeline, "2026-11-30")["requests"] == {"N": "1"}
    assert ledger(stack, key, "2026-11-30") == {}


def test_get_usage_answers_the_calling_key_only(
    stack: Stack, api_event: Callable[..., dict[str, Any]], fixed_clock: list[float]
) -> None:
    mine, theirs = new_key(), new_key()
    set_budget(stack, mine, "2.5")
    story(api_event, theirs)
    status, answer, _ = story(api_event, mine)
    assert status == 200

    report = usage_of(api_event, mine, api_key_id=theirs)  # another key's id in the query

    assert report["api_key_id"] == mine
    assert report["day"] == "2026-11-30"
    assert report["daily_budget_usd"] == 2.5
    assert report["today"]["requests"] == 1
    assert report["today"]["cost_usd"] == answer["usage"]["cost_usd"]
    assert report["remaining_today_usd"] == float(Decimal("2.5") - Decimal(str(answer["usage"]["cost_usd"])))
    assert [day["day"] for day in report["days"]] == ["2026-11-30"]
    assert usage_of(api_event, new_key())["today"]["requests"] == 0, "a key that spent nothing"
    # Another key's id in the path is no route at all; without a key id, nothing.
    event = api_event("GET", f"/usage/{theirs}")
    event["requestContext"]["identity"]["apiKeyId"] = mine
    response = handler_for("UsageFunction")(event, LocalLambdaContext(function_name="UsageFunction"))
    assert response["statusCode"] == 404
    assert "today" not in json.loads(response["body"])
    status, refused, _ = call(api_event, "UsageFunction", "/usage", None, key=None, method="GET")
    assert (status, refused["code"]) == (403, "forbidden")


def test_image_costs_come_from_the_price_table(
    stack: Stack,
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    key = new_key()
    body = {"prompt": "A fox in a library"}

    status, answer, _ = call(api_event, "GenerateThumbnailFunction", "/thumbnails", body, key=key)

    assert status == 200, answer
    image = default_chain("image")[0]
    list_price = image_price_usd(image)
    assert list_price is not None
    assert answer["model"] == image
    assert answer["usage"] == {
        "model": image,
        "prompt_tokens": None,
        "completion_tokens": None,
        "provider_requests": 1,
        "cost_usd": float(list_price),  # Google's list price per image (the model catalog)
    }
    monkeypatch.setenv("MEDIA_PRICES_JSON", json.dumps({image: {"per_image": 0.5}}))
    from contentgen.config import get_settings

    get_settings.cache_clear()
    status, answer, _ = call(api_event, "GenerateThumbnailFunction", "/thumbnails", body, key=key)
    assert answer["usage"]["cost_usd"] == 0.5
    assert Decimal(ledger(stack, key, "2026-11-30")["cost_usd"]["N"]) == list_price + Decimal("0.5")


def test_budget_threshold_event_is_sent_once_per_key_and_day(
    stack: Stack,
    pipes: Pipes,  # noqa: F811 (its notification queue hears everything from source contentgen)
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    key = new_key()
    # Thumbnails at 0.04 (a price set for the test): the 20th crosses 80 % (0.80).
    monkeypatch.setenv("MEDIA_PRICES_JSON", json.dumps({default_chain("image")[0]: {"per_image": 0.04}}))
    from contentgen.config import get_settings

    get_settings.cache_clear()
    set_budget(stack, key, "1")
    for _ in range(19):
        call(api_event, "GenerateThumbnailFunction", "/thumbnails", {"prompt": "A fox"}, key=key)
    assert pipes.notifications() == []

    for _ in range(3):
        call(api_event, "GenerateThumbnailFunction", "/thumbnails", {"prompt": "A fox"}, key=key)

    (note,) = pipes.notifications()
    assert note["detail-type"] == "BudgetThresholdReached"
    assert note["detail"] == {
        "api_key_id": key,
        "day": "2026-11-30",
        "spent_usd": 0.8,
        "daily_budget_usd": 1.0,
        "threshold": 0.8,
    }


def test_a_video_job_costs_its_seconds_at_the_table_price_on_the_job_and_the_ledger(
    stack: Stack,
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The durable job charges the key that started it once its (paid) start is made."""
    from tests.durable_jobs import running

    monkeypatch.setenv("VIDEO_POLL_DELAY_SECONDS", "1")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    key = new_key()
    body = {"prompt": "A paper boat on a rainy street", "duration_seconds": 6}

    with running(handler_for("VideoJobFunction")) as jobs:
        status, accepted, _ = call(api_event, "GenerateVideoFunction", "/videos", body, key=key)
        assert status == 202, accepted
        jobs.wait_all()
    status, job, _ = call(
        api_event, "GenerateVideoFunction", f"/videos/{accepted['job_id']}", None, key=key, method="GET"
    )

    assert status == 200, job
    assert job["status"] == "succeeded"
    video = default_chain("video")[0]
    per_second = video_price_usd(video)
    assert per_second is not None
    assert job["usage"]["cost_usd"] == float(per_second * 6)  # 6 s x its list price (the catalog)
    assert job["usage"]["model"] == video
    day = ledger(stack, key, "2026-11-30")
    assert Decimal(day["cost_usd"]["N"]) == per_second * 6, "settled once, at the start's price"
    assert not [name for name in day if name.startswith(spend_ledger.HOLD_PREFIX)], (
        "the reservation is released"
    )
    reserved = [r for r in stack.provider.requests() if r["path"].endswith(":predictLongRunning")]
    assert len(reserved) == 1


def test_the_local_gateway_puts_the_presented_keys_id_in_the_event(stack: Stack) -> None:
    from local.api_keys import api_key_id
    from local.aws import LOCAL_API_KEY

    keys = client("apigateway", stack.aws_url).get_api_keys(includeValues=True)["items"]
    expected = next(key["id"] for key in keys if key.get("value") == LOCAL_API_KEY)

    assert api_key_id(LOCAL_API_KEY) == expected
    assert api_key_id("not-a-key") is None


def test_top_keys_by_spend_today_is_the_readmes_scan(
    stack: Stack, api_event: Callable[..., dict[str, Any]], fixed_clock: list[float]
) -> None:
    """The README's operations command: a Scan of one day's items, sorted by cost (JMESPath)."""
    import jmespath  # type: ignore[import-untyped]

    fixed_clock[0] = NOON - 40 * 86400  # a day of its own, so other tests' keys are not in it
    big, small = new_key(), new_key()
    story(api_event, small)
    story(api_event, big)
    story(api_event, big)

    found = client("dynamodb", stack.aws_url).scan(
        TableName=physical_name("SpendTable"),
        FilterExpression="sk = :day",
        ExpressionAttributeValues={":day": {"S": "2026-10-21"}},
        ProjectionExpression="pk, cost_usd, requests",
    )
    top = jmespath.search("reverse(sort_by(Items, &to_number(cost_usd.N)))[:10]", found)

    assert [item["pk"]["S"] for item in top] == [big, small]
    assert Decimal(top[0]["cost_usd"]["N"]) == 2 * Decimal(top[1]["cost_usd"]["N"])
    assert top[0]["requests"] == {"N": "2"}


def test_direct_invocations_are_charged_to_the_pipeline_key(
    stack: Stack, fixed_clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = new_key()
    monkeypatch.setenv("PIPELINE_API_KEY_ID", pipeline)

    answer = handler_for("StorySegmentsFunction")(
        load_event("story_segments_direct.json"), LocalLambdaContext(function_name="StorySegmentsFunction")
    )

    assert answer["usage"]["provider_requests"] == 1
    assert ledger(stack, pipeline, "2026-11-30")["requests"] == {"N": "1"}


def test_a_chunked_story_stops_within_one_request_past_a_tiny_budget(
    stack: Stack, api_event: Callable[..., dict[str, Any]], fixed_clock: list[float]
) -> None:
    """The budget is checked before every provider request of an invocation, not only at its
    start: the outline is paid, the first chunk is refused, the paid outline comes back."""
    key = new_key()
    set_budget(stack, key, "0.0000001")
    request = {"prompt": "A long voyage", "segment_count": 40, "chunk_size": 10}

    status, body, headers = call(
        api_event, "StorySegmentsChunkedFunction", "/stories/segments/chunked", request, key=key
    )

    assert (status, body["code"]) == (429, "budget_exceeded"), body
    assert int(headers["Retry-After"]) == 12 * 3600
    assert body["usage"]["provider_requests"] == 1, "one request past the budget, not five"
    assert (body["partial"]["completed_chunks"], body["partial"]["chunks"]) == (0, 4)
    spent = Decimal(ledger(stack, key, "2026-11-30")["cost_usd"]["N"])
    assert spent == Decimal(str(body["usage"]["cost_usd"])), "the paid request is charged"


# -- a model without a price is never asked --------------------------------------------------------
# `openai/gpt-4o` is in the catalog without a price; `anthropic/claude-opus-4.1` is not in it (75 USD
# per million output tokens on OpenRouter). With a flat 0.10 USD reservation, 10 concurrent
# requests of 0.40 USD each spent 2.00 USD on a 0.50 USD budget.
LONG_ANSWER_USD = 0.40


def _long_completion(model: str) -> dict[str, Any]:
    return {
        "id": "gen-unpriced",
        "object": "chat.completion",
        "created": 1764500000,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "An essay."}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": 20,
            "completion_tokens": 40000,
            "total_tokens": 40020,
            "cost": LONG_ANSWER_USD,
        },
    }


@pytest.mark.parametrize("model", ["openai/gpt-4o", "anthropic/claude-opus-4.1"])
def test_a_text_model_without_a_price_keeps_spend_within_one_request_past_the_budget(
    stack: Stack,
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],
    monkeypatch: pytest.MonkeyPatch,
    model: str,
) -> None:
    monkeypatch.setenv("TEXT_MODEL", model)
    stack.provider.faults(
        {"kind": "raw", "target": "openai", "status": 200, "body": _long_completion(model), "count": 10}
    )
    key = new_key()
    budget = Decimal("0.5")
    set_budget(stack, key, str(budget))

    answers = concurrently(api_event, "FreeContentFunction", "/content", {"prompt": "write"}, key, 10)

    statuses = [status for status, _, _ in answers]
    spent = Decimal(ledger(stack, key, "2026-11-30").get("cost_usd", {"N": "0"})["N"])
    assert spent <= budget + Decimal(str(LONG_ANSWER_USD)), (
        f"{spent} USD spent on {budget}: {sorted(statuses)}"
    )
    # Never asked: no reservation could bound it. The answer names the setting and the model.
    assert stack.provider.requests() == []
    assert set(statuses) == {503}, statuses
    assert all(model in body["message"] and "TEXT_MODEL" in body["message"] for _, body, _ in answers), (
        answers
    )


def test_a_key_with_no_budget_left_gets_429_from_post_videos(
    stack: Stack,
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],
) -> None:
    """A key whose day is spent gets 429 from POST /videos before any job exists (docs/api.md:
    "429 `budget_exceeded` ... no provider was called"), not a 202 and a job failing later."""
    key = new_key()
    set_budget(stack, key, "0")
    text_status, _, _ = call(api_event, "FreeContentFunction", "/content", {"prompt": "hi"}, key=key)
    assert text_status == 429, "text routes refuse a spent key"

    from tests.durable_jobs import running
    from tests.integration.test_spend import handler_for

    with running(handler_for("VideoJobFunction")) as jobs:
        status, answer, headers = call(
            api_event, "GenerateVideoFunction", "/videos", {"prompt": "a paper boat"}, key=key
        )
        jobs.wait_all()

    assert (status, answer.get("code")) == (429, "budget_exceeded"), (status, answer)
    assert "Retry-After" in headers
