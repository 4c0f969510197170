"""The video job as a durable execution, over the wire: POST /videos (the API function) starts an
execution, the testing SDK's in-process runner runs the durable video job function (real
google-genai against the provider emulator, real boto3 against moto), GET /videos/{job_id} reads
the job for the key that paid.

Every case ends in exactly ONE paid start (the emulator's `:predictLongRunning` requests), ONE
final job state and ONE outcome event on the bus (a rule forwards `JobSucceeded` / `JobFailed`
to a test queue). `RunnerStarter.starts` counts the executions started.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from aws_durable_execution_sdk_python import DurableContext
from aws_durable_execution_sdk_python.exceptions import RetryableSerDesError
from aws_durable_execution_sdk_python.lambda_service import InvocationStatus
from aws_durable_execution_sdk_python_testing.executor import Executor
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner
from botocore.exceptions import ClientError

from contentgen.billing import budgets
from contentgen.catalog import default_chain, video_price_usd
from contentgen.config import get_settings
from contentgen.connectors.genai_connector import reset_genai_client
from contentgen.services import durable as durable_steps
from contentgen.services import jobs as jobs_service
from contentgen.services.jobs import set_execution_starter
from contentgen.stores import ledger
from contentgen.stores.ledger import HOLD_PREFIX, set_daily_budget
from local.aws import client
from local.event_sources import sqs_event
from local.lambda_context import LocalLambdaContext
from local.template import physical_name
from tests.durable_jobs import (
    JobApi,
    ProbedElsewhere,
    RunnerStarter,
    crash_after,
    handler,
    running,
    succeeded,
)
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

API = "GenerateVideoFunction"
JOB = "VideoJobFunction"
KEY_A = "key-a-video"
KEY_B = "key-b-video"
STARTS = ":predictLongRunning"


class Api(JobApi):
    """Calls the API function as API Gateway would, with an API key id of our choosing."""

    def __init__(self, api_event: Callable[..., dict[str, Any]]) -> None:
        super().__init__(api_event, function=API, resource="/videos", id_param="job_id", key_id=KEY_A)

    def start(
        self, *, key_id: str = KEY_A, idempotency_key: str | None = None, **body: Any
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        status, answer = self.call(
            "POST",
            "/videos",
            {"prompt": "A paper boat on a rainy street", **body},
            key_id=key_id,
            headers=headers,
        )
        assert status == 202, answer
        return answer

    def status(self, job_id: str, *, key_id: str | None = KEY_A) -> tuple[int, dict[str, Any]]:
        return self.call("GET", f"/videos/{job_id}", key_id=key_id)


@pytest.fixture
def api(stack: Stack, api_event: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("VIDEO_POLL_DELAY_SECONDS", "1")
    return Api(api_event)


@pytest.fixture
def jobs(api: Api) -> Iterator[RunnerStarter]:
    with running(handler(JOB)) as starter:
        yield starter


@pytest.fixture
def outcome_events(stack: Stack) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JobSucceeded / JobFailed events published during the test (a rule to a test queue)."""
    sqs = client("sqs", stack.aws_url)
    events = client("events", stack.aws_url)
    bus = physical_name("ContentgenEventBus")
    name = f"test-job-events-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["contentgen"], "detail-type": ["JobSucceeded", "JobFailed"]}
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "test", "Arn": arn}])
    seen: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return seen

    yield read
    events.remove_targets(Rule=name, EventBusName=bus, Ids=["test"])
    events.delete_rule(Name=name, EventBusName=bus)
    sqs.delete_queue(QueueUrl=url)


def google_not_found(message: str) -> dict[str, Any]:
    """An emulator fault: Google's 404 NOT_FOUND (a `google.rpc.Status` error) saying `message`."""
    return {
        "kind": "raw",
        "status": 404,
        "target": "gemini",
        "body": {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}},
    }


def paid_starts(stack: Stack) -> int:
    return sum(1 for request in stack.provider.requests() if request["path"].endswith(STARTS))


def events_for(events: list[dict[str, Any]], job_id: str) -> list[str]:
    return [event["detail-type"] for event in events if event["detail"]["job_id"] == job_id]


def finish(jobs: RunnerStarter) -> None:
    results = jobs.wait_all()
    assert all(succeeded(result) for result in results), [r.error for r in results]


# -- the job's life ---------------------------------------------------------------------------


def test_a_job_runs_to_succeeded_and_only_its_key_can_read_it(
    stack: Stack, api: Api, jobs: RunnerStarter, outcome_events: Callable[[], list[dict[str, Any]]]
) -> None:
    stack.provider.configure(video_polls=3)

    accepted = api.start(aspect_ratio="16:9", duration_seconds=6)
    assert accepted["status"] in {"pending", "running"}  # the runner may have begun it already
    assert accepted["status_url"] == f"/prod/videos/{accepted['job_id']}"
    finish(jobs)

    status, job = api.status(accepted["job_id"])
    assert status == 200, job
    assert (job["status"], job["step"], job["progress"]) == ("succeeded", "done", 1.0)
    assert job["checks"] == 3
    assert job["usage"]["cost_usd"] is not None
    assert job["usage"]["model"]
    with urllib.request.urlopen(job["video_url"], timeout=60) as response:
        assert response.read()[4:8] == b"ftyp"
    started = [r for r in stack.provider.requests() if r["path"].endswith(STARTS)]
    assert len(started) == 1
    assert started[0]["body"]["parameters"]["aspectRatio"] == "16:9"
    assert len(jobs.starts) == 1
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobSucceeded"]
    # Another key, and no key, get the same 404 as an unknown id.
    unknown = api.status("video-" + "0" * 40)
    assert unknown[0] == 404
    for other in (KEY_B, None):
        status, answer = api.status(accepted["job_id"], key_id=other)
        assert status == 404
        assert answer["message"] == unknown[1]["message"].replace("0" * 40, accepted["job_id"][6:])


def test_a_duplicate_start_request_starts_one_execution_and_pays_once(
    stack: Stack, api: Api, jobs: RunnerStarter, outcome_events: Callable[[], list[dict[str, Any]]]
) -> None:
    """The same Idempotency-Key twice (and the same key from another API key: its own job)."""
    stack.provider.configure(video_polls=1)
    key = f"order-{uuid.uuid4().hex[:8]}"

    first = api.start(idempotency_key=key)
    second = api.start(idempotency_key=key)
    other = api.start(idempotency_key=key, key_id=KEY_B)
    finish(jobs)

    assert first["job_id"] == second["job_id"] != other["job_id"]
    assert len(jobs.starts) == 2  # executions started: one per (API key, Idempotency-Key)
    assert paid_starts(stack) == 2
    assert events_for(outcome_events(), first["job_id"]) == ["JobSucceeded"]
    assert api.status(first["job_id"])[1]["status"] == "succeeded"
    assert api.status(other["job_id"], key_id=KEY_A)[0] == 404


def test_the_same_start_delivered_twice_on_sqs_makes_one_execution(
    stack: Stack, api: Api, jobs: RunnerStarter, outcome_events: Callable[[], list[dict[str, Any]]]
) -> None:
    """SQS is at-least-once: the request message delivered twice (two receives, two invocations of
    the dispatcher) starts one named execution: one paid start, one outcome."""
    stack.provider.configure(video_polls=1)
    request_id = f"vid-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"request_id": request_id, "api_key_id": KEY_A, "request": {"prompt": "A kite"}})
    queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{physical_name('GenerateVideoQueue')}"
    for delivery in range(2):
        message = {"MessageId": f"m-{delivery}", "ReceiptHandle": f"r-{delivery}", "Body": body}
        answer = handler(API)(sqs_event([message], queue_arn), LocalLambdaContext(function_name=API))
        assert answer == {"batchItemFailures": []}
    finish(jobs)

    assert len(jobs.starts) == 1
    assert paid_starts(stack) == 1
    (job_id,) = {start.name for start in jobs.starts}
    assert events_for(outcome_events(), job_id) == ["JobSucceeded"]
    assert api.status(job_id)[1]["status"] == "succeeded"


# -- failures: each ends the job at once, with the provider's words ---------------------------


def test_429_and_5xx_during_checks_are_polled_again(
    stack: Stack, api: Api, jobs: RunnerStarter, outcome_events: Callable[[], list[dict[str, Any]]]
) -> None:
    stack.provider.configure(video_polls=2)
    stack.provider.faults(
        {"kind": "latency", "ms": 0, "target": "gemini"},  # the start passes
        {"kind": "rate_limit", "count": 2, "retry_after": 1, "target": "gemini"},
        {"kind": "server_error", "status": 503, "target": "gemini"},
        {"kind": "server_error", "status": 500, "target": "gemini"},
    )

    accepted = api.start()
    finish(jobs)

    job = api.status(accepted["job_id"])[1]
    assert job["status"] == "succeeded", job
    assert job["checks"] >= 6  # 4 failed checks, then 2 to done
    assert paid_starts(stack) == 1
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobSucceeded"]


def test_a_permanent_404_on_a_check_ends_the_job_at_once(
    stack: Stack, api: Api, jobs: RunnerStarter, outcome_events: Callable[[], list[dict[str, Any]]]
) -> None:
    """The old chain kept such a job pending ~50 min until the DLQ (issue 22 item 9)."""
    stack.provider.configure(video_polls=50)
    gone = "Requested entity was not found."
    stack.provider.faults(
        {"kind": "latency", "ms": 0, "target": "gemini"},
        google_not_found(gone),
    )

    accepted = api.start()
    finish(jobs)

    job = api.status(accepted["job_id"])[1]
    assert (job["status"], job["error_code"]) == ("failed", "provider_error"), job
    assert gone in job["error"]
    assert job["checks"] == 1
    assert paid_starts(stack) == 1
    assert job["usage"]["cost_usd"] is not None  # the start was paid: it stays charged
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobFailed"]


def test_a_deadline_passed_fails_the_job(
    stack: Stack,
    api: Api,
    jobs: RunnerStarter,
    outcome_events: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SDK-GAP-4: the runner's skipped waits do not move the clock: the checks' clock is moved."""
    stack.provider.configure(video_polls=50)
    clock = {"now": 1_000_000.0}
    monkeypatch.setattr(durable_steps, "now", lambda: clock["now"])
    real_check = durable_steps.poll

    def poll_with_time_passing(*args: Any, **kwargs: Any) -> Any:
        clock["now"] += 10_000  # past any deadline once the wait begins
        return real_check(*args, **kwargs)

    monkeypatch.setattr(durable_steps, "poll", poll_with_time_passing)

    accepted = api.start()
    finish(jobs)

    job = api.status(accepted["job_id"])[1]
    assert (job["status"], job["error_code"]) == ("failed", "deadline_exceeded"), job
    assert paid_starts(stack) == 1
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobFailed"]


def test_a_start_whose_connection_dropped_after_sending_is_final(
    stack: Stack, api: Api, jobs: RunnerStarter, outcome_events: Callable[[], list[dict[str, Any]]]
) -> None:
    stack.provider.faults({"kind": "drop", "target": "gemini"})

    accepted = api.start()
    finish(jobs)

    job = api.status(accepted["job_id"])[1]
    assert (job["status"], job["error_code"]) == ("failed", "unconfirmed_paid_work"), job
    assert "not retried" in job["error"]
    assert job["usage"]["cost_usd"] is not None  # charged the upper bound: Google may bill it
    assert paid_starts(stack) == 1
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobFailed"]


def test_a_refused_start_ends_the_job_with_the_providers_words(
    stack: Stack, api: Api, jobs: RunnerStarter, outcome_events: Callable[[], list[dict[str, Any]]]
) -> None:
    reason = "The model veo-x has been shut down."
    stack.provider.faults(google_not_found(reason))

    accepted = api.start()
    finish(jobs)

    job = api.status(accepted["job_id"])[1]
    assert job["status"] == "failed", job
    assert reason in job["error"]
    assert paid_starts(stack) == 1
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobFailed"]


@pytest.mark.parametrize(
    ("step", "final"),
    [
        ("begin", "succeeded"),
        ("deadline", "succeeded"),
        ("start", "failed"),  # died while the paid request was in flight: not sent again
        ("charge", "succeeded"),
        ("progress-generating", "succeeded"),
        ("video-ready", "succeeded"),
        ("progress-storing", "succeeded"),
        ("store", "succeeded"),
        ("finish", "succeeded"),
        ("published", "succeeded"),
    ],
)
def test_a_crash_in_any_step_replays_to_one_paid_start_and_one_outcome(
    stack: Stack,
    api: Api,
    jobs: RunnerStarter,
    outcome_events: Callable[[], list[dict[str, Any]]],
    step: str,
    final: str,
) -> None:
    stack.provider.configure(video_polls=2)

    with crash_after({step}) as crashed:
        accepted = api.start()
        finish(jobs)

    assert crashed == {step}
    job = api.status(accepted["job_id"])[1]
    assert job["status"] == final, job
    if final == "failed":
        assert job["error_code"] == "unconfirmed_paid_work"
    assert paid_starts(stack) == 1
    assert len(jobs.starts) == 1
    assert events_for(outcome_events(), accepted["job_id"]) == [
        "JobSucceeded" if final == "succeeded" else "JobFailed"
    ]


# -- the provider boundary (moved from the SQS chain's tests/integration/test_videos.py) ----------


def test_one_gemini_api_key_makes_a_video_through_the_interactions_api(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's setup, one Google AI Studio key (GOOGLE_GENAI_USE_VERTEXAI=false) with the
    template's defaults: the configured Veo (Vertex AI only) is skipped for the catalog's Gemini
    API chain, the job starts a background interaction, completes, and the video is stored; its
    cost is the catalog's price for the seconds asked."""
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    stack.provider.configure(video_polls=2)
    omni = default_chain("video_gemini_api")[0]

    accepted = api.start(aspect_ratio="9:16", duration_seconds=6)
    finish(jobs)

    status, job = api.status(accepted["job_id"])
    assert status == 200
    assert job["status"] == "succeeded", job
    with urllib.request.urlopen(job["video_url"], timeout=60) as response:
        assert response.read()[4:8] == b"ftyp"
    assert job["usage"]["model"] == omni
    assert Decimal(str(job["usage"]["cost_usd"])) == (video_price_usd(omni) or Decimal(0)) * 6
    requests = stack.provider.requests()
    started = [r for r in requests if r["path"] == "/v1/interactions"]
    # google-genai 3.4.0 talks to the Gemini API's v1 by default (`_api_client.py`
    # GOOGLE_AI_API_DEFAULT_VERSION = 'v1'): POST /v1/interactions, once (the paid start).
    assert len(started) == 1
    assert started[0]["headers"]["x-goog-api-key"] == stack.google_key
    assert started[0]["body"]["model"] == omni
    assert started[0]["body"]["background"] is True
    assert started[0]["body"]["response_format"] == {
        "type": "video",
        "aspect_ratio": "9:16",
        "duration": "6s",
        "delivery": "inline",
    }
    checks = {r["path"] for r in requests if r["path"].startswith("/v1/interactions/")}
    assert len(checks) == 1
    assert next(iter(checks)).startswith("/v1/interactions/v1_"), "interactions.get by the job's handle"
    assert not any("predictLongRunning" in r["path"] for r in requests), "no Veo on the Gemini API"


def test_a_failed_interaction_fails_the_job_in_the_providers_words(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    stack.provider.configure(video_polls=1)
    stack.provider.faults({"kind": "video_failed", "target": "gemini", "reason": "Video generation failed."})

    accepted = api.start()
    finish(jobs)

    job = api.status(accepted["job_id"])[1]
    assert (job["status"], job["error_code"]) == ("failed", "provider_error"), job
    assert "Video generation failed." in job["error"]


def test_a_start_refused_by_a_half_open_breaker_waits_and_starts_once(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google's provider-wide breaker is half-open, its one probe held by another container: the
    start is refused before it is sent. The job waits (a durable wait) and starts again once that
    probe closed the breaker, instead of failing `provider_circuit_open`: one paid start."""
    from contentgen.connectors.genai_connector import PROVIDER
    from contentgen.core import breaker as breakers

    store = ProbedElsewhere(f"{PROVIDER}#{breakers.PROVIDER_SCOPE}", refusals=1)
    monkeypatch.setattr(breakers, "_build_store", lambda settings: store)
    accepted = api.start()
    finish(jobs)

    assert store.refused >= 1
    job = api.status(accepted["job_id"])[1]
    assert job["status"] == "succeeded", job
    assert len([r for r in stack.provider.requests() if r["path"].endswith(STARTS)]) == 1


def test_a_duration_the_video_models_cannot_make_is_422_before_anything_is_paid(
    stack: Stack, api: Api, jobs: RunnerStarter
) -> None:
    """Veo 3.1 takes 4, 6 or 8 s (the model catalog): 5 s is refused naming the field and the
    allowed values, before a job is written or started, or the provider is asked."""
    status, answer = api.call("POST", "/videos", {"prompt": "a paper boat", "duration_seconds": 5})

    assert status == 422, answer
    assert answer["code"] == "invalid_request"
    assert answer["message"].startswith("duration_seconds: ")
    assert answer["message"].endswith("allowed: 4, 6, 8")
    assert stack.provider.requests() == []
    assert jobs.starts == []


def test_an_omni_duration_veo_cannot_make_is_accepted_on_the_gemini_api(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The capability check follows the backend's chain: 10 s is refused on Vertex AI (Veo: 4, 6,
    8) and started on the Gemini API (Omni 1.2 Flash: 3 to 15)."""
    status, answer = api.call("POST", "/videos", {"prompt": "a paper boat", "duration_seconds": 10})
    assert status == 422, answer
    assert answer["message"].endswith("allowed: 4, 6, 8")
    assert stack.provider.requests() == []

    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    get_settings.cache_clear()  # a new configuration: a new container
    reset_genai_client()
    stack.provider.configure(video_polls=1)

    accepted = api.start(duration_seconds=10)
    finish(jobs)

    assert api.status(accepted["job_id"])[1]["status"] == "succeeded"
    assert stack.provider.requests()[0]["body"]["response_format"]["duration"] == "10s"


# -- money: the job's most is reserved at the API, before anything starts; settled once ----------


def new_key() -> str:
    return f"key-{uuid.uuid4().hex[:12]}"


def price_of(seconds: int) -> Decimal:
    """`seconds` of video at the dearest price of the default chain (the catalog): the estimate."""
    prices = [video_price_usd(model) for model in get_settings().video_models]
    return max(price for price in prices if price is not None) * seconds


def test_an_over_budget_start_is_429_naming_the_estimate_and_starts_nothing(
    stack: Stack, api: Api, jobs: RunnerStarter, outcome_events: Callable[[], list[dict[str, Any]]]
) -> None:
    """Issue 22 finding 1 at the API: the video's most (its seconds x the dearest model's price) is
    held on the key's day by one conditional write BEFORE the job is claimed or started. A key
    whose day has nothing left gets 429 budget_exceeded naming the estimate: no job row, no
    execution, no provider request. The same Idempotency-Key once the budget frees starts it."""
    key = new_key()
    set_daily_budget(key, price_of(6))  # exactly one 6 s video
    stack.provider.configure(video_polls=1)

    first = api.start(key_id=key, duration_seconds=6)
    finish(jobs)
    assert api.status(first["job_id"], key_id=key)[1]["status"] == "succeeded"
    retry_key = f"order-{uuid.uuid4().hex[:8]}"
    body = {"prompt": "A paper boat at dawn", "duration_seconds": 6}
    headers = {"Idempotency-Key": retry_key}

    status, refused = api.call("POST", "/videos", body, key_id=key, headers=headers)

    assert (status, refused["code"]) == (429, "budget_exceeded"), refused
    assert f"up to {price_of(6).normalize():f} USD" in refused["message"], refused["message"]
    assert "6 s x" in refused["message"]
    assert key in refused["message"]
    assert len(jobs.starts) == 1, "no execution started for the refused request"
    assert paid_starts(stack) == 1, "no provider request for it"
    day = spend_day(stack, key)
    assert Decimal(day["cost_usd"]["N"]) == price_of(6), "only the first job is charged"
    assert not [name for name in day if name.startswith(HOLD_PREFIX)], "no hold left behind"
    assert events_for(outcome_events(), first["job_id"]) == ["JobSucceeded"]
    assert len(outcome_events()) == 1, "no job, so no outcome event, for the refusal"

    # The budget frees: the same Idempotency-Key starts the job (the refusal was not remembered).
    set_daily_budget(key, price_of(6) * 2)
    status, accepted = api.call("POST", "/videos", body, key_id=key, headers=headers)
    assert status == 202, accepted
    finish(jobs)
    assert api.status(accepted["job_id"], key_id=key)[1]["status"] == "succeeded"
    assert (len(jobs.starts), paid_starts(stack)) == (2, 2)
    assert Decimal(spend_day(stack, key)["cost_usd"]["N"]) == price_of(6) * 2


def test_the_hold_travels_in_the_start_is_shown_while_the_job_runs_and_settled_once(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The starter holds the estimate and puts the hold in the start payload; the job's paid start
    runs under it (the ledger's `reserve` is never called in the job: no second reservation);
    `GET /usage`'s figures show it reserved while the job runs and settled after, no hold left."""
    from contentgen.generation.videos import start_video as real_start

    key = new_key()
    set_daily_budget(key, price_of(6))  # exactly the estimate: the hold fits
    stack.provider.configure(video_polls=1)
    in_job_reservations: list[Decimal] = []
    real_reserve = ledger.reserve

    def reserve_in_job(api_key_id: str, most_usd: Decimal, until: float) -> Any:
        in_job_reservations.append(most_usd)
        return real_reserve(api_key_id, most_usd, until)

    monkeypatch.setattr(ledger, "reserve", reserve_in_job)
    during: list[dict[str, Any]] = []

    def start_and_look(*args: Any, **kwargs: Any) -> Any:
        during.append(ledger.usage_report(key))  # as GET /usage answers, while the job runs
        return real_start(*args, **kwargs)

    monkeypatch.setattr("contentgen.services.videos.start_video", start_and_look)

    accepted = api.start(key_id=key, duration_seconds=6)
    finish(jobs)

    job = api.status(accepted["job_id"], key_id=key)[1]
    assert job["status"] == "succeeded", job
    (started,) = jobs.starts
    reservation = json.loads(started.payload)["reservation"]
    assert Decimal(reservation["usd"]) == price_of(6)
    assert [hold["api_key_id"] for hold in reservation["holds"]] == [key]
    assert in_job_reservations == [], "the job ran under the starter's hold, reserving nothing"
    (while_running,) = during
    assert (while_running["reserved_today_usd"], while_running["settled_today_usd"]) == (
        float(price_of(6)),
        0,
    )
    after = ledger.usage_report(key)
    assert (after["reserved_today_usd"], after["settled_today_usd"]) == (0, float(price_of(6)))
    assert paid_starts(stack) == 1
    day = spend_day(stack, key)
    assert Decimal(day["cost_usd"]["N"]) == price_of(6), "charged once, at the start's price"
    assert day["requests"]["N"] == "1"
    assert not [name for name in day if name.startswith(HOLD_PREFIX)], "the hold is released"
    assert Decimal(day["committed_usd"]["N"]) == price_of(6)


def test_a_job_that_fails_unpaid_releases_its_hold_and_the_budget_is_usable_again(
    stack: Stack, api: Api, jobs: RunnerStarter, outcome_events: Callable[[], list[dict[str, Any]]]
) -> None:
    """The start is refused by the provider (nothing paid): the job settles its hold with no
    charge, so the key's budget (one video) starts the next video."""
    key = new_key()
    set_daily_budget(key, price_of(6))
    stack.provider.configure(video_polls=1)
    reason = "The model veo-x has been shut down."
    stack.provider.faults(google_not_found(reason))

    refused = api.start(key_id=key, duration_seconds=6)
    finish(jobs)
    job = api.status(refused["job_id"], key_id=key)[1]
    assert job["status"] == "failed", job
    assert reason in job["error"]
    day = spend_day(stack, key)
    assert not [name for name in day if name.startswith(HOLD_PREFIX)], "the hold is released"
    assert Decimal(day.get("cost_usd", {"N": "0"})["N"]) == 0, "nothing charged"
    assert Decimal(day["committed_usd"]["N"]) == 0

    again = api.start(key_id=key, duration_seconds=6, prompt="A paper boat at dawn")
    finish(jobs)
    assert api.status(again["job_id"], key_id=key)[1]["status"] == "succeeded"
    assert Decimal(spend_day(stack, key)["cost_usd"]["N"]) == price_of(6)


def test_a_replayed_charge_step_settles_once(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invocation dies after the ledger's settle, before the step's checkpoint: the replay
    runs `charge` again (at least once), and the ledger's `settled#<hold id>` marker makes the
    second settle change nothing: charged once, the hold released once."""
    key = new_key()
    stack.provider.configure(video_polls=1)

    with crash_after({"charge"}) as crashed:
        accepted = api.start(key_id=key, duration_seconds=6)
        finish(jobs)

    assert crashed == {"charge"}
    assert api.status(accepted["job_id"], key_id=key)[1]["status"] == "succeeded"
    day = spend_day(stack, key)
    assert Decimal(day["cost_usd"]["N"]) == price_of(6), "charged once"
    assert day["requests"]["N"] == "1"
    assert Decimal(day["committed_usd"]["N"]) == price_of(6)
    assert [name for name in day if name.startswith(ledger.SETTLED_PREFIX)] == [
        ledger.SETTLED_PREFIX + json.loads(jobs.starts[0].payload)["reservation"]["id"]
    ]


def test_a_request_on_the_queue_over_budget_is_stored_429_and_starts_nothing(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue entry of generate_video: the message's key has no budget left: its outcome is
    stored as the 429 (as the text functions' are), GenerationFailed is published, the record is
    done (not retried), and no execution or provider request is made. Duplicate deliveries of an
    admitted request hold the estimate once, on the message's key and the pipeline key."""
    from contentgen.stores.ledger import reserve_once as real_reserve_once
    from contentgen.stores.results import get_result

    poor, rich, pipeline = new_key(), new_key(), new_key()
    monkeypatch.setenv("PIPELINE_API_KEY_ID", pipeline)
    get_settings.cache_clear()
    set_daily_budget(poor, Decimal(0))
    stack.provider.configure(video_polls=1)
    made: list[tuple[str, bool]] = []

    def reserve_once_and_count(api_key_id: str, hold_id: str, most_usd: Decimal, until: float) -> Any:
        taken = real_reserve_once(api_key_id, hold_id, most_usd, until)
        if taken is not None:
            made.append((api_key_id, taken[1]))
        return taken

    monkeypatch.setattr("contentgen.services.jobs.reserve_once", reserve_once_and_count)
    queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{physical_name('StorySegmentsQueue')}"
    refused_id, admitted_id = f"vid-{uuid.uuid4().hex[:8]}", f"vid-{uuid.uuid4().hex[:8]}"

    def deliver(request_id: str, key: str, delivery: int) -> dict[str, Any]:
        body = json.dumps({"request_id": request_id, "api_key_id": key, "request": {"prompt": "A kite"}})
        message = {"MessageId": f"m-{request_id}-{delivery}", "ReceiptHandle": f"r-{delivery}", "Body": body}
        answer: dict[str, Any] = handler(API)(
            sqs_event([message], queue_arn), LocalLambdaContext(function_name=API)
        )
        return answer

    assert deliver(refused_id, poor, 0) == {"batchItemFailures": []}, "done: not retried into the DLQ"
    for delivery in range(2):
        assert deliver(admitted_id, rich, delivery) == {"batchItemFailures": []}
    finish(jobs)

    stored = get_result(refused_id, poor)
    assert stored is not None
    assert (stored["status"], stored["status_code"]) == ("failed", 429), stored
    assert stored["error"]["code"] == "budget_exceeded"
    assert len(jobs.starts) == 1, "one execution: the admitted request's, once"
    assert paid_starts(stack) == 1
    assert sorted(made) == sorted([(rich, True), (pipeline, True)]), "held once per payer"
    for payer in (rich, pipeline):
        day = spend_day(stack, payer)
        assert day["requests"]["N"] == "1", payer
        assert not [name for name in day if name.startswith(HOLD_PREFIX)], payer
    assert spend_day(stack, poor) == {} or "cost_usd" not in spend_day(stack, poor)


def test_concurrent_duplicate_starts_hold_once_and_send_one_payload(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below the idempotency layer (which serialises repeats of a key): 8 concurrent starts of the
    same job (the same scope and key, as SQS delivering one message to two invocations at once)
    make ONE hold, and every start that reaches the starter sends the same byte-identical
    payload, which Lambda (here: a name-deduplicating starter, as `local.durable`) runs once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from contentgen.models.media import VideoRequest
    from contentgen.services.jobs import set_execution_starter
    from contentgen.services.videos import start_video_job
    from contentgen.stores.idempotency import http_scope
    from contentgen.stores.ledger import reserve_once as real_reserve_once

    key = new_key()
    stack.provider.configure(video_polls=1)
    made: list[bool] = []

    def reserve_once_and_count(api_key_id: str, hold_id: str, most_usd: Decimal, until: float) -> Any:
        taken = real_reserve_once(api_key_id, hold_id, most_usd, until)
        if taken is not None:
            made.append(taken[1])
        return taken

    monkeypatch.setattr("contentgen.services.jobs.reserve_once", reserve_once_and_count)
    sent: dict[str, set[str]] = {}
    lock = threading.Lock()

    def deduplicating(function: str, name: str, payload: str) -> str:
        with lock:
            first = name not in sent
            sent.setdefault(name, set()).add(payload)
        return jobs(function, name, payload) if first else f"arn:known:{name}"

    set_execution_starter(deduplicating)
    request = VideoRequest.model_validate({"prompt": "A kite over a beach", "duration_seconds": 6})
    barrier = threading.Barrier(8, timeout=60)

    def start(_: int) -> str:
        barrier.wait()
        return start_video_job(request, owner=key, scope=http_scope(key), key="same-order").job_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(start, range(8)))
    finish(jobs)

    (job_id,) = ids
    assert made.count(True) == 1, made
    assert [len(payloads) for payloads in sent.values()] == [1], "one byte-identical payload"
    assert len(jobs.starts) == 1
    assert paid_starts(stack) == 1
    assert api.status(job_id, key_id=key)[1]["status"] == "succeeded"
    day = spend_day(stack, key)
    assert Decimal(day["cost_usd"]["N"]) == price_of(6), "charged once"
    assert not [name for name in day if name.startswith(HOLD_PREFIX)], "no hold left behind"


def spend_day(stack: Stack, key: str) -> dict[str, Any]:
    item = client("dynamodb", stack.aws_url).get_item(
        TableName=physical_name("SpendTable"),
        Key={"pk": {"S": key}, "sk": {"S": budgets.utc_day(budgets.clock())}},
        ConsistentRead=True,
    )
    return dict(item.get("Item", {}))


class _FlakyEvents:
    """EventBridge answering PutEvents with a failed entry (ThrottlingException, as PutEvents
    reports per-entry failures with HTTP 200) for the first `failures` calls, then recovering."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real = real
        self.failures = failures
        self.calls = 0

    def put_events(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}],
            }
        return dict(self.real.put_events(**kwargs))


def test_the_outcome_event_is_published_once_when_eventbridge_recovers(
    stack: Stack,
    api: Api,
    jobs: RunnerStarter,
    outcome_events: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PutEvents refusing entries 6 times in a row (over a minute at 5 s doubling): the `publish`
    step keeps retrying (ANNOUNCE: ~2 hours of suspended waits) and the job's one JobSucceeded goes
    out once EventBridge accepts entries again. (Past that budget the execution fails and the
    dead-letter reaper publishes it: the test above.)"""
    stack.provider.configure(video_polls=1)
    real_client = jobs_service.get_events_client  # type: ignore[attr-defined]
    flaky = _FlakyEvents(real_client(), failures=6)
    monkeypatch.setattr(jobs_service, "get_events_client", lambda: flaky)

    accepted = api.start()
    jobs.wait_all()
    status, job = api.status(accepted["job_id"])

    assert status == 200
    assert job["status"] == "succeeded"
    assert paid_starts(stack) == 1
    assert flaky.calls == 7
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobSucceeded"]


@pytest.fixture
def short_lived_executions(api: Api) -> Iterator[DurableFunctionTestRunner]:
    """Executions under a real-time runner with a 4 s ExecutionTimeout: what Lambda does to an
    execution that outlives DurableConfig.ExecutionTimeout (TIMED_OUT, no more invocations)."""
    runner = DurableFunctionTestRunner(handler=handler(JOB), skip_time=False)
    arns: list[str] = []
    payloads: list[str] = []

    def start(function: str, name: str, payload: str) -> str:
        arn = runner.run_async(
            input=payload, execution_timeout=4, function_name=function.split(":")[0], execution_name=name
        )
        arns.append(arn)
        payloads.append(payload)
        return arn

    set_execution_starter(start)
    runner.arns = arns  # type: ignore[attr-defined]
    runner.payloads = payloads  # type: ignore[attr-defined]
    try:
        yield runner
    finally:
        set_execution_starter(None)
        runner.close()  # type: ignore[no-untyped-call]


def test_an_execution_that_times_out_is_finished_failed_by_the_dead_letter_reaper(
    stack: Stack,
    api: Api,
    short_lived_executions: DurableFunctionTestRunner,
    outcome_events: Callable[[], list[dict[str, Any]]],
) -> None:
    """An execution Lambda ends TIMED_OUT (or FAILED, STOPPED) never runs its `finish`: Lambda
    sends its start payload to the function's dead-letter queue (template: VideoJobFunction
    DeadLetterQueue -> DurableJobDeadLetterQueue, durable-best-practices.html, Error handling),
    whose consumer (JobReaperFunction) ends the job `failed` with exactly one JobFailed; a second
    delivery of the same message (SQS is at-least-once) changes nothing."""
    stack.provider.configure(video_polls=1000)  # the operation never finishes in time

    accepted = api.start()
    (arn,) = short_lived_executions.arns  # type: ignore[attr-defined]
    result = short_lived_executions.wait_for_result(arn, timeout=60)
    assert result.status is not InvocationStatus.SUCCEEDED  # Lambda's backstop ended it
    assert api.status(accepted["job_id"])[1]["status"] in ("pending", "running")

    (payload,) = short_lived_executions.payloads  # type: ignore[attr-defined]
    reaper = handler("JobReaperFunction")
    context = LocalLambdaContext(function_name="JobReaperFunction", timeout_seconds=30)
    for _ in range(2):  # the DLQ's message, delivered twice
        answer = reaper({"Records": [{"messageId": "m-1", "body": payload}]}, context)
        assert answer == {"batchItemFailures": []}

    job = api.status(accepted["job_id"])[1]
    assert job["status"] == "failed", job
    assert job["error_code"] == "execution_failed"
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobFailed"]


def test_a_failed_record_after_publishing_does_not_publish_the_outcome_twice(
    stack: Stack,
    api: Api,
    jobs: RunnerStarter,
    outcome_events: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The `notified` write failing after PutEvents succeeded (throttled past botocore's retries,
    or the invocation dying right there): the record is its own step (`published`), retried
    alone; the `publish` step is checkpointed and never runs again, and its claim keeps any other
    publisher off. One JobSucceeded, carrying the dedupe key `event_id` (docs/events.md)."""
    stack.provider.configure(video_polls=1)
    real_mark = jobs_service.mark_notified  # type: ignore[attr-defined]
    failed = {"n": 0}

    def mark_notified_throttled_once(job_id: str) -> bool:
        if failed["n"] == 0:
            failed["n"] += 1
            raise ClientError(
                {
                    "Error": {
                        "Code": "ProvisionedThroughputExceededException",
                        "Message": "Rate of requests exceeds",
                    }
                },
                "UpdateItem",
            )
        return real_mark(job_id)

    monkeypatch.setattr(jobs_service, "mark_notified", mark_notified_throttled_once)

    accepted = api.start()
    jobs.wait_all()

    assert api.status(accepted["job_id"])[1]["status"] == "succeeded"
    assert failed["n"] == 1
    assert events_for(outcome_events(), accepted["job_id"]) == ["JobSucceeded"]
    (event,) = [e for e in outcome_events() if e["detail"]["job_id"] == accepted["job_id"]]
    assert event["detail"]["event_id"] == f"{accepted['job_id']}#succeeded"


def test_an_invocation_that_dies_before_the_charge_charges_the_paid_video_once(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invocation dying inside `charge` before the ledger write (a Lambda timeout while
    DynamoDB is slow, an OOM): the step is AT_LEAST_ONCE and retried (`charge_step`), the write
    idempotent (`<job id>#charge` marker): the replay charges it, exactly once."""
    key = f"key-{uuid.uuid4().hex[:12]}"
    per_second = video_price_usd(default_chain("video")[0])
    assert per_second is not None
    set_daily_budget(key, per_second * 100)
    stack.provider.configure(video_polls=1)

    original_step = DurableContext.step
    crashed: list[str] = []

    def step(self: DurableContext, func: Any, name: str | None = None, config: Any = None) -> Any:
        def crashing_before(context: Any) -> Any:
            if name == "charge" and not crashed:
                crashed.append(name)
                raise RetryableSerDesError("simulated invocation death before the charge was written")
            return func(context)

        return original_step(self, crashing_before, name=name, config=config)

    monkeypatch.setattr(DurableContext, "step", step)
    monkeypatch.setattr(Executor, "RETRY_BACKOFF_SECONDS", 0)

    accepted = api.start(key_id=key, duration_seconds=6)
    jobs.wait_all()

    job = api.status(accepted["job_id"], key_id=key)[1]
    assert crashed == ["charge"]
    assert job["status"] == "succeeded", job
    assert job["usage"]["cost_usd"] == pytest.approx(float(per_second * 6))
    assert paid_starts(stack) == 1
    day = spend_day(stack, key)
    assert Decimal(day.get("cost_usd", {}).get("N", "0")) == per_second * 6, "the paid video is charged"
