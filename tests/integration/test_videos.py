"""Videos as jobs over the wire: POST /videos, the worker fed by moto's queue, GET /videos/{id}.

The worker is driven by the same local event source mapping `make demo` uses (the template's SQS
event, the same handler, the queue in moto), one batch at a time.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from decimal import Decimal
from typing import Any

import pytest

from contentgen.catalog import default_chain, video_price_usd
from contentgen.clients.aws import get_s3_client
from contentgen.services.videos import advance_video_job
from contentgen.stores.jobs import VideoJob, create_job
from local.aws import client
from local.emulator import EmulatorServer
from local.event_sources import QueuePoller, sqs_event
from local.lambda_context import LocalLambdaContext
from local.runtime import load_handler
from local.template import functions, physical_name
from tests.conftest import load_event
from tests.integration.conftest import Invoke, Owned, Stack, _loaded, assert_refused

# The default video model's price per second (the model catalog), as a charge is computed.
_PER_SECOND = video_price_usd(default_chain("video")[0]) or Decimal(0)

pytestmark = pytest.mark.integration

START = "GenerateVideoFunction"

# Shut down 2026-06-30 (the Gemini API no longer serves Veo; contentgen.catalog).
RETIRED_DEVELOPER_API_VEO = "veo-3.0-generate-001"


@pytest.fixture
def videos(stack: Stack, owned: Owned, monkeypatch: pytest.MonkeyPatch) -> QueuePoller:
    """The video worker on this test's own job queue (the start function sends its checks there)."""
    monkeypatch.setenv("VIDEO_POLL_DELAY_SECONDS", "0")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    return owned.video_queue()


def drain(poller: QueuePoller) -> None:
    """Delete what earlier tests left visible (PurgeQueue is limited to once a minute)."""
    while True:
        messages = poller.sqs.receive_message(QueueUrl=poller.queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return
        for message in messages:
            poller.sqs.delete_message(QueueUrl=poller.queue_url, ReceiptHandle=message["ReceiptHandle"])


def job_status(invoke: Invoke, job_id: str) -> tuple[int, dict[str, Any]]:
    event = load_event("generate_video_status.json")
    event["path"] = f"/videos/{job_id}"
    event["pathParameters"] = {"job_id": job_id}
    handler = _loaded.setdefault(START, load_handler(functions()[START]))
    response = handler(event, LocalLambdaContext(function_name=START))
    return response["statusCode"], json.loads(response["body"])


def run_worker(poller: QueuePoller, invoke: Invoke, job_id: str, *, batches: int = 10) -> list[str]:
    """Deliver queue batches until the job ends; the statuses seen after each batch."""
    seen = []
    for _ in range(batches):
        poller.poll_once(wait_seconds=0)
        status = job_status(invoke, job_id)[1]["status"]
        seen.append(status)
        if status in ("succeeded", "failed"):
            break
    return seen


def start(invoke: Invoke, **body: Any) -> dict[str, Any]:
    status, accepted = invoke(START, {"prompt": "A paper boat on a rainy street", **body})
    assert status == 202, accepted
    return accepted


def test_job_goes_from_pending_to_succeeded_and_the_video_is_stored(
    stack: Stack, invoke: Invoke, videos: QueuePoller
) -> None:
    stack.provider.configure(video_polls=2)

    accepted = start(invoke, aspect_ratio="16:9", duration_seconds=6)

    assert accepted["status"] == "pending"
    assert job_status(invoke, accepted["job_id"])[1]["status"] == "pending"
    assert run_worker(videos, invoke, accepted["job_id"]) == ["running", "succeeded"]
    status, job = job_status(invoke, accepted["job_id"])
    assert status == 200
    assert job["checks"] == 2
    with urllib.request.urlopen(job["video_url"], timeout=30) as response:
        video = response.read()
    assert video[4:8] == b"ftyp"
    objects = client("s3", stack.aws_url).list_objects_v2(
        Bucket=physical_name("MediaBucket"), Prefix="videos/"
    )
    stored = [o["Key"] for o in objects.get("Contents", []) if accepted["job_id"] in o["Key"]]
    assert len(stored) == 1
    head = client("s3", stack.aws_url).head_object(Bucket=physical_name("MediaBucket"), Key=stored[0])
    assert head["ContentType"] == "video/mp4"
    started = stack.provider.requests()[0]
    assert started["path"].endswith(":predictLongRunning")
    assert started["body"]["parameters"]["aspectRatio"] == "16:9"
    assert started["body"]["parameters"]["durationSeconds"] == 6
    assert videos.errors == []


def test_job_failed_by_the_provider(stack: Stack, invoke: Invoke, videos: QueuePoller) -> None:
    stack.provider.configure(video_polls=1)
    stack.provider.faults({"kind": "video_failed", "reason": "Veo internal error", "target": "gemini"})

    accepted = start(invoke)

    assert run_worker(videos, invoke, accepted["job_id"]) == ["failed"]
    job = job_status(invoke, accepted["job_id"])[1]
    assert job["error"] == "provider error: Veo internal error"
    assert job["video_url"] is None


def test_filtered_video_fails_with_the_reason(stack: Stack, invoke: Invoke, videos: QueuePoller) -> None:
    stack.provider.configure(video_polls=1)
    stack.provider.faults({"kind": "filtered", "reason": "violates the usage guidelines", "target": "gemini"})

    accepted = start(invoke)

    assert run_worker(videos, invoke, accepted["job_id"]) == ["failed"]
    assert job_status(invoke, accepted["job_id"])[1]["error"] == "filtered: violates the usage guidelines"


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "video_failed", "reason": "Veo internal error", "target": "gemini"},
        {"kind": "filtered", "reason": "violates the usage guidelines", "target": "gemini"},
    ],
    ids=["failed", "filtered"],
)
def test_a_failed_or_filtered_video_stays_charged_and_shows_what_it_cost(
    stack: Stack, invoke: Invoke, videos: QueuePoller, fault: dict[str, Any]
) -> None:
    """Google documents no refund for a Veo operation that fails or whose video is filtered
    (contentgen.services.videos), so the charge of the start stays and the job says so (probe14 F9)."""
    import os
    from decimal import Decimal

    stack.provider.configure(video_polls=1)
    stack.provider.faults(fault)

    accepted = start(invoke, duration_seconds=8)

    assert run_worker(videos, invoke, accepted["job_id"]) == ["failed"]
    job = job_status(invoke, accepted["job_id"])[1]
    assert job["usage"] == accepted["usage"]
    assert job["usage"]["cost_usd"] == float(_PER_SECOND * 8), "8 s at the catalog's price per second"
    days = client("dynamodb", stack.aws_url).query(
        TableName=os.environ["SPEND_TABLE"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": os.environ["PIPELINE_API_KEY_ID"]}},
        ConsistentRead=True,
    )["Items"]
    charged = sum(Decimal(day["cost_usd"]["N"]) for day in days if "cost_usd" in day)
    assert charged == _PER_SECOND * 8, "the charge of the start is not taken back"


def test_job_fails_when_its_deadline_passes(
    stack: Stack, invoke: Invoke, videos: QueuePoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIDEO_JOB_DEADLINE_SECONDS", "0")
    stack.provider.configure(video_polls=100)

    accepted = start(invoke)

    assert run_worker(videos, invoke, accepted["job_id"]) == ["failed"]
    assert job_status(invoke, accepted["job_id"])[1]["error"].startswith("deadline passed")


def test_worker_called_twice_for_a_finished_job_stores_the_video_once(
    stack: Stack, invoke: Invoke, videos: QueuePoller
) -> None:
    stack.provider.configure(video_polls=1)
    accepted = start(invoke)
    assert run_worker(videos, invoke, accepted["job_id"]) == ["succeeded"]
    puts: list[str] = []
    get_s3_client().meta.events.register("before-call.s3.PutObject", lambda **_: puts.append("put"))
    calls_before = len(stack.provider.requests())
    event = load_event("video_worker.json")
    event["Records"][0]["body"] = json.dumps({"job_id": accepted["job_id"]})

    for _ in range(2):
        result, _ = videos.runtime.invoke("VideoWorkerFunction", event)
        assert result == {"batchItemFailures": []}

    assert puts == []
    assert len(stack.provider.requests()) == calls_before, "a finished job is not checked again"
    assert job_status(invoke, accepted["job_id"])[1]["checks"] == 1


def test_a_bad_record_fails_alone(stack: Stack, invoke: Invoke, videos: QueuePoller) -> None:
    stack.provider.configure(video_polls=1)
    accepted = start(invoke)
    good = {"MessageId": "m-good", "ReceiptHandle": "r1", "Body": json.dumps({"job_id": accepted["job_id"]})}
    bad = {"MessageId": "m-bad", "ReceiptHandle": "r2", "Body": "not json"}

    result, _ = videos.runtime.invoke("VideoWorkerFunction", sqs_event([good, bad], videos.queue_arn))

    assert result == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    assert job_status(invoke, accepted["job_id"])[1]["status"] == "succeeded"


def test_a_developer_api_video_is_fetched_with_files_download(
    stack: Stack,
    invoke: Invoke,
    videos: QueuePoller,
    monkeypatch: pytest.MonkeyPatch,
    emulator: EmulatorServer,
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    # The Developer API's Veo (files.download path) as it was before its shutdown on 2026-06-30:
    # the emulator judges the catalog on a day it was still served.
    stack.provider.configure(video_polls=1, today="2026-06-01")
    # google-genai 3.4 starts Veo on Vertex AI only; the Developer API's REST call starts it here.
    request = urllib.request.Request(
        f"{emulator.url}/v1beta/models/{RETIRED_DEVELOPER_API_VEO}:predictLongRunning",
        data=json.dumps({"instances": [{"prompt": "a paper boat"}]}).encode(),
        headers={"x-goog-api-key": stack.google_key, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        operation = json.loads(response.read())["name"]
    now = int(time.time())
    job_id = secrets.token_urlsafe(16)
    create_job(VideoJob(job_id, "pending", operation, RETIRED_DEVELOPER_API_VEO, {}, now, now, now + 600))

    assert advance_video_job(job_id) == "succeeded"

    paths = [request["path"] for request in stack.provider.requests()]
    assert any("/operations/" in path for path in paths), "operations.get on the Developer API"
    assert any(path.endswith(":download") for path in paths), "files.download fetched the video"
    job = job_status(invoke, job_id)[1]
    with urllib.request.urlopen(job["video_url"], timeout=30) as response:
        assert response.read()[4:8] == b"ftyp"


def test_a_job_whose_checks_stopped_reads_as_failed(
    stack: Stack, invoke: Invoke, videos: QueuePoller
) -> None:
    long_ago = int(time.time()) - 4000
    job_id = secrets.token_urlsafe(16)
    create_job(
        VideoJob(
            job_id, "running", "publishers/x/operations/op-9", "veo", {}, long_ago, long_ago, long_ago + 60
        )
    )

    status, job = job_status(invoke, job_id)

    assert status == 200
    assert job["status"] == "failed"
    assert "dead-letter queue" in job["error"]


def test_unknown_job_is_404(stack: Stack, invoke: Invoke, videos: QueuePoller) -> None:
    for job_id in ("AAAAAAAAAAAAAAAAAAAAAA", "../../etc"):
        status, answer = job_status(invoke, job_id)
        assert status == 404
        assert answer["code"] == "not_found"


def test_developer_api_mode_cannot_make_videos(
    stack: Stack, invoke: Invoke, videos: QueuePoller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")

    status, answer = invoke(START, {"prompt": "x"})

    assert status == 503
    assert "GOOGLE_GENAI_USE_VERTEXAI" in answer["message"]
    assert stack.provider.requests() == []


def test_rate_limited_start_is_retried(stack: Stack, invoke: Invoke, videos: QueuePoller) -> None:
    stack.provider.faults({"kind": "rate_limit", "retry_after": 0.1, "target": "gemini"})

    assert start(invoke)["status"] == "pending"
    assert len(stack.provider.requests()) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "prompt"),
        ({"prompt": "x", "aspect_ratio": "1:1"}, "aspect_ratio"),
        ({"prompt": "x", "duration_seconds": 3}, "duration_seconds"),
        ({"prompt": "x", "duration_seconds": 9}, "duration_seconds"),
    ],
)
def test_invalid_input_names_the_field(
    stack: Stack, invoke: Invoke, videos: QueuePoller, body: dict[str, Any], field: str
) -> None:
    assert_refused(invoke, stack, START, body, field)


def test_a_duration_the_video_models_cannot_make_is_422_before_anything_is_paid(
    stack: Stack, invoke: Invoke, videos: QueuePoller
) -> None:
    """Veo 3.1 takes 4, 6 or 8 s (the model catalog): 5 s is refused naming the field and the
    allowed values, before a job is written or the provider is asked."""
    status, answer = invoke(START, {"prompt": "a paper boat", "duration_seconds": 5})

    assert status == 422, answer
    assert answer["code"] == "invalid_request"
    assert answer["message"].startswith("duration_seconds: ")
    assert answer["message"].endswith("allowed: 4, 6, 8")
    assert stack.provider.requests() == []
