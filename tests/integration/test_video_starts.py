"""Paid video starts that are never sent twice nor lost, and checks that never wait, over the wire.

google-genai over HTTP to the loopback emulator (its `drop` fault reads the request, then closes
the connection without answering), boto3 to the moto server, the functions' own handlers.
"""

from __future__ import annotations

import json
import secrets
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from contentgen.billing.prices import video_cost
from contentgen.catalog import default_chain, video_price_usd
from contentgen.clients.aws import get_dynamodb_client, get_sqs_client
from contentgen.errors import ProviderUnavailableError
from contentgen.generation.videos import start_video
from contentgen.services.videos import START_WINDOW_SECONDS
from contentgen.stores.jobs import VideoJob, create_job, get_job
from local.aws import client
from local.event_sources import QueuePoller
from local.lambda_context import LocalLambdaContext
from local.template import physical_name
from tests.conftest import load_event, log_records
from tests.integration.conftest import Invoke, Owned, Stack
from tests.integration.test_event_sources import result
from tests.integration.test_idempotency_keys import VIDEO, post, provider_calls
from tests.integration.test_spend import fixed_clock, handler_for, ledger, new_key  # noqa: F401 (fixture)
from tests.integration.test_videos import job_status, run_worker, start, videos  # noqa: F401 (fixture)

# The default video model's price per second (the model catalog), as a charge is computed.
_PER_SECOND = video_price_usd(default_chain("video")[0]) or Decimal(0)

VIDEO_MODEL = default_chain("video")[0]

pytestmark = pytest.mark.integration

START = "GenerateVideoFunction"
WORKER = "VideoWorkerFunction"


# --- 1: a connection dropped after the start was sent ---------------------------------------------


@pytest.mark.usefixtures("fixed_clock")
def test_a_start_whose_connection_dropped_after_sending_is_not_sent_again(
    stack: Stack, api_event: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Veo may have received and started it (and will bill it): neither the SDK's own retry nor
    the call policy sends it again; the answer is the unconfirmed 504, charged once and kept."""
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    stack.provider.faults({"kind": "drop", "target": "gemini"})
    tenant, key = new_key(), f"video-{uuid.uuid4().hex[:8]}"

    status, answer, _ = post(api_event, "/videos", VIDEO, idempotency_key=key, api_key_id=tenant)
    again = post(api_event, "/videos", VIDEO, idempotency_key=key, api_key_id=tenant)

    assert status == 504, answer
    assert answer["code"] == "provider_timeout"
    assert answer["unconfirmed_paid_work"] is True
    assert "closed the connection without answering" in answer["message"]
    assert "may have started" in answer["message"]
    assert answer["usage"]["cost_usd"] == float(_PER_SECOND * 6), "6 s at its price: the upper bound"
    assert again[1] == answer, "the repeat is the first answer"
    assert provider_calls(stack, ":predictLongRunning") == 1, "the start was sent once"
    assert Decimal(ledger(stack, tenant, "2026-11-30")["cost_usd"]["N"]) == _PER_SECOND * 6, "charged once"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_start_that_could_not_connect_is_retried_and_not_unconfirmed(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before any byte was sent (httpx ConnectError): nothing can have started."""
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    nobody = f"http://127.0.0.1:{_closed_port()}"
    # google-genai 3.4 picks the base URL before it reads GOOGLE_GENAI_USE_VERTEXAI (client.py
    # `get_base_url(vertexai or False, ...)`), so a Vertex AI client built without `vertexai=`
    # takes GOOGLE_GEMINI_BASE_URL: both point nowhere.
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", nobody)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", nobody)
    with pytest.raises(ProviderUnavailableError) as raised:
        start_video("a paper boat", aspect_ratio="9:16", duration_seconds=6, models=[VIDEO_MODEL])

    assert raised.value.unconfirmed_paid_work is False
    assert "could not be reached after 3 attempts" in raised.value.message
    assert "ConnectError" in raised.value.message


# --- 2: a started video whose job record fails to write --------------------------------------------


def _refuse_writes_of_operations(params: dict[str, Any], **_: Any) -> None:
    """The job table refuses every write that carries an operation (DynamoDB unavailable then)."""
    if params.get("TableName") != physical_name("VideoJobsTable"):
        return
    if "operation_name" in params.get("Item", {}) or "operation_name =" in params.get("UpdateExpression", ""):
        raise ClientError(
            {"Error": {"Code": "InternalServerError", "Message": "injected: the table is unavailable"}},
            "UpdateItem" if "UpdateExpression" in params else "PutItem",
        )


@pytest.fixture
def job_writes_fail() -> Iterator[Callable[[], None]]:
    events = get_dynamodb_client().meta.events
    names = ("before-parameter-build.dynamodb.PutItem", "before-parameter-build.dynamodb.UpdateItem")
    for name in names:
        events.register(name, _refuse_writes_of_operations)

    def heal() -> None:
        for name in names:
            events.unregister(name, _refuse_writes_of_operations)

    yield heal
    heal()


def test_a_started_video_whose_record_fails_is_answered_found_and_finished(
    stack: Stack,
    invoke: Invoke,
    videos: QueuePoller,  # noqa: F811 (fixture)
    job_writes_fail: Callable[[], None],
    log_output: Any,
) -> None:
    stack.provider.configure(video_polls=1)

    accepted = start(invoke, duration_seconds=6)

    job_writes_fail()  # DynamoDB is back for the worker
    job_id = accepted["job_id"]
    lost = [r for r in log_records(log_output) if r["message"] == "video start not recorded"]
    assert len(lost) == 1
    assert lost[0]["level"] == "ERROR"
    assert lost[0]["job_id"] == job_id
    assert "/operations/" in lost[0]["operation"]
    assert job_status(invoke, job_id)[1]["status"] == "pending", "the job is found"
    assert run_worker(videos, invoke, job_id) == ["succeeded"], "the first check records the operation"
    job = job_status(invoke, job_id)[1]
    assert job["video_url"]
    assert job["usage"]["cost_usd"] == float(_PER_SECOND * 6)
    assert provider_calls(stack, ":predictLongRunning") == 1


@pytest.mark.parametrize("reader", ["status", "worker"])
def test_a_job_whose_start_was_never_recorded_fails_once_its_start_cannot_be_running(
    stack: Stack,
    invoke: Invoke,
    videos: QueuePoller,  # noqa: F811 (fixture)
    reader: str,
) -> None:
    """The start function stopped between writing the job and recording its operation."""
    written = int(time.time()) - START_WINDOW_SECONDS - 60
    job_id = secrets.token_urlsafe(16)
    request = {"prompt": "a paper boat", "aspect_ratio": "9:16", "duration_seconds": 8}
    create_job(VideoJob(job_id, "pending", None, VIDEO_MODEL, request, written, written, written + 1200))

    if reader == "worker":
        event = load_event("video_worker.json")
        event["Records"][0]["body"] = json.dumps({"job_id": job_id})
        assert videos.runtime.invoke(WORKER, event)[0] == {"batchItemFailures": []}
    status, job = job_status(invoke, job_id)

    assert status == 200
    assert job["status"] == "failed"
    assert job["error_code"] == "start_unconfirmed"
    assert "may have been started (and billed)" in job["error"]
    assert job["usage"]["cost_usd"] == video_cost(VIDEO_MODEL, 8), "the upper bound: 8 s x its price"
    assert stack.provider.requests() == []


def test_a_job_whose_start_is_still_running_stays_pending(
    stack: Stack,
    invoke: Invoke,
    videos: QueuePoller,  # noqa: F811 (fixture)
) -> None:
    now = int(time.time())
    job_id = secrets.token_urlsafe(16)
    create_job(VideoJob(job_id, "pending", None, VIDEO_MODEL, {"duration_seconds": 8}, now, now, now + 1200))

    assert job_status(invoke, job_id)[1]["status"] == "pending"


def _refuse_job_writes(params: dict[str, Any], **_: Any) -> None:
    if params.get("TableName") == physical_name("VideoJobsTable"):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem"
        )


def test_a_job_that_cannot_be_written_starts_nothing(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    events = get_dynamodb_client().meta.events
    events.register("before-parameter-build.dynamodb.PutItem", _refuse_job_writes)
    try:
        status, answer = invoke(START, {"prompt": "A paper boat on a rainy street"})
    finally:
        events.unregister("before-parameter-build.dynamodb.PutItem", _refuse_job_writes)

    assert status == 503, answer
    assert answer["code"] == "job_store_unavailable"
    assert "no video was started" in answer["message"]
    assert stack.provider.requests() == []


def test_a_start_that_definitely_failed_leaves_no_job(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    stack.provider.faults(
        {
            "kind": "raw",
            "target": "gemini",
            "status": 400,
            "body": {"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}},
        }
    )
    before = client("dynamodb", stack.aws_url).scan(
        TableName=physical_name("VideoJobsTable"), Select="COUNT"
    )["Count"]

    status, answer = invoke(START, {"prompt": "A paper boat on a rainy street"})

    assert status == 502, answer
    after = client("dynamodb", stack.aws_url).scan(TableName=physical_name("VideoJobsTable"), Select="COUNT")[
        "Count"
    ]
    assert after == before


# --- 3: a queued start that may have started --------------------------------------------------------


@pytest.fixture
def notifications(stack: Stack, owned: Owned) -> Callable[[], list[dict[str, Any]]]:
    """The events announced on this test's own bus since the last call (read and deleted)."""
    sqs = owned.sqs
    url = owned.inbox(owned.bus())

    def read() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found

    return read


@pytest.mark.parametrize("source", ["sqs", "eventbridge"])
def test_a_queued_start_that_may_have_started_is_stored_and_announced_at_once(
    stack: Stack,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    notifications: Callable[[], list[dict[str, Any]]],
    source: str,
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    stack.provider.faults({"kind": "drop", "target": "gemini"})
    request_id = f"video-{uuid.uuid4().hex[:8]}"
    context = LocalLambdaContext(function_name=START, timeout_seconds=29)
    if source == "sqs":
        event = load_event("story_segments_sqs.json")
        event["Records"][0]["body"] = json.dumps({"request_id": request_id, "request": VIDEO})
        event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "1"
        assert handler_for(START)(event, context) == {"batchItemFailures": []}, "deleted on its first receive"
    else:
        event = load_event("story_segments_eventbridge.json")
        event["detail"] = {"request_id": request_id, "request": VIDEO}
        assert handler_for(START)(event, context) == {"request_id": request_id, "status": "failed"}

    status, stored = result(invoke, request_id)
    assert status == 200, stored
    assert stored["status"] == "failed"
    assert stored["error"]["unconfirmed_paid_work"] is True
    assert [n["detail-type"] for n in notifications()] == ["GenerationFailed"]
    assert provider_calls(stack, ":predictLongRunning") == 1


# --- 4: a check never waits for the provider in the worker ------------------------------------------


@pytest.fixture
def scheduled() -> Iterator[list[dict[str, Any]]]:
    """The check messages the worker sends (`DelaySeconds` and body)."""
    sent: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        sent.append({"delay": params.get("DelaySeconds"), "body": json.loads(params["MessageBody"])})

    events = get_sqs_client().meta.events
    events.register("before-parameter-build.sqs.SendMessage", capture)
    yield sent
    events.unregister("before-parameter-build.sqs.SendMessage", capture)


@pytest.mark.parametrize(
    ("fault", "delay"),
    [
        # A 503 that names its wait (Retry-After, RFC 9110 §10.2.3).
        ({"kind": "raw", "target": "gemini", "status": 503, "headers": {"Retry-After": "2"},
          "body": {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}}, 2),
        # A 429 whose wait is Google's RetryInfo (https://cloud.google.com/apis/design/errors).
        ({"kind": "raw", "target": "gemini", "status": 429,
          "body": {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED", "details": [
              {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}]}}}, 3),
        ({"kind": "server_error", "status": 500, "target": "gemini"}, 1),  # no wait named: the poll delay
        ({"kind": "drop", "target": "gemini"}, 1),
    ],
    ids=["503-retry-after", "429-retry-info", "500", "dropped"],
)  # fmt: skip
def test_a_check_that_fails_is_rescheduled_through_the_queue_not_waited_out(
    stack: Stack,
    invoke: Invoke,
    videos: QueuePoller,  # noqa: F811 (fixture)
    monkeypatch: pytest.MonkeyPatch,
    scheduled: list[dict[str, Any]],
    fault: dict[str, Any],
    delay: int,
) -> None:
    monkeypatch.setenv("VIDEO_POLL_DELAY_SECONDS", "1")
    stack.provider.configure(video_polls=1)
    job_id = start(invoke)["job_id"]
    stack.provider.faults(fault)
    event = load_event("video_worker.json")
    event["Records"][0]["body"] = json.dumps({"job_id": job_id})
    scheduled.clear()
    checks_before = provider_calls(stack, ":fetchPredictOperation")

    assert videos.runtime.invoke(WORKER, event)[0] == {"batchItemFailures": []}, "no receive spent"

    assert provider_calls(stack, ":fetchPredictOperation") == checks_before + 1, "one request, no retry here"
    assert scheduled == [{"delay": delay, "body": {"job_id": job_id}}]
    job = get_job(job_id)
    assert job is not None
    assert job.status == "pending"
