"""Delivery semantics the platform and the providers document, forced over the wire (issue 22).

Real SDKs talk HTTP to the emulator (provider shapes cited in `local/emulator.py`), boto3 to moto.
Each test names the item of issue 22 it proves; none waits on a clock: short configured timeouts
and conditions (request counts, stored items, queue contents) decide.
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from contentgen.catalog import default_chain
from contentgen.clients.aws import get_events_client
from contentgen.config import get_settings
from contentgen.core.waits import seconds_until_pacific_midnight
from contentgen.stores.results import get_result
from local.event_sources import QueuePoller
from local.lambda_context import LocalLambdaContext
from local.runtime import LocalRuntime, load_handler
from local.template import functions, queue_sources
from tests.conftest import log_records
from tests.integration import test_event_sources
from tests.integration.conftest import Invoke, Stack
from tests.integration.test_event_sources import Pipes, result

pytestmark = pytest.mark.integration
pipes = test_event_sources.pipes  # the queue, bus rule, notifications and DLQ of the story function

CONTENT = "FreeContentFunction"
STORY = "StorySegmentsFunction"
THUMBNAIL = "GenerateThumbnailFunction"
CHARACTER = "AnalyzeCharacterFunction"
GEMINI_IMAGE = {"GOOGLE_GENAI_USE_VERTEXAI": "false", "IMAGE_MODEL": default_chain("image")[0]}


def provider_calls(log_output: io.StringIO) -> list[dict[str, Any]]:
    return [record for record in log_records(log_output) if record["message"] == "provider call"]


# -- 10. a per-day quota: 503 with Retry-After until the reset, no retry, breaker untouched ----------


def test_a_per_day_quota_429_is_answered_503_until_pacific_midnight_without_retries(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, log_output: io.StringIO
) -> None:
    for name, value in GEMINI_IMAGE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BREAKER_MIN_CALLS", "1")  # one counted failure would open the breaker
    stack.provider.faults({"kind": "quota_per_day", "target": "gemini", "count": 10})

    status, response = invoke(THUMBNAIL, {"prompt": "A fox in a lighthouse"}, raw=True)

    answer = json.loads(response["body"])
    assert status == 503, answer
    assert answer["code"] == "provider_quota_exhausted"
    assert "PerDay" in answer["message"]
    (retry_after,) = response["multiValueHeaders"]["Retry-After"]
    assert abs(int(retry_after) - seconds_until_pacific_midnight()) <= 5
    assert len(stack.provider.requests()) == 1, "a per-day quota is not retried"
    # Not counted by the breaker: the next request is sent (the quota answers it again).
    stack.provider.faults()
    status, _ = invoke(THUMBNAIL, {"prompt": "A fox in a lighthouse"})
    assert status == 200
    assert provider_calls(log_output)[0]["outcome"] == "quota_exhausted"


def test_pacific_midnight_follows_daylight_time() -> None:
    # 2026-12-06 12:00 UTC = 04:00 PST: the reset is 20 h away (08:00 UTC on the 7th).
    assert seconds_until_pacific_midnight(1796558400.0) == 20 * 3600
    # 2026-07-01 12:00 UTC = 05:00 PDT: 19 h to midnight PDT (07:00 UTC on 2 July).
    assert seconds_until_pacific_midnight(1782907200.0) == 19 * 3600
    # 2026-03-08 (US clocks spring forward) 07:00 UTC = 23:00 PST on the 7th: 1 h.
    assert seconds_until_pacific_midnight(1772953200.0) == 3600


# -- 11. BYOK: OpenRouter's fee plus the provider's charge -------------------------------------------


def test_byok_spend_includes_the_upstream_inference_cost(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults({"kind": "byok", "target": "openai", "content": "0.0001,0.002"})

    status, answer = invoke(CONTENT, {"prompt": "Three hooks for a video about lighthouses"})

    assert status == 200, answer
    assert answer["usage"]["cost_usd"] == pytest.approx(0.0021)


# -- 12. "Provider returned error": the upstream's name and words reach the caller and the log -------


def test_provider_returned_error_keeps_the_upstream_reason(
    stack: Stack, invoke: Invoke, log_output: io.StringIO
) -> None:
    stack.provider.faults({"kind": "provider_error", "target": "openai", "status": 400})

    status, answer = invoke(CONTENT, {"prompt": "Three hooks"})

    assert status == 502, answer
    assert "[Crucible]" in answer["message"]
    assert "supports at most 1 image per prompt" in answer["message"]
    (call,) = provider_calls(log_output)
    assert call["upstream_provider"] == "Crucible"
    assert "supports at most 1 image" in call["upstream_message"]


def test_the_upstream_reason_is_redacted_and_bounded(stack: Stack, invoke: Invoke) -> None:
    leaked = f"{'x' * 5000} key {stack.key}"
    stack.provider.faults({"kind": "provider_error", "target": "openai", "status": 400, "content": leaked})

    status, answer = invoke(CONTENT, {"prompt": "Three hooks"})

    assert status == 502
    assert stack.key not in json.dumps(answer)
    assert len(answer["message"]) < 1000


# -- 13. the provider could not download the caller's image_url: 422 naming it ---------------------


@pytest.mark.parametrize(
    "words", ["Timeout while downloading https://images.example.com/a.png.", "Error while downloading x.png."]
)
def test_an_image_the_provider_could_not_download_is_422_naming_image_url(
    stack: Stack, invoke: Invoke, words: str
) -> None:
    stack.provider.faults({"kind": "image_download", "target": "openai", "content": words})

    status, answer = invoke(CHARACTER, {"image_url": "https://images.example.com/a.png"})

    assert status == 422, answer
    assert [error["field"] for error in answer["errors"]] == ["image_url"]
    assert words.split(" http")[0].rstrip(".") in answer["message"]
    assert len(stack.provider.requests()) == 1, "the caller's URL is not retried"


# What the provider fetched is not an image (an HTML page, a login redirect): the caller's URL too.
# Each upstream body as the provider sends it, relayed by OpenRouter in `metadata.raw`
# (musistudio/claude-code-router#845): Gemini (AmberSahdev/Open-Interface#64), OpenAI
# (STranslate/STranslate#277), Anthropic (anthropics/claude-code#8646).
NOT_AN_IMAGE = {
    "Google": {
        "error": {"code": 400, "message": "Provided image is not valid", "status": "INVALID_ARGUMENT"}
    },
    "OpenAI": {
        "error": {
            "message": "You uploaded an unsupported image. Please make sure your image has of one the "
            "following formats: ['png', 'jpeg', 'gif', 'webp'].",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_image_format",
        }
    },
    "Anthropic": {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "Could not process image"},
    },
}


@pytest.mark.parametrize("provider_name", sorted(NOT_AN_IMAGE))
def test_an_image_url_that_is_not_an_image_is_422_naming_image_url(
    stack: Stack, invoke: Invoke, provider_name: str
) -> None:
    body = {
        "error": {
            "message": "Provider returned error",
            "code": 400,
            "metadata": {"raw": json.dumps(NOT_AN_IMAGE[provider_name]), "provider_name": provider_name},
        }
    }
    stack.provider.faults({"kind": "raw", "target": "openai", "status": 400, "body": body})

    status, answer = invoke(CHARACTER, {"image_url": "https://images.example.com/not-an-image.html"})

    assert status == 422, answer
    assert [error["field"] for error in answer.get("errors", [])] == ["image_url"], answer
    assert len(stack.provider.requests()) == 1, "the caller's URL is not retried"


# -- 2b. an answer trickled a byte at a time: the WHOLE attempt is bounded, not each read ----------
# httpx's read timeout bounds each socket read ("read: maximum duration to wait for a chunk of data
# to be received", https://www.python-httpx.org/advanced/timeouts/): a server that sends its status
# line and headers at once, then one space a second for 8 s, then a valid answer, is never cut by
# it. Both SDKs send through `connectors.http.PhasedTransport`, which bounds every request by the
# attempt's timeout and the invocation's deadline. Without it: 200 after 11.2 s on a 4 s deadline.
TRICKLE_SECONDS = 8
COMPLETION = {
    "id": "gen-trickle",
    "object": "chat.completion",
    "created": 1764500000,
    "model": "openai/gpt-6-luna",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Three hooks."}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13, "cost": 0.00001},
}


def _serve_trickled(conn: socket.socket, answered: list[bool]) -> None:
    try:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        while len(rest) < length:
            rest += conn.recv(65536)
        body = json.dumps(COMPLETION).encode()
        padding = TRICKLE_SECONDS
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {padding + len(body)}\r\n\r\n".encode()
        )
        for _ in range(padding):
            conn.sendall(b" ")
            time.sleep(1)
        conn.sendall(body)
        answered.append(True)
    except OSError:
        answered.append(False)  # the client closed the connection mid-trickle
    finally:
        conn.close()


@pytest.fixture
def trickler() -> Iterator[tuple[str, list[bool]]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()
    answered: list[bool] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_serve_trickled, args=(conn, answered), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", answered
    stop.set()
    server.close()


@pytest.mark.parametrize(
    ("function", "body", "base_url"),
    [
        ("FreeContentFunction", {"prompt": "Three hooks"}, "OPENROUTER_BASE_URL"),  # openai SDK
        ("GenerateThumbnailFunction", {"prompt": "A fox"}, "GOOGLE_GEMINI_BASE_URL"),  # google-genai
    ],
)
def test_an_answer_trickled_past_the_attempts_timeout_is_cut_for_both_sdks(
    stack: Stack,
    invoke: Invoke,
    trickler: tuple[str, list[bool]],
    monkeypatch: pytest.MonkeyPatch,
    function: str,
    body: dict[str, Any],
    base_url: str,
) -> None:
    url, answered = trickler
    if base_url == "OPENROUTER_BASE_URL":
        monkeypatch.setenv(base_url, f"{url}/api/v1")
    else:  # whichever Google backend the stack's settings choose (Vertex AI by the template's default)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", url)
        monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", url)
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("PROVIDER_MAX_ATTEMPTS", "1")
    get_settings.cache_clear()

    # A deadline far past the trickle: only the attempt's own 2 s bound can cut it (a 4 s
    # deadline left a loaded machine no time to make the attempt at all: 2026-12-07).
    status, answer = invoke(function, body, timeout_seconds=60)

    # Cut: the client closed the connection mid-trickle (the server could not finish its
    # answer), and the caller got a timeout, not an answer read to its end after 8 s.
    assert status == 504, (status, answer)
    for _ in range(600):  # the server thread notices the closed connection at its next write
        if answered:
            break
        time.sleep(0.1)
    assert answered, "the trickling server never finished"
    assert not any(answered), "the trickled answer was read to its end: only each read was bounded"


# -- 6. API Gateway's 29 s counted from requestTimeEpoch -------------------------------------------


def test_the_gateway_deadline_counts_from_request_time_epoch(
    stack: Stack, api_event: Any, log_output: io.StringIO
) -> None:
    """A request the gateway received 28 s ago (a cold start ate it) has no time for a provider
    call: 504 at once, nothing paid, although the handler itself has just started."""
    handler = load_handler(functions()[CONTENT])
    event = api_event("POST", "/content", {"prompt": "Three hooks"})
    event["requestContext"]["requestTimeEpoch"] = int((time.time() - 28) * 1000)

    response = handler(event, LocalLambdaContext(function_name=CONTENT, timeout_seconds=60))

    assert response["statusCode"] == 504, response["body"]
    assert json.loads(response["body"])["code"] == "deadline_exceeded"
    assert stack.provider.requests() == []


# -- 7. phase-level timeouts: a connect that hangs fails after the connect timeout ------------------


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A loopback listener that never accepts, its backlog filled: a connect to it hangs (the
    kernel drops the SYN), as to a host that does not answer."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):  # fill the accept queue (backlog 0 still admits one or two)
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(0.2)
    try:
        probe.connect(("127.0.0.1", port))
        pytest.skip("this kernel completes connects past a full backlog")
    except (TimeoutError, OSError):
        pass
    finally:
        probe.close()
    yield f"http://127.0.0.1:{port}"
    for filler in fillers:
        filler.close()
    listener.close()


@pytest.mark.parametrize("target", ["openai", "gemini"])
def test_a_hanging_connect_fails_after_the_connect_timeout_not_the_attempt(
    stack: Stack,
    invoke: Invoke,
    blackhole: str,
    monkeypatch: pytest.MonkeyPatch,
    log_output: io.StringIO,
    target: str,
) -> None:
    """Attempt timeout 600 s, connect timeout 0.3 s, 60 s to the deadline: with phase-level
    timeouts every attempt fails fast as a connection failure and all attempts are made; with
    one number per request the first connect would eat the whole time left. (The deadline is
    generous so that a loaded machine's slow set-up leaves room for all three attempts: under a
    6 s deadline, 2 of 3 loaded fresh-clone runs made fewer attempts on 2026-12-07.)"""
    monkeypatch.setenv("PROVIDER_CONNECT_TIMEOUT_SECONDS", "0.3")
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "600")
    monkeypatch.setenv("PROVIDER_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RETRY_BASE_DELAY_SECONDS", "0.01")
    monkeypatch.setenv("BREAKER_MIN_CALLS", "100")
    if target == "openai":
        monkeypatch.setenv("OPENROUTER_BASE_URL", f"{blackhole}/api/v1")
        function, body = CONTENT, {"prompt": "Three hooks"}
    else:
        for name, value in GEMINI_IMAGE.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", blackhole)
        function, body = THUMBNAIL, {"prompt": "A fox"}

    status, answer = invoke(function, body, timeout_seconds=60)

    assert status == 502, answer
    calls = provider_calls(log_output)
    assert [call["outcome"] for call in calls] == ["connection"] * 3, calls
    assert all("ConnectTimeout" in call.get("provider_message", "") for call in calls)


# -- 5. an SQS batch past the deadline: unreached records handed back, no attempt spent -------------


@pytest.fixture
def story_queue(stack: Stack) -> Iterator[QueuePoller]:
    source = next(s for s in queue_sources() if s.function == STORY)
    poller = QueuePoller(source, LocalRuntime(), stack.aws_url)
    sqs = poller.sqs
    sqs.set_queue_attributes(QueueUrl=poller.queue_url, Attributes={"VisibilityTimeout": "0"})
    _drain(sqs, poller.queue_url)
    yield poller
    _drain(sqs, poller.queue_url)
    sqs.set_queue_attributes(QueueUrl=poller.queue_url, Attributes={"VisibilityTimeout": "174"})


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    drained = []
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
    ).get("Messages", []):
        for message in messages:
            drained.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return drained


def sqs_batch(poller: QueuePoller, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """An SQS event as Lambda delivers it, each record already received once."""
    records = []
    for body in bodies:
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "rh",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": poller.queue_arn,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def test_records_not_reached_before_the_deadline_are_handed_back_without_an_attempt(
    stack: Stack, story_queue: QueuePoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch given less time than one attempt needs: the first record is tried (and fails,
    504 deadline_exceeded, as before), every later one is handed back untouched: a copy in the
    queue carrying the attempts made before (0), no provider call, nothing stored. Today they
    were all answered 504 and, on the last receive, stored as failures."""
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "1")  # the only receive: a failure is stored as final
    monkeypatch.setenv("DEADLINE_MARGIN_SECONDS", "0.5")
    monkeypatch.setenv("MIN_ATTEMPT_SECONDS", "5")  # more than the invocation has (2 s)
    ids = [f"req-late-{uuid.uuid4().hex[:8]}-{n}" for n in range(4)]
    bodies = [{"request_id": rid, "request": {"prompt": "A robot", "segment_count": 1}} for rid in ids]
    handler = load_handler(functions()[STORY])

    answer = handler(
        sqs_batch(story_queue, bodies), LocalLambdaContext(function_name=STORY, timeout_seconds=2)
    )

    assert stack.provider.requests() == []
    failed = [item["itemIdentifier"] for item in answer["batchItemFailures"]]
    assert len(failed) <= 1, "at most the first record (tried) fails"
    copies = _drain(story_queue.sqs, story_queue.queue_url)
    assert sorted(json.loads(copy["Body"])["request_id"] for copy in copies) == sorted(ids[1:])
    for copy in copies:
        assert copy["MessageAttributes"]["contentgen-attempts"]["StringValue"] == "0"
    assert [get_result(rid, os.environ["PIPELINE_API_KEY_ID"]) for rid in ids[1:]] == [None] * 3, (
        "nothing stored for a record not reached"
    )


# -- 8. PutEvents answering 200 with FailedEntryCount > 0 --------------------------------------------


def failing_put_events(failures: int) -> tuple[Any, dict[str, int]]:
    """A botocore `before-call` hook answering the next `failures` PutEvents with HTTP 200 and the
    entry failed, as EventBridge documents ("FailedEntryCount", an entry with `ErrorCode` and
    `ErrorMessage`; PutEvents API Reference, read 2026-12-06). moto's PutEvents never fails an
    entry, so the answer is given at the botocore level, before the request leaves."""
    left = {"n": failures}

    def before_call(params: Any, model: Any, **_: Any) -> Any:
        if model.name != "PutEvents" or left["n"] <= 0:
            return None
        left["n"] -= 1
        return (
            _Http200(),
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error"}],
                "ResponseMetadata": {"HTTPStatusCode": 200},
            },
        )

    return before_call, left


class _Http200:
    status_code = 200
    headers: dict[str, str] = {}


def test_a_failed_put_events_entry_is_retried_then_left_unnotified_for_the_next_delivery(
    stack: Stack, pipes: Pipes, log_output: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    """PutEvents answers 200 with the entry failed on all three tries of the first delivery: the
    result is stored un-notified, the metric counted, and the message handed back (an attempt,
    so the attempt budget bounds the hand-backs); its delivery replays the stored result (no
    provider call) and publishes the event once."""
    events = get_events_client()
    hook, left = failing_put_events(3)  # every try of the first delivery fails
    events.meta.events.register("before-call.eventbridge.PutEvents", hook)
    rid = f"req-events-{uuid.uuid4().hex[:8]}"
    try:
        pipes.send(rid, {"prompt": "A robot", "segment_count": 1})
        assert pipes.queue.poll_once(wait_seconds=0) == 1
        assert left["n"] == 0, "the failed entry was sent again: three tries"

        lines = log_records(log_output)
        assert any(line["message"] == "completion event not published" for line in lines)
        assert '"EventsNotPublished"' in capsys.readouterr().out, "the metric is emitted (EMF on stdout)"
        assert pipes.notifications() == []
        for _ in range(30):  # the copy is delayed by redelivery.UNPUBLISHED_RETRY_SECONDS
            if pipes.queue.poll_once(wait_seconds=1):
                break
    finally:
        events.meta.events.unregister("before-call.eventbridge.PutEvents", hook)

    notes = [note["detail"]["request_id"] for note in pipes.notifications()]
    assert notes == [rid]
    assert len(stack.provider.requests()) == 1, "the redelivery replays; nothing is generated twice"
    assert pipes.dead_letters() == []


def always_failing_put_events(code: str) -> Any:
    """A `before-call` hook failing every PutEvents entry with `code` (HTTP 200, FailedEntryCount 1)."""

    def before_call(params: Any, model: Any, **_: Any) -> Any:
        if model.name != "PutEvents":
            return None
        return (
            _Http200(),
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": code, "ErrorMessage": f"{code} (forced)"}],
                "ResponseMetadata": {"HTTPStatusCode": 200},
            },
        )

    return before_call


# NotAuthorizedForSourceException: "non-retryable"; InternalFailure: "retryable" but failing for good
# here (EventBridge API Reference, PutEventsResultEntry, ErrorCode).
@pytest.mark.parametrize("code", ["NotAuthorizedForSourceException", "InternalFailure"])
def test_a_completion_event_eventbridge_keeps_failing_ends_in_the_dlq_within_the_attempt_budget(
    stack: Stack, pipes: Pipes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    """A non-retryable entry error is not handed back: the message fails on each delivery and
    SQS dead-letters it after MAX_RECEIVE_COUNT receives. A retryable one is handed back, each
    hand-back an attempt: the copy that carries the last attempt fails, and SQS dead-letters
    that copy after its own MAX_RECEIVE_COUNT receives (a copy is a new message: its receive
    count starts again), so at most 2 x MAX_RECEIVE_COUNT - 1 deliveries. Either way the result
    is stored (generated once) and nothing loops."""
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")
    events = get_events_client()
    hook = always_failing_put_events(code)
    events.meta.events.register("before-call.eventbridge.PutEvents", hook)
    rid = f"req-unpublished-{uuid.uuid4().hex[:8]}"
    deliveries = 0
    dead: list[dict[str, Any]] = []
    try:
        pipes.send(rid, {"prompt": "A robot", "segment_count": 1})
        for _ in range(60):  # copies are delayed by UNPUBLISHED_RETRY_SECONDS; condition, not time
            if pipes.queue.poll_once(wait_seconds=1):
                deliveries += 1
            dead += pipes.dead_letters()
            if deliveries > 6 or dead:
                break
    finally:
        events.meta.events.unregister("before-call.eventbridge.PutEvents", hook)

    bound = 3 if code == "NotAuthorizedForSourceException" else 2 * 3 - 1
    assert deliveries <= bound, f"delivered {deliveries} times (never dead-lettered)"
    assert [message["request_id"] for message in dead] == [rid]
    assert len(stack.provider.requests()) == 1, "replays publish; nothing is generated twice"
    assert '"EventsDeadLettered"' in capsys.readouterr().out


# -- 14. image_url SSRF: read as the fetcher reads it, resolved, every answer public -----------------


@pytest.mark.parametrize(
    "url",
    [
        "https://localtest.me/a.png",
        "https://127.0.0.1.nip.io/a.png",
        "https://169.254.169.254.nip.io/latest/meta-data/",
        "https://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/a.png",
        "https://%31%32%37.0.0.1/a.png",
        "https://[::ffff:7f00:1]/a.png",
        "https://metadata.google.internal/computeMetadata/v1/",
    ],
)
def test_an_image_url_reaching_a_non_public_address_is_refused_before_any_provider_call(
    stack: Stack, invoke: Invoke, url: str
) -> None:
    status, answer = invoke(CHARACTER, {"image_url": url})

    assert status == 422, answer
    assert [error["field"] for error in answer["errors"]] == ["image_url"]
    assert stack.provider.requests() == []


# -- kinds: per-record state never carries into the next record; one outcome event per request id ---


def test_a_records_log_keys_do_not_carry_into_the_next_record(
    stack: Stack, story_queue: QueuePoller, log_output: io.StringIO
) -> None:
    rid = f"req-keys-{uuid.uuid4().hex[:8]}"
    good = {"request_id": rid, "request": {"prompt": "A robot", "segment_count": 1}}
    event = sqs_batch(story_queue, [good, {"not": "a generation message"}])
    handler = load_handler(functions()[STORY])

    handler(event, LocalLambdaContext(function_name=STORY))

    (malformed,) = [line for line in log_records(log_output) if line["message"] == "malformed message"]
    assert malformed["message_id"] == event["Records"][1]["messageId"]
    assert "request_id" not in malformed, "the first record's request_id leaked into the second's line"


def queue_is_empty(pipes: Pipes) -> bool:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    found = pipes.sqs.get_queue_attributes(QueueUrl=pipes.queue.queue_url, AttributeNames=names)["Attributes"]
    return all(int(found.get(name, 0)) == 0 for name in names)


def test_nothing_is_lost_with_deadlines_forced_short(
    stack: Stack, invoke: Invoke, pipes: Pipes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """N messages, a 3 s function timeout, slow provider answers, server errors and PutEvents
    failing entries: every message ends stored or dead-lettered (N = stored + dead-lettered, none
    lost), and every stored result is announced exactly once."""
    monkeypatch.setenv("DEADLINE_MARGIN_SECONDS", "0.5")
    monkeypatch.setenv("MIN_ATTEMPT_SECONDS", "1")
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "2")
    stack.provider.configure(latency_ms=700, api_key=stack.key, google_api_key=stack.google_key)
    stack.provider.faults({"kind": "server_error", "status": 500, "count": 3, "target": "openai"})
    pool = pipes.queue.runtime.pools[STORY]
    pool.spec = replace(pool.spec, timeout=3)  # the deadline forced short
    events = get_events_client()
    hook, _ = failing_put_events(4)  # one event's three tries, and the first of the next
    events.meta.events.register("before-call.eventbridge.PutEvents", hook)
    ids = [f"req-lost-{uuid.uuid4().hex[:6]}-{n}" for n in range(6)]
    try:
        for rid in ids:
            pipes.send(rid, {"prompt": "A robot learns to paint", "segment_count": 1})
        for _ in range(120):
            if not pipes.queue.poll_once(wait_seconds=1) and queue_is_empty(pipes):
                break
        else:
            pytest.fail("the queue never drained")
    finally:
        events.meta.events.unregister("before-call.eventbridge.PutEvents", hook)

    stored = {rid for rid in ids if result(invoke, rid)[0] == 200}
    dead = {letter["request_id"] for letter in pipes.dead_letters()} & set(ids)
    assert stored | dead == set(ids), f"lost: {set(ids) - stored - dead}"
    announced = [note["detail"]["request_id"] for note in pipes.notifications()]
    for rid in stored:
        assert announced.count(rid) == 1, (rid, announced.count(rid))
    assert pipes.queue.errors == []
