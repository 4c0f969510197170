"""Event-triggered generation over the wire: SQS messages and EventBridge events (which the bus
rule puts into the same queue) on the same functions,
idempotency by request_id, results by request_id, completion events, the dead-letter queue.

Messages go through moto's queues and bus and are delivered by the local event source mappings,
as `make demo` does; event shapes come from `events/` (`sam local generate-event` samples).
"""

from __future__ import annotations

import io
import json
import os
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest

from local.event_sources import QueuePoller
from local.lambda_context import LocalLambdaContext
from local.runtime import load_handler
from local.template import bus_rules, functions
from tests.conftest import load_event, log_records
from tests.integration.conftest import Invoke, Owned, Stack, _loaded

pytestmark = pytest.mark.integration

FUNCTION = "StorySegmentsFunction"


@dataclass
class Pipes:
    """This test's own copy of the function's event path: its queue (and dead-letter queue), its
    bus with the template's rule into the queue, an inbox hearing the bus, its results tables."""

    queue: QueuePoller
    sqs: Any
    events: Any
    bus: str
    notifications_url: str
    dead_letters_url: str

    def send(self, request_id: str, request: dict[str, Any]) -> None:
        body = json.dumps({"request_id": request_id, "request": request})
        self.sqs.send_message(QueueUrl=self.queue.queue_url, MessageBody=body)

    def put_event(self, detail: dict[str, Any], detail_type: str = "story_segments") -> None:
        entry = {"Source": "my.pipeline", "DetailType": detail_type, "Detail": json.dumps(detail)}
        self.events.put_events(Entries=[{**entry, "EventBusName": self.bus}])

    def notifications(self) -> list[dict[str, Any]]:
        """The events announced since the last call (read and deleted)."""
        return _drain(self.sqs, self.notifications_url)

    def dead_letters(self) -> list[dict[str, Any]]:
        """The messages dead-lettered since the last call (read and deleted)."""
        return _drain(self.sqs, self.dead_letters_url)


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Receive and delete every visible message; their bodies, parsed."""
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


@pytest.fixture
def pipes(stack: Stack, owned: Owned) -> Pipes:
    owned.tables("ResultsTable", "IdempotencyTable")
    # Failed receives come back at once here rather than after the visibility timeout.
    queue = owned.queue(FUNCTION, visibility_timeout=0)
    bus = owned.bus(feeds=queue)
    inbox = owned.inbox(bus)
    return Pipes(queue, owned.sqs, owned.events, bus, inbox, owned.dead_letters_url)


def result(invoke: Invoke, request_id: str, api_key_id: str | None = None) -> tuple[int, dict[str, Any]]:
    event = load_event("get_result.json")
    event["path"] = f"/results/{request_id}"
    event["pathParameters"] = {"request_id": request_id}
    # Results are read with the key charged: messages without `api_key_id` charge the pipeline key.
    event["requestContext"]["identity"]["apiKeyId"] = api_key_id or os.environ["PIPELINE_API_KEY_ID"]
    handler = _loaded.setdefault("GetResultFunction", load_handler(functions()["GetResultFunction"]))
    response = handler(event, LocalLambdaContext(function_name="GetResultFunction"))
    return response["statusCode"], json.loads(response["body"])


def test_an_sqs_message_is_generated_stored_and_announced(stack: Stack, invoke: Invoke, pipes: Pipes) -> None:
    pipes.send("req-1", {"prompt": "A robot learns to paint", "segment_count": 3})

    assert pipes.queue.poll_once(wait_seconds=0) == 1

    status, stored = result(invoke, "req-1")
    assert status == 200
    assert stored["status"] == "succeeded"
    assert len(stored["result"]["segments"]) == 3
    (note,) = pipes.notifications()
    assert note["detail-type"] == "GenerationCompleted"
    assert note["detail"] == {"request_id": "req-1", "route": "/stories/segments", "status": "succeeded"}


def test_a_duplicated_message_costs_one_provider_call_and_one_result(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    for _ in range(10):
        pipes.send("req-dup", {"prompt": "A robot learns to paint", "segment_count": 2})

    while pipes.queue.poll_once(wait_seconds=0):
        pass

    assert len(stack.provider.requests()) == 1
    assert [n["detail"]["request_id"] for n in pipes.notifications()] == ["req-dup"]
    assert result(invoke, "req-dup")[1]["status"] == "succeeded"
    assert pipes.queue.errors == []


def test_a_result_whose_store_failed_is_stored_by_the_redelivery(
    stack: Stack, invoke: Invoke, pipes: Pipes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contentgen.entrypoints import events
    from contentgen.stores import results

    real_store = results.store_result
    calls = 0

    def failing_once(**arguments: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("DynamoDB is having a moment")
        return real_store(**arguments)

    monkeypatch.setattr(events, "store_result", failing_once)
    pipes.send("req-retry-store", {"prompt": "x", "segment_count": 1})

    while pipes.queue.poll_once(wait_seconds=0):
        pass

    assert calls == 2
    assert len(stack.provider.requests()) == 1, "the paid result came from the idempotency record"
    assert result(invoke, "req-retry-store")[1]["status"] == "succeeded"
    assert [n["detail"]["request_id"] for n in pipes.notifications()] == ["req-retry-store"]


def test_a_batch_reports_exactly_its_invalid_and_failing_records(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    stack.provider.faults(
        {"kind": "server_error", "status": 503, "count": 3}
    )  # the first record's 3 attempts
    records = [
        {"MessageId": "failing", "body": {"request_id": "req-failing", "request": {"prompt": "x"}}},
        {
            "MessageId": "invalid",
            "body": {"request_id": "req-invalid", "request": {"prompt": "", "segment_count": 0}},
        },
        {
            "MessageId": "good-1",
            "body": {"request_id": "req-good-1", "request": {"prompt": "x", "segment_count": 1}},
        },
        {
            "MessageId": "good-2",
            "body": {"request_id": "req-good-2", "request": {"prompt": "y", "segment_count": 1}},
        },
    ]
    event = load_event("story_segments_sqs.json")
    template = event["Records"][0]
    event["Records"] = [
        {**template, "messageId": r["MessageId"], "body": json.dumps(r["body"])} for r in records
    ]

    answer, _ = pipes.queue.runtime.invoke(FUNCTION, event)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "failing"}]}, (
        "an invalid request is stored as failed and its message deleted, not retried into the DLQ"
    )
    assert result(invoke, "req-good-1")[1]["status"] == "succeeded"
    assert result(invoke, "req-good-2")[1]["status"] == "succeeded"
    invalid = result(invoke, "req-invalid")[1]
    assert invalid["status"] == "failed"
    assert {e["field"] for e in invalid["error"]["errors"]} == {"prompt", "segment_count"}
    assert result(invoke, "req-failing")[0] == 404, (
        "a provider failure is retried, not stored, before the last receive"
    )


def test_a_record_that_keeps_failing_ends_in_the_dlq_and_its_failure_is_stored(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    stack.provider.faults({"kind": "server_error", "status": 500, "count": 100})
    pipes.send("req-doomed", {"prompt": "x", "segment_count": 1})

    receives = 0
    while pipes.queue.poll_once(wait_seconds=0):
        receives += 1
        assert receives <= 3

    assert receives == 3, "MaxReceiveCount in template.yaml"
    (dead,) = pipes.dead_letters()
    assert dead["request_id"] == "req-doomed"
    stored = result(invoke, "req-doomed")[1]
    assert stored["status"] == "failed"
    assert stored["error"]["code"] == "provider_unavailable"
    assert [n["detail-type"] for n in pipes.notifications()] == ["GenerationFailed"]


def test_the_same_request_id_with_another_request_is_refused_at_once_and_keeps_the_first(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    """A caller's mistake: refused, announced and deleted (not retried into the DLQ), and the first
    request's result stays what it was."""
    pipes.send("req-same", {"prompt": "first", "segment_count": 1})
    pipes.queue.poll_once(wait_seconds=0)
    first = result(invoke, "req-same")[1]
    pipes.notifications()
    event = load_event("story_segments_sqs.json")
    event["Records"][0]["body"] = json.dumps({"request_id": "req-same", "request": {"prompt": "second"}})

    answer, _ = pipes.queue.runtime.invoke(FUNCTION, event)

    assert answer["batchItemFailures"] == []  # deleted: no retry can mend it
    assert len(stack.provider.requests()) == 1
    assert result(invoke, "req-same")[1] == first
    (note,) = pipes.notifications()
    assert note["detail-type"] == "GenerationFailed"
    assert "different request" in note["detail"]["error"]


@pytest.mark.parametrize("request_value", [[1, 2], "x"])
def test_a_refused_message_never_overwrites_a_stored_result(
    stack: Stack, invoke: Invoke, pipes: Pipes, request_value: Any
) -> None:
    """A malformed message with the id of a finished request: announced as refused, nothing stored
    over the paid result."""
    pipes.send("req-kept", {"prompt": "A robot learns to paint", "segment_count": 1})
    pipes.queue.poll_once(wait_seconds=0)
    first = result(invoke, "req-kept")[1]
    pipes.notifications()
    pipes.sqs.send_message(
        QueueUrl=pipes.queue.queue_url,
        MessageBody=json.dumps({"request_id": "req-kept", "request": request_value}),
    )

    assert pipes.queue.poll_once(wait_seconds=0) == 1
    assert pipes.queue.poll_once(wait_seconds=0) == 0, "the message was deleted"

    assert result(invoke, "req-kept")[1] == first
    assert [n["detail-type"] for n in pipes.notifications()] == ["GenerationFailed"]
    assert pipes.dead_letters() == []


def test_the_bus_rule_feeds_the_functions_queue() -> None:
    (rule,) = [r for r in bus_rules() if r.function == FUNCTION]

    assert rule.queue == "StorySegmentsQueue"
    assert rule.pattern == {"detail-type": ["story_segments"]}


def test_an_eventbridge_event_goes_through_the_queue_and_is_announced(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    pipes.put_event({"request_id": "req-eb", "prompt": "A robot learns to paint", "segment_count": 2})

    assert pipes.queue.poll_once(wait_seconds=0) == 1  # the rule put the event in the queue

    assert result(invoke, "req-eb")[1]["status"] == "succeeded"
    assert [n["detail-type"] for n in pipes.notifications()] == ["GenerationCompleted"]


def test_an_eventbridge_event_that_keeps_failing_goes_to_the_dlq(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    stack.provider.faults({"kind": "server_error", "status": 500, "count": 100})
    pipes.put_event({"request_id": "req-eb-doomed", "prompt": "x", "segment_count": 1})

    receives = 0
    while pipes.queue.poll_once(wait_seconds=0):
        receives += 1
        assert receives <= 3

    (dead,) = pipes.dead_letters()
    assert dead["detail"]["request_id"] == "req-eb-doomed"
    assert len(stack.provider.requests()) == 9, "3 attempts per receive, 3 receives"
    assert result(invoke, "req-eb-doomed")[1]["status"] == "failed"
    assert [n["detail-type"] for n in pipes.notifications()] == ["GenerationFailed"]


def test_the_sample_eventbridge_event_runs_directly(stack: Stack, invoke: Invoke, pipes: Pipes) -> None:
    answer, _ = pipes.queue.runtime.invoke(FUNCTION, load_event("story_segments_eventbridge.json"))

    assert answer == {"request_id": "pipeline-2026-11-24-0002", "status": "succeeded"}


def test_idempotency_key_over_http(stack: Stack, invoke: Invoke, api_event: Any) -> None:
    handler = load_handler(functions()[FUNCTION])
    key = f"order-{uuid.uuid4().hex}"  # the session's idempotency table is shared: a key of its own

    def post(body: dict[str, Any]) -> dict[str, Any]:
        event = api_event("POST", "/stories/segments", body)
        event["headers"]["Idempotency-Key"] = key
        response: dict[str, Any] = handler(event, LocalLambdaContext(function_name=FUNCTION))
        return response

    first = post({"prompt": "A robot learns to paint", "segment_count": 2})
    again = post({"prompt": "A robot learns to paint", "segment_count": 2})
    other = post({"prompt": "Something else", "segment_count": 2})

    assert first["statusCode"] == again["statusCode"] == 200
    assert json.loads(again["body"]) == json.loads(first["body"])
    assert again["multiValueHeaders"]["Idempotency-Key"] == [key]
    assert len(stack.provider.requests()) == 1
    assert other["statusCode"] == 409
    assert "different request" in json.loads(other["body"])["message"]


def test_unknown_and_malformed_result_ids(stack: Stack, invoke: Invoke, pipes: Pipes) -> None:
    assert result(invoke, "never-sent")[0] == 404
    assert result(invoke, "bad id with spaces")[0] == 422


def refused_once(stack: Stack, invoke: Invoke, pipes: Pipes, request_id: str) -> dict[str, Any]:
    """Delivers the one message sent: it is refused on its first receive, stored as a failed 422
    under `request_id`, announced and deleted, with no provider call and nothing dead-lettered.
    Returns the stored result."""
    assert pipes.queue.poll_once(wait_seconds=0) == 1
    assert pipes.queue.poll_once(wait_seconds=0) == 0, "the message was deleted, not handed back"
    stored = result(invoke, request_id)[1]
    assert (stored["status"], stored["status_code"]) == ("failed", 422)
    assert [n["detail-type"] for n in pipes.notifications()] == ["GenerationFailed"]
    assert pipes.dead_letters() == []
    assert stack.provider.requests() == []
    return stored


@pytest.mark.slow  # several 1 s breaker cooldowns
def test_an_outage_longer_than_the_receives_dead_letters_nothing(
    stack: Stack, invoke: Invoke, pipes: Pipes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider fails for several breaker cooldowns; every message meeting the open breaker
    is handed back (re-sent with a delay, its attempts carried), none reaches the DLQ, each is
    generated once the provider is back."""
    monkeypatch.setenv("BREAKER_MIN_CALLS", "2")
    monkeypatch.setenv("BREAKER_COOLDOWN_SECONDS", "1")
    stack.provider.faults({"kind": "server_error", "status": 500, "count": 6})
    ids = [f"req-outage-{n}" for n in range(6)]
    for request_id in ids:
        pipes.send(request_id, {"prompt": "A robot learns to paint", "segment_count": 1})

    deliveries = 0
    for _ in range(60):
        deliveries += pipes.queue.poll_once(wait_seconds=1)
        if all(result(invoke, request_id)[0] == 200 for request_id in ids):
            break

    assert pipes.dead_letters() == []
    for request_id in ids:
        status, stored = result(invoke, request_id)
        assert status == 200, request_id
        assert stored["status"] == "succeeded", stored
    assert deliveries > len(ids) * 3, "the outage outlasted MaxReceiveCount deliveries per message"
    assert sorted(n["detail"]["request_id"] for n in pipes.notifications()) == sorted(ids)
    assert pipes.queue.errors == []


def test_a_handed_back_copy_carries_its_attempts_and_ends_in_the_dlq_when_spent(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    """Real failures still count: a copy that carries MaxReceiveCount - 1 attempts gets one more."""
    stack.provider.faults({"kind": "server_error", "status": 500, "count": 100})
    body = json.dumps({"request_id": "req-spent", "request": {"prompt": "x", "segment_count": 1}})
    pipes.sqs.send_message(
        QueueUrl=pipes.queue.queue_url,
        MessageBody=body,
        MessageAttributes={"contentgen-attempts": {"DataType": "Number", "StringValue": "2"}},
    )

    receives = 0
    while pipes.queue.poll_once(wait_seconds=0):
        receives += 1
        assert receives <= 3

    assert [dead["request_id"] for dead in pipes.dead_letters()] == ["req-spent"]
    assert result(invoke, "req-spent")[1]["status"] == "failed"
    provider_calls = len(stack.provider.requests())
    assert 1 <= provider_calls <= 3, "one invocation's retries, not three invocations'"


def test_a_request_id_reused_on_another_route_is_refused_not_generated_twice(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    pipes.send("req-shared", {"prompt": "A robot learns to paint", "segment_count": 1})
    pipes.queue.poll_once(wait_seconds=0)
    calls = len(stack.provider.requests())
    event = load_event("story_segments_sqs.json")
    event["Records"][0]["body"] = json.dumps(
        {"request_id": "req-shared", "request": {"prompt": "When the code works", "segment_count": 2}}
    )

    answer, _ = pipes.queue.runtime.invoke("MemeSegmentsFunction", event)

    assert answer["batchItemFailures"] == []  # refused for good, not retried into the DLQ
    assert len(stack.provider.requests()) == calls, "nothing generated (nor paid) for the reuse"
    stored = result(invoke, "req-shared")[1]
    assert stored["route"] == "/stories/segments"
    assert stored["status"] == "succeeded"
    failed = [n["detail"] for n in pipes.notifications() if n["detail-type"] == "GenerationFailed"]
    (refusal,) = failed
    assert refusal["route"] == "/memes/segments"
    assert "another route" in refusal["error"]


@pytest.mark.parametrize("request_value", [[{"prompt": "x"}], "x", 7])
def test_a_message_whose_request_is_not_an_object_is_stored_as_422_and_deleted(
    stack: Stack, invoke: Invoke, pipes: Pipes, request_value: Any
) -> None:
    request_id = f"req-not-object-{type(request_value).__name__}"
    body = json.dumps({"request_id": request_id, "request": request_value})
    pipes.sqs.send_message(QueueUrl=pipes.queue.queue_url, MessageBody=body)

    stored = refused_once(stack, invoke, pipes, request_id)

    assert stored["error"]["errors"][0]["field"] == "request"


def test_an_invalid_request_is_stored_once_and_never_reaches_the_dlq(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    pipes.send("req-invalid-once", {"prompt": "", "segment_count": 0})

    assert pipes.queue.poll_once(wait_seconds=0) == 1
    assert pipes.queue.poll_once(wait_seconds=0) == 0

    assert result(invoke, "req-invalid-once")[1]["status_code"] == 422
    assert pipes.dead_letters() == []


def test_an_event_whose_request_is_not_an_object_is_stored_as_422(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    event = load_event("story_segments_eventbridge.json")
    event["detail"] = {"request_id": "req-eb-array", "request": [{"prompt": "x"}]}

    answer, _ = pipes.queue.runtime.invoke(FUNCTION, event)

    assert answer == {"request_id": "req-eb-array", "status": "failed"}
    assert result(invoke, "req-eb-array")[1]["status_code"] == 422
    assert [n["detail-type"] for n in pipes.notifications()] == ["GenerationFailed"]


@pytest.mark.parametrize("api_key_id", [42, "", None, ["key-1"]])
def test_a_message_with_an_invalid_api_key_id_is_stored_as_422_naming_it_and_deleted(
    stack: Stack, invoke: Invoke, pipes: Pipes, api_key_id: Any
) -> None:
    # The rule for a readable request_id: whatever else is wrong is stored under it (a 422), not
    # sent to the DLQ. `null` is "no key id" (charged to PIPELINE_API_KEY_ID) and is served.
    request_id = f"req-bad-key-{type(api_key_id).__name__}"
    message = {"request_id": request_id, "request": {"prompt": "x", "segment_count": 1}}
    pipes.sqs.send_message(
        QueueUrl=pipes.queue.queue_url, MessageBody=json.dumps({**message, "api_key_id": api_key_id})
    )

    assert pipes.queue.poll_once(wait_seconds=0) == 1
    assert pipes.queue.poll_once(wait_seconds=0) == 0, "the message was deleted, not handed back"

    stored = result(invoke, request_id)[1]
    assert pipes.dead_letters() == []
    if api_key_id is None:
        assert (stored["status"], stored["status_code"]) == ("succeeded", 200)
        return
    assert (stored["status"], stored["status_code"]) == ("failed", 422)
    assert stored["error"]["errors"][0]["field"] == "api_key_id"
    assert [n["detail-type"] for n in pipes.notifications()] == ["GenerationFailed"]
    assert stack.provider.requests() == []


def test_an_event_with_an_invalid_api_key_id_is_stored_as_422(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    event = load_event("story_segments_eventbridge.json")
    event["detail"] = {
        "request_id": "req-eb-key",
        "request": {"prompt": "x", "segment_count": 1},
        "api_key_id": 42,
    }

    answer, _ = pipes.queue.runtime.invoke(FUNCTION, event)

    assert answer == {"request_id": "req-eb-key", "status": "failed"}
    stored = result(invoke, "req-eb-key")[1]
    assert stored["status_code"] == 422
    assert stored["error"]["errors"][0]["field"] == "api_key_id"
    assert stack.provider.requests() == []


def test_the_same_request_re_serialised_in_a_message_is_a_replay(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    pipes.sqs.send_message(
        QueueUrl=pipes.queue.queue_url,
        MessageBody=json.dumps({"request_id": "req-canon", "request": {"prompt": "x", "segment_count": 1}}),
    )
    pipes.sqs.send_message(
        QueueUrl=pipes.queue.queue_url,
        MessageBody='{ "request": {"segment_count":1,  "prompt":"x"},\n "request_id":"req-canon"}',
    )

    while pipes.queue.poll_once(wait_seconds=0):
        pass

    assert len(stack.provider.requests()) == 1
    assert pipes.dead_letters() == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [("not json", "not valid JSON"), ('{"request": {"prompt": "x"}}', "request_id"), ("[1]", "message")],
)
def test_a_malformed_message_is_logged_when_it_arrives(
    stack: Stack, pipes: Pipes, log_output: io.StringIO, body: str, reason: str
) -> None:
    event = load_event("story_segments_sqs.json")
    event["Records"][0]["body"] = body

    answer, _ = pipes.queue.runtime.invoke(FUNCTION, event)

    message_id = event["Records"][0]["messageId"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    (line,) = [r for r in log_records(log_output) if r["message"] == "malformed message"]
    assert line["level"] == "WARNING"
    assert line["message_id"] == message_id
    assert reason in line["reason"]


def test_a_refused_message_on_another_route_leaves_the_result_alone(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    """The probe's case: a story's paid result, then a malformed message with its id to the memes
    queue: refused (the id belongs to /stories/segments), nothing stored over the story."""
    pipes.send("req-cross", {"prompt": "A robot learns to paint", "segment_count": 1})
    pipes.queue.poll_once(wait_seconds=0)
    first = result(invoke, "req-cross")[1]
    event = load_event("story_segments_sqs.json")
    event["Records"][0]["body"] = json.dumps({"request_id": "req-cross", "request": [1, 2]})

    answer, _ = pipes.queue.runtime.invoke("MemeSegmentsFunction", event)

    assert answer["batchItemFailures"] == []
    assert result(invoke, "req-cross")[1] == first


def test_an_empty_provider_account_is_stored_failed_at_once_not_redelivered(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    # OpenRouter 402 "insufficient credits" (https://openrouter.ai/docs/api-reference/errors): no
    # receive can fix it until a person adds credits, so it is final on the first receive.
    stack.provider.faults(
        {
            "kind": "raw",
            "target": "openai",
            "status": 402,
            "body": {"error": {"code": 402, "message": "Insufficient credits"}},
            "count": 10,
        }
    )
    pipes.send("req-no-credits", {"prompt": "x", "segment_count": 1})

    assert pipes.queue.poll_once(wait_seconds=0) == 1
    assert pipes.queue.poll_once(wait_seconds=0) == 0, "the message was deleted, not redelivered"

    stored = result(invoke, "req-no-credits")[1]
    assert stored["status"] == "failed"
    assert stored["error"]["code"] == "provider_insufficient_credits"
    assert len(stack.provider.requests()) == 1
    assert pipes.dead_letters() == []
    assert [n["detail-type"] for n in pipes.notifications()] == ["GenerationFailed"]


def test_a_busy_provider_naming_a_wait_hands_the_message_back_after_it(
    stack: Stack, invoke: Invoke, pipes: Pipes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 5xx that names a wait (OpenRouter's 503 "No available model provider" with Retry-After,
    https://openrouter.ai/docs/api-reference/errors) is a come-back-later like a 429: the message
    is sent again, delayed by the wait and carrying its one attempt and its binary attributes;
    the original is deleted, so the outage spends no receive and nothing is stored or dead-lettered."""
    import contentgen.entrypoints.redelivery as redelivery
    from contentgen.clients.aws import get_sqs_client

    sent: list[dict[str, Any]] = []
    sqs = get_sqs_client()

    def send_message(**kwargs: Any) -> Any:
        sent.append(kwargs)
        return sqs.send_message(**kwargs)

    monkeypatch.setattr(redelivery, "get_sqs_client", lambda: SimpleNamespace(send_message=send_message))
    stack.provider.faults(
        {
            "kind": "raw",
            "target": "openai",
            "status": 503,
            "body": {"error": {"code": 503, "message": "No available model provider"}},
            "headers": {"Retry-After": "120"},
            "count": 10,
        }
    )
    body = json.dumps({"request_id": "req-busy", "request": {"prompt": "x", "segment_count": 1}})
    pipes.sqs.send_message(
        QueueUrl=pipes.queue.queue_url,
        MessageBody=body,
        MessageAttributes={"trace": {"DataType": "Binary", "BinaryValue": b"\x00\xffid"}},
    )

    assert pipes.queue.poll_once(wait_seconds=0) == 1
    assert pipes.queue.poll_once(wait_seconds=0) == 0, "the copy waits out the provider's 120 s"

    (copy,) = sent
    assert copy["DelaySeconds"] == 120
    assert copy["MessageBody"] == body
    assert copy["MessageAttributes"]["contentgen-attempts"]["StringValue"] == "1"
    assert copy["MessageAttributes"]["trace"] == {"DataType": "Binary", "BinaryValue": b"\x00\xffid"}
    delayed = pipes.sqs.get_queue_attributes(
        QueueUrl=pipes.queue.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]["ApproximateNumberOfMessagesDelayed"]
    assert delayed == "1"
    assert result(invoke, "req-busy")[0] == 404, "nothing stored: the request is still to be run"
    assert len(stack.provider.requests()) == 1
    assert pipes.dead_letters() == []
    assert pipes.queue.errors == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [("NaN", "NaN"), ("Infinity", "Infinity"), ("1" + "0" * 100, "more than 100 digits")],
    ids=["NaN", "Infinity", "101 digits"],
)
def test_a_message_past_the_number_bounds_is_stored_as_422_naming_the_field_not_dead_lettered(
    stack: Stack, invoke: Invoke, pipes: Pipes, value: str, reason: str
) -> None:
    # Python's json.dumps writes NaN by default: the message's request_id is readable, so the
    # request is refused under it (issue 15), like any invalid request.
    request_id = f"req-num-{reason.split()[0].lower()}"
    body = f'{{"request_id": "{request_id}", "request": {{"prompt": "x", "segment_count": {value}}}}}'
    pipes.sqs.send_message(QueueUrl=pipes.queue.queue_url, MessageBody=body)

    stored = refused_once(stack, invoke, pipes, request_id)

    assert stored["error"]["errors"][0]["field"] == "segment_count"
    assert reason in stored["error"]["errors"][0]["message"]


def test_an_eventbridge_event_through_the_queue_past_the_bounds_is_stored_as_422(
    stack: Stack, invoke: Invoke, pipes: Pipes
) -> None:
    event = load_event("story_segments_eventbridge.json")
    event["detail"] = {"request_id": "req-eb-queued-nan", "request": {"prompt": "x", "segment_count": 1}}
    body = json.dumps(event).replace('"segment_count": 1', '"segment_count": NaN')
    pipes.sqs.send_message(QueueUrl=pipes.queue.queue_url, MessageBody=body)

    assert pipes.queue.poll_once(wait_seconds=0) == 1

    stored = result(invoke, "req-eb-queued-nan")[1]
    assert (stored["status_code"], stored["error"]["errors"][0]["field"]) == (422, "segment_count")
    assert pipes.dead_letters() == []


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "field"),
    [(float("nan"), "segment_count"), (10**100, "segment_count"), (nested(32), "style")],
    ids=["NaN", "101 digits", "33 levels"],
)
def test_an_eventbridge_event_past_the_bounds_is_stored_as_422_naming_the_field(
    stack: Stack, invoke: Invoke, pipes: Pipes, value: Any, field: str
) -> None:
    request_id = f"req-eb-bounds-{type(value).__name__}"
    event = load_event("story_segments_eventbridge.json")
    event["detail"] = {"request_id": request_id, "request": {"prompt": "x", "segment_count": 1}}
    event["detail"]["request"][field] = value

    answer, _ = pipes.queue.runtime.invoke(FUNCTION, event)

    assert answer == {"request_id": request_id, "status": "failed"}
    stored = result(invoke, request_id)[1]
    assert stored["status_code"] == 422
    assert stored["error"]["errors"][0]["field"].split(".")[0] == field
    assert stack.provider.requests() == []


@pytest.mark.parametrize(
    "detail",
    ["x", [1], None, {"request": {"prompt": "x"}}, {"request_id": float("nan"), "request": {}}],
    ids=["string", "array", "null", "no request_id", "NaN request_id"],
)
def test_an_eventbridge_event_without_a_readable_request_id_raises_one_named_error(
    stack: Stack, pipes: Pipes, detail: Any
) -> None:
    from contentgen.entrypoints.envelope import UnusableEventError

    event = load_event("story_segments_eventbridge.json")
    event["detail"] = detail

    with pytest.raises(UnusableEventError, match="detail has no readable request_id"):
        pipes.queue.runtime.invoke(FUNCTION, event)
    assert stack.provider.requests() == []


@pytest.mark.parametrize(
    ("records", "problem"),
    [
        ([1, 2], r"Records\[0\] must be an SQS record object, not a number"),
        ([{"eventSource": "aws:sqs"}], r"Records\[0\]\.messageId must be a non-empty string, not null"),
        ([{"eventSource": "aws:sqs", "messageId": "m", "body": "{}"}, "x"], r"Records\[1\]"),
    ],
)
def test_a_batch_with_a_record_without_message_id_raises_one_named_error(
    stack: Stack, pipes: Pipes, records: list[Any], problem: str
) -> None:
    from contentgen.entrypoints.envelope import UnusableEventError

    with pytest.raises(UnusableEventError, match=problem):
        pipes.queue.runtime.invoke(FUNCTION, {"Records": records})
    assert stack.provider.requests() == []


@pytest.mark.parametrize(
    "changes",
    [{"body": None}, {"body": 5}, {"body": {"request_id": "x"}}, {"eventSource": "aws:s3"}],
    ids=["no body", "number body", "object body", "not sqs"],
)
def test_a_record_with_a_message_id_but_no_usable_body_fails_alone(
    stack: Stack, invoke: Invoke, pipes: Pipes, changes: dict[str, Any]
) -> None:
    event = load_event("story_segments_sqs.json")
    template = event["Records"][0]
    good = {"request_id": "req-beside-odd", "request": {"prompt": "x", "segment_count": 1}}
    odd = {**template, "messageId": "odd", **changes}
    event["Records"] = [odd, {**template, "messageId": "good", "body": json.dumps(good)}]

    answer, _ = pipes.queue.runtime.invoke(FUNCTION, event)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "odd"}]}
    assert result(invoke, "req-beside-odd")[1]["status"] == "succeeded"
