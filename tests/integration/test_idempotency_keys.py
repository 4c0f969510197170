"""`Idempotency-Key` over the wire (real SDKs to the emulator, boto3 to moto): a key belongs to the
API key that sent it and never meets a queued `request_id`; a start whose paid work may have
begun is answered again, not started twice, and charged; a replayed thumbnail is signed again.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from contentgen.catalog import default_chain, video_price_usd
from contentgen.config import get_settings
from contentgen.stores.jobs import get_job
from local.lambda_context import LocalLambdaContext
from tests.conftest import load_event
from tests.integration.conftest import Invoke, Stack
from tests.integration.test_event_sources import result
from tests.integration.test_spend import fixed_clock, handler_for, ledger, new_key  # noqa: F401 (fixture)

# The default video model's price per second (the model catalog), as a charge is computed.
_PER_SECOND = video_price_usd(default_chain("video")[0]) or Decimal(0)

pytestmark = pytest.mark.integration

STORY = {"prompt": "A lighthouse keeper finds a message in a bottle", "segment_count": 2}
VIDEO = {"prompt": "A paper boat on a rainy street", "duration_seconds": 6}
THUMBNAIL = {"prompt": "A fox in a lighthouse, stormy night", "aspect_ratio": "16:9"}
ROUTES = {
    "/stories/segments": "StorySegmentsFunction",
    "/videos": "GenerateVideoFunction",
    "/thumbnails": "GenerateThumbnailFunction",
}


def post(
    api_event: Callable[..., dict[str, Any]],
    path: str,
    body: dict[str, Any],
    *,
    idempotency_key: str,
    api_key_id: str | None,
) -> tuple[int, dict[str, Any], dict[str, list[str]]]:
    """POST `body` as API Gateway would, with `Idempotency-Key` and the caller's API key id."""
    function = ROUTES[path]
    event = api_event("POST", path, body)
    event["headers"]["Idempotency-Key"] = idempotency_key
    event["requestContext"]["identity"]["apiKeyId"] = api_key_id
    response = handler_for(function)(event, LocalLambdaContext(function_name=function, timeout_seconds=29))
    return response["statusCode"], json.loads(response["body"]), response.get("multiValueHeaders") or {}


def provider_calls(stack: Stack, suffix: str) -> int:
    return sum(1 for request in stack.provider.requests() if request["path"].endswith(suffix))


# --- A: a key belongs to its API key, apart from queued request_ids ---------------------------------


@pytest.mark.usefixtures("fixed_clock")
def test_an_idempotency_key_belongs_to_the_api_key_that_sent_it(
    stack: Stack, api_event: Callable[..., dict[str, Any]]
) -> None:
    key = f"order-{uuid.uuid4().hex[:8]}"
    tenant_a, tenant_b, tenant_c = new_key(), new_key(), new_key()

    status_a, answer_a, _ = post(
        api_event, "/stories/segments", STORY, idempotency_key=key, api_key_id=tenant_a
    )
    status_b, answer_b, _ = post(
        api_event, "/stories/segments", STORY, idempotency_key=key, api_key_id=tenant_b
    )
    other = {**STORY, "prompt": "Something else entirely"}
    status_c, answer_c, _ = post(
        api_event, "/stories/segments", other, idempotency_key=key, api_key_id=tenant_c
    )

    assert status_a == status_b == status_c == 200, (answer_a, answer_b, answer_c)
    assert "already used" not in json.dumps(answer_c), "another tenant's use of the key is not revealed"
    assert len(stack.provider.requests()) == 3, "each tenant's request ran and was paid by that tenant"
    for tenant, answer in ((tenant_a, answer_a), (tenant_b, answer_b), (tenant_c, answer_c)):
        assert Decimal(ledger(stack, tenant, "2026-11-30")["cost_usd"]["N"]) == Decimal(
            str(answer["usage"]["cost_usd"])
        )
    # Each tenant's own repeat is still a replay.
    again_b = post(api_event, "/stories/segments", STORY, idempotency_key=key, api_key_id=tenant_b)
    assert again_b[:2] == (200, answer_b)
    assert len(stack.provider.requests()) == 3


def test_a_queued_request_id_never_meets_an_http_answer(
    stack: Stack, invoke: Invoke, api_event: Callable[..., dict[str, Any]]
) -> None:
    key = f"order-{uuid.uuid4().hex[:8]}"
    status, answer, _ = post(api_event, "/stories/segments", STORY, idempotency_key=key, api_key_id=new_key())
    assert status == 200, answer

    event = load_event("story_segments_sqs.json")
    event["Records"][0]["body"] = json.dumps({"request_id": key, "request": STORY})
    batch = handler_for("StorySegmentsFunction")(
        event, LocalLambdaContext(function_name="StorySegmentsFunction", timeout_seconds=29)
    )

    assert batch == {"batchItemFailures": []}
    assert len(stack.provider.requests()) == 2, "the message was generated, not given the HTTP answer"
    stored_status, stored = result(invoke, key)
    assert stored_status == 200, stored
    assert stored["status"] == "succeeded"
    assert stored["result"]["usage"]["provider_requests"] == 1


# --- B: a start that may have begun is remembered, not started twice ------------------------------


@pytest.fixture
def slow_video_start(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Veo's start answers after the attempt's timeout (1 s): the operation may have begun."""
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "1")
    stack.provider.faults({"kind": "latency", "ms": 2500, "target": "gemini"})


@pytest.mark.usefixtures("fixed_clock", "slow_video_start")
def test_a_timed_out_video_start_is_answered_again_not_started_twice(
    stack: Stack, api_event: Callable[..., dict[str, Any]]
) -> None:
    """The start runs in the durable job: a timed-out start ends the job unconfirmed_paid_work,
    charged the upper bound once; a repeat with the key answers the same job, never a second start."""
    from tests.durable_jobs import running

    tenant, key = new_key(), f"video-{uuid.uuid4().hex[:8]}"

    with running(handler_for("VideoJobFunction")) as jobs:
        first = post(api_event, "/videos", VIDEO, idempotency_key=key, api_key_id=tenant)
        jobs.wait_all()
        again = post(api_event, "/videos", VIDEO, idempotency_key=key, api_key_id=tenant)
        assert len(jobs.starts) == 1, "the repeat started nothing"

    status, answer, _ = first
    assert status == 202, answer
    assert again[0] == 202
    assert again[1]["job_id"] == answer["job_id"], "the repeat is the same job"
    assert again[2]["Idempotency-Key"] == [key]
    job = get_job(answer["job_id"])
    assert job is not None
    assert (job.status, job.error_code) == ("failed", "unconfirmed_paid_work")
    assert "may have started" in (job.error or "")
    assert job.cost_usd == float(_PER_SECOND * 6), "6 s at its price: the upper bound is charged"
    assert provider_calls(stack, ":predictLongRunning") == 1, "the video was not started twice"
    assert Decimal(ledger(stack, tenant, "2026-11-30")["cost_usd"]["N"]) == _PER_SECOND * 6, "charged once"


@pytest.mark.usefixtures("slow_video_start")
def test_a_queued_video_start_that_timed_out_is_one_job_whatever_the_deliveries(
    stack: Stack, invoke: Invoke
) -> None:
    """Two deliveries of the message (SQS is at-least-once): one job, one start, failed
    unconfirmed_paid_work at once (its message deleted, never walked to the DLQ)."""
    from tests.durable_jobs import running

    request_id = f"video-{uuid.uuid4().hex[:8]}"
    event = load_event("story_segments_sqs.json")
    event["Records"][0]["body"] = json.dumps({"request_id": request_id, "request": VIDEO})
    handler = handler_for("GenerateVideoFunction")

    with running(handler_for("VideoJobFunction")) as jobs:
        for _ in range(2):  # the first delivery, then a duplicate
            batch = handler(
                event, LocalLambdaContext(function_name="GenerateVideoFunction", timeout_seconds=29)
            )
            assert batch["batchItemFailures"] == [], "done: deleted, never retried into the DLQ"
        jobs.wait_all()
        assert len(jobs.starts) == 1

    job = get_job(jobs.starts[0].name)
    assert job is not None
    assert (job.status, job.error_code) == ("failed", "unconfirmed_paid_work")
    assert provider_calls(stack, ":predictLongRunning") == 1


# --- C: a replayed thumbnail is signed again --------------------------------------------------------


def test_a_replayed_thumbnail_gets_a_url_signed_again(
    stack: Stack, api_event: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("PRESIGNED_URL_TTL_SECONDS", "900")
    tenant, key = new_key(), f"thumb-{uuid.uuid4().hex[:8]}"
    status, first, _ = post(api_event, "/thumbnails", THUMBNAIL, idempotency_key=key, api_key_id=tenant)
    assert status == 200, first

    # The URL's lifetime changes between the answers: only a URL signed at the replay shows it.
    monkeypatch.setenv("PRESIGNED_URL_TTL_SECONDS", "3600")
    get_settings.cache_clear()
    status, again, headers = post(api_event, "/thumbnails", THUMBNAIL, idempotency_key=key, api_key_id=tenant)

    assert status == 200, again
    assert headers["Idempotency-Key"] == [key]
    assert len(stack.provider.requests()) == 1, "a replay, not a second image"
    assert again["s3_key"] == first["s3_key"]
    assert again["usage"] == first["usage"]
    assert again["expires_in"] == 3600
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(again["image_url"]).query)
    assert query["X-Amz-Expires"] == ["3600"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    with urllib.request.urlopen(again["image_url"], timeout=30) as response:
        assert response.read()[:8] == b"\x89PNG\r\n\x1a\n"
