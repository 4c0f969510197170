"""The client's call policy, without a server: httpx2's MockTransport answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.utils import formatdate

import httpx2
import pytest

from contentgen_client import (
    Client,
    ConnectionFailedError,
    ContentFilteredError,
    InvalidRequestError,
    JobFailedError,
    RateLimitedError,
    RetryWait,
    ServerError,
    WaitTimeoutError,
    retry_after_seconds,
)

STORY = {"title": "T", "segments": [{"index": 1, "text": "a", "visual_prompt": "b"}], "model": "m"}


def make(
    answers: list[httpx2.Response | Exception], **options: object
) -> tuple[Client, list[httpx2.Request], list[float]]:
    seen: list[httpx2.Request] = []
    sleeps: list[float] = []
    queue: Iterator[httpx2.Response | Exception] = iter(answers)

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        answer = next(queue)
        if isinstance(answer, Exception):
            raise answer
        return answer

    sleep = options.pop("sleep", sleeps.append)
    client = Client(
        "http://api.test",
        "k",
        transport=httpx2.MockTransport(handler),
        sleep=sleep,  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )
    return client, seen, sleeps


def error(status: int, code: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    body = {"message": f"{code}!", "code": code, "status_code": status, "request_id": "req-1"}
    return httpx2.Response(status, json=body, headers=headers)


def test_a_post_carries_the_key_and_one_idempotency_key_reused_on_its_retries() -> None:
    client, seen, sleeps = make(
        [
            error(429, "too_many_requests", {"Retry-After": "2"}),
            error(503, "provider_rate_limited"),
            httpx2.Response(200, json=STORY),
        ]
    )

    story = client.story("a robot", segments=1)

    assert story.title == "T"
    assert len(seen) == 3
    assert {request.headers["Idempotency-Key"] for request in seen} == {seen[0].headers["Idempotency-Key"]}
    assert seen[0].headers["x-api-key"] == "k"
    assert json.loads(seen[0].content) == {"prompt": "a robot", "segment_count": 1}
    assert sleeps == [2.0, 1.0]  # Retry-After, then the backoff (0.5 * 2**1)


def test_each_call_gets_its_own_idempotency_key() -> None:
    client, seen, _ = make([httpx2.Response(200, json=STORY), httpx2.Response(200, json=STORY)])
    client.story("a")
    client.story("a")
    assert seen[0].headers["Idempotency-Key"] != seen[1].headers["Idempotency-Key"]


def test_retries_stop_and_the_error_is_typed() -> None:
    client, seen, sleeps = make([error(429, "too_many_requests", {"Retry-After": "5"})] * 3, max_retries=2)

    with pytest.raises(RateLimitedError) as raised:
        client.content("x")

    assert len(seen) == 3
    assert sleeps == [5.0, 5.0]
    assert raised.value.retry_after == 5
    assert raised.value.request_id == "req-1"
    assert "Try again in 5 s" in str(raised.value)


# 2026-12-06 20:53:43 UTC: a daily budget's Retry-After (to 00:00 UTC) is 11,177 s.
EVENING = 1_796_590_423.0


def test_a_wait_past_max_wait_is_not_waited_the_error_says_when_to_come_back() -> None:
    budget = error(429, "budget_exceeded", {"Retry-After": "11177"})
    client, seen, sleeps = make([budget, budget], clock=lambda: EVENING)

    with pytest.raises(RateLimitedError) as raised:
        client.story("a robot")

    assert (len(seen), sleeps) == (1, [])  # at once: no retry, no sleep
    assert raised.value.retry_after == 11177
    assert raised.value.retry_at == EVENING + 11177
    message = str(raised.value)
    assert "Try again in 3 h 6 min (at 00:00:00 UTC on 2026-12-07)" in message
    assert "longer than max_wait (30 s)" in message


def test_max_wait_bounds_all_the_waits_of_a_call_together() -> None:
    busy = error(503, "provider_rate_limited", {"Retry-After": "20"})
    client, seen, sleeps = make([busy, busy, httpx2.Response(200, json=STORY)], max_wait=30)

    with pytest.raises(ServerError) as raised:
        client.story("a")

    assert sleeps == [20.0]  # a second 20 s wait would make 40 s > 30 s
    assert len(seen) == 2
    assert "20 s of it already waited" in str(raised.value)


def test_each_wait_is_announced_before_it_starts() -> None:
    waits: list[RetryWait] = []
    client, _, sleeps = make(
        [
            error(429, "throttled", {"Retry-After": "2"}),
            httpx2.ConnectError("refused"),
            httpx2.Response(200, json=STORY),
        ],
        on_wait=waits.append,
    )

    client.story("a")

    assert [(w.attempt, w.attempts, w.seconds, w.reason) for w in waits] == [
        (2, 4, 2.0, "429 throttled"),
        (3, 4, 1.0, "connection failed"),
    ]
    assert sleeps == [2.0, 1.0]
    assert waits[0].describe() == "POST /stories/segments: 429 throttled; retrying in 2 s (attempt 2 of 4)"


def test_no_retries_sends_once_and_still_says_when_to_come_back() -> None:
    client, seen, sleeps = make([error(429, "throttled", {"Retry-After": "2"})], max_retries=0)

    with pytest.raises(RateLimitedError, match="retries are off"):
        client.content("x")

    assert (len(seen), sleeps) == (1, [])


def test_usage_report_and_who_answers_on_a_local_api() -> None:
    report = {
        "api_key_id": "k1",
        "day": "2026-12-06",
        "daily_budget_usd": 10.0,
        "remaining_today_usd": 9.5,
        "today": {
            "day": "2026-12-06",
            "requests": 2,
            "cost_usd": 0.5,
            "functions": {"f": {"requests": 2, "cost_usd": 0.5}},
        },
        "last_30_days": {"day": "2026-11-07", "requests": 2, "cost_usd": 0.5},
        "days": [],
    }
    client, seen, _ = make([httpx2.Response(200, json=report)])
    usage = client.usage()
    assert (usage.remaining_today_usd, usage.today.functions["f"].requests) == (9.5, 2)
    assert seen[0].url.path == "/usage"

    # A remote API is never asked /health for this: its answers are taken to be the providers'.
    client, seen, _ = make([])
    assert client.emulated("text") is False
    assert seen == []

    health = {"status": "ok", "providers": {"openrouter": "emulator", "google_genai": "google"}}
    local = Client(
        "http://127.0.0.1:3000", transport=httpx2.MockTransport(lambda _: httpx2.Response(200, json=health))
    )
    assert (local.emulated("text"), local.emulated("media")) == (True, False)


def test_a_request_still_in_progress_is_retried_a_conflict_is_not() -> None:
    client, seen, _ = make([error(409, "conflict", {"Retry-After": "1"}), httpx2.Response(200, json=STORY)])
    assert client.story("a").title == "T"

    client, seen, _ = make([error(409, "conflict")])
    with pytest.raises(Exception, match="conflict"):
        client.story("a")
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("answer", "kind", "code"),
    [
        (error(422, "invalid_request"), InvalidRequestError, "invalid_request"),
        (error(400, "invalid_json"), InvalidRequestError, "invalid_json"),
        (error(422, "content_filtered"), ContentFilteredError, "content_filtered"),
        (error(502, "provider_error"), ServerError, "provider_error"),
        (error(504, "provider_timeout"), ServerError, "provider_timeout"),
    ],
)
def test_error_answers_map_to_typed_errors_without_retrying(
    answer: httpx2.Response, kind: type[Exception], code: str
) -> None:
    client, seen, _ = make([answer])
    with pytest.raises(kind) as raised:
        client.content("x")
    assert raised.value.code == code  # type: ignore[attr-defined]
    assert len(seen) == 1


def test_an_unreachable_api_is_retried_then_a_connection_error() -> None:
    failure = httpx2.ConnectError("refused")
    client, seen, _ = make([failure, failure, failure, failure])
    with pytest.raises(ConnectionFailedError):
        client.health()
    assert len(seen) == 4


def test_usage_is_parsed_when_present_and_unknown_fields_are_kept() -> None:
    usage = {
        "model": "m",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "provider_requests": 1,
        "cost_usd": None,
    }
    client, _, _ = make([httpx2.Response(200, json={**STORY, "usage": usage, "new_field": 1})])
    story = client.story("a")
    assert story.usage is not None
    assert (story.usage.prompt_tokens, story.usage.cost_usd) == (10, None)


def test_url_and_key_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTENTGEN_API_URL", "http://env.test/")
    monkeypatch.setenv("CONTENTGEN_API_KEY", "env-key")
    client = Client()
    assert (client.base_url, client.api_key) == ("http://env.test", "env-key")


def test_retry_after_as_seconds_or_an_http_date() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(formatdate(1_000_030, usegmt=True), now=1_000_000) == pytest.approx(30, abs=1)
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None


def job(status: str, **extra: object) -> httpx2.Response:
    body = {"job_id": "j", "status": status, "created_at": 1, "updated_at": 2, "checks": 1, **extra}
    return httpx2.Response(200, json=body)


def test_wait_for_video_polls_until_done_and_reports_each_status() -> None:
    client, seen, sleeps = make([job("pending"), job("running"), job("succeeded", video_url="https://v")])
    statuses: list[str] = []
    done = client.wait_for_video("j", poll_interval=0.5, on_status=lambda s: statuses.append(s.status))
    assert done.video_url == "https://v"
    assert statuses == ["pending", "running", "succeeded"]
    assert sleeps == [0.5, 0.5]
    assert all(request.url.path == "/videos/j" for request in seen)


def test_wait_for_video_raises_on_failure_and_on_timeout() -> None:
    client, _, _ = make([job("failed", error="filtered")])
    with pytest.raises(JobFailedError, match="filtered"):
        client.wait_for_video("j")
    client, _, _ = make([job("running")])
    with pytest.raises(WaitTimeoutError):
        client.wait_for_video("j", timeout=0.1, poll_interval=1)

    now = [0.0]
    client, seen, _ = make(
        [job("running")] * 3, sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0]
    )
    with pytest.raises(WaitTimeoutError):
        client.wait_for_video("j", timeout=5, poll_interval=2)  # the fake clock: no real waiting
    assert len(seen) == 3


def test_storyboard_thumbnails_run_concurrently_within_the_bound() -> None:
    import threading

    from contentgen_client.storyboard import build_storyboard

    lock = threading.Lock()
    in_flight = [0, 0]  # now, most
    overlap = threading.Barrier(2, timeout=120)  # a generous bound on a condition, not a pause

    def body_prompt(request: httpx2.Request) -> str:
        return str(json.loads(request.content)["prompt"])

    story = {
        "title": "T",
        "segments": [{"index": i, "text": f"t{i}", "visual_prompt": f"v{i}"} for i in range(1, 7)],
        "model": "m",
    }

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/stories/segments":
            return httpx2.Response(200, json=story)
        if request.url.path == "/thumbnails":
            with lock:
                in_flight[0] += 1
                in_flight[1] = max(in_flight[1], in_flight[0])
            if body_prompt(request) in ("v1", "v2"):  # two requests overlap, whatever the load
                overlap.wait()
            with lock:
                in_flight[0] -= 1
            body = json.loads(request.content)
            return httpx2.Response(
                200,
                json={
                    "image_url": f"http://media.test/{body['prompt']}.png",
                    "s3_key": "k",
                    "content_type": "image/png",
                    "aspect_ratio": body["aspect_ratio"],
                    "expires_in": 900,
                    "model": "imagen",
                },
            )
        raise AssertionError(request.url)

    client = Client("http://api.test", "k", transport=httpx2.MockTransport(handler))
    downloads: list[str] = []

    def download(url: str) -> bytes:
        downloads.append(url)
        return b"\x89PNG"

    client.download = download  # type: ignore[method-assign]

    board = build_storyboard(client, "p", segments=6, aspect_ratio="1:1", concurrency=3)

    assert in_flight[1] <= 3
    assert in_flight[1] > 1
    assert [frame.segment.index for frame in board.frames] == [1, 2, 3, 4, 5, 6]
    assert sorted(downloads) == [f"http://media.test/v{i}.png" for i in range(1, 7)]
    assert "aspect-ratio: 1 / 1" in board.html()


@pytest.mark.parametrize(
    ("status", "body", "retry_after", "retried"),
    [
        (429, {"code": "budget_exceeded"}, 3600.0, True),
        (503, {"code": "provider_rate_limited"}, None, True),
        (503, {"code": "provider_circuit_open"}, 30.0, True),
        (503, {"code": "provider_unavailable"}, 120.0, True),  # the provider named a wait
        (503, {"message": "Service Unavailable"}, None, True),  # not the API's body: a gateway's
        (503, "Service Unavailable", None, True),
        # OpenRouter 402 (https://openrouter.ai/docs/api-reference/errors): a person must add credits
        (503, {"code": "provider_insufficient_credits"}, None, False),
        (503, {"code": "configuration_error"}, None, False),
        (502, {"code": "provider_unavailable"}, None, False),
        (409, {"code": "conflict"}, None, False),
        (409, {"code": "conflict"}, 2.0, True),
    ],
)
def test_what_the_client_retries(status: int, body: object, retry_after: float | None, retried: bool) -> None:
    from contentgen_client.client import is_retryable

    assert is_retryable(status, body, retry_after) is retried
