"""The Python client against the local API over HTTP: typed answers, errors, video waits."""

from __future__ import annotations

import pytest

from contentgen_client import Client, ContentFilteredError, InvalidRequestError, NotFoundError, ServerError
from contentgen_client.models import StoryResponse
from local.aws import LOCAL_API_KEY
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


@pytest.fixture
def api(local_api: str) -> Client:
    return Client(local_api, LOCAL_API_KEY, timeout=30)


def test_every_text_route_returns_its_model(api: Client, stack: Stack) -> None:
    story = api.story("a robot learns to paint", segments=3, language="es")
    assert isinstance(story, StoryResponse)
    assert [segment.index for segment in story.segments] == [1, 2, 3]
    assert len(api.long_story("a lighthouse", segments=4, chunk_size=2).segments) == 4
    assert [len(s.segments) for s in api.story_sets("a cat bakery", sets=2, segments_per_set=2).sets] == [
        2,
        2,
    ]
    assert api.meme("mondays", segments=3).segments[-1].beat == "punchline"
    assert api.content("a caption", max_tokens=50).content
    assert len(api.ideas("cooking", count=3).ideas) == 3
    assert api.analyze_character(image_url="https://example.com/pip.png").character.visual_prompt
    assert api.health().status == "ok"


def test_a_repeat_with_the_same_key_is_not_paid_twice(api: Client, stack: Stack) -> None:
    first = api.story("a robot", segments=2, idempotency_key="same-key-1")
    second = api.story("a robot", segments=2, idempotency_key="same-key-1")

    assert first == second
    assert len(stack.provider.requests()) == 1


def test_a_thumbnail_with_a_character_downloads(api: Client, stack: Stack) -> None:
    thumbnail = api.thumbnail(
        "at the easel", aspect_ratio="1:1", character={"name": "Pip", "visual_prompt": "a copper robot"}
    )

    assert thumbnail.aspect_ratio == "1:1"
    assert api.download(thumbnail.image_url)[:8] == b"\x89PNG\r\n\x1a\n"


def test_wait_for_video_returns_the_finished_job(api: Client, stack: Stack) -> None:
    job = api.video("a paper boat", duration_seconds=4)
    seen: list[str] = []

    done = api.wait_for_video(
        job.job_id, timeout=60, poll_interval=0.2, on_status=lambda s: seen.append(s.status)
    )

    assert done.status == "succeeded"
    assert done.video_url
    assert api.download(done.video_url)
    assert seen[-1] == "succeeded"


def test_errors_are_typed_with_code_and_request_id(api: Client, stack: Stack) -> None:
    with pytest.raises(InvalidRequestError) as invalid:
        api.story("x", segments=51)
    assert invalid.value.status_code == 422
    assert invalid.value.code == "invalid_request"
    assert invalid.value.request_id
    assert invalid.value.errors[0]["field"] == "segment_count"

    with pytest.raises(NotFoundError) as missing:
        api.result("no-such-request")
    assert missing.value.code == "not_found"

    stack.provider.faults({"kind": "filtered", "reason": "IMAGE_SAFETY", "target": "gemini"})
    with pytest.raises(ContentFilteredError) as refused:
        api.thumbnail("something unsafe")
    assert (refused.value.status_code, refused.value.code) == (422, "content_filtered")


def test_an_empty_provider_account_is_not_retried(local_api: str, stack: Stack) -> None:
    # OpenRouter 402 "insufficient credits. Add more credits and retry"
    # (https://openrouter.ai/docs/api-reference/errors): only a person adding credits fixes it.
    sleeps: list[float] = []
    api = Client(local_api, LOCAL_API_KEY, timeout=30, sleep=sleeps.append)
    stack.provider.faults(
        {
            "kind": "raw",
            "target": "openai",
            "status": 402,
            "body": {"error": {"code": 402, "message": "Insufficient credits"}},
            "count": 5,
        }
    )

    with pytest.raises(ServerError) as failed:
        api.content("a caption")

    assert (failed.value.status_code, failed.value.code) == (503, "provider_insufficient_credits")
    assert len(stack.provider.requests()) == 1, "neither the API nor the client sent it again"
    assert sleeps == []


def test_a_503_that_names_a_wait_is_retried_after_it_or_raised_at_once_when_too_long(
    local_api: str, stack: Stack
) -> None:
    # OpenRouter 503 with Retry-After (https://openrouter.ai/docs/api-reference/errors): the API
    # answers 503 with the provider's wait; the client comes back after it when max_wait allows it,
    # and otherwise raises at once, saying when to come back (issue 23).
    unavailable = {
        "kind": "raw",
        "target": "openai",
        "status": 503,
        "headers": {"Retry-After": "120"},
        "body": {"error": {"code": 503, "message": "No available model provider"}},
    }
    sleeps: list[float] = []
    patient = Client(local_api, LOCAL_API_KEY, timeout=30, max_wait=300, sleep=sleeps.append)
    stack.provider.faults(unavailable)

    assert patient.content("a caption").content
    assert sleeps == [120]
    assert len(stack.provider.requests()) == 2

    stack.provider.reset()
    stack.provider.configure(api_key=stack.key, google_api_key=stack.google_key)
    stack.provider.faults(unavailable)
    hasty = Client(local_api, LOCAL_API_KEY, timeout=30, max_wait=5, sleep=sleeps.append)
    with pytest.raises(ServerError) as failed:
        hasty.content("another caption")

    assert failed.value.retry_after == 120
    assert "Try again in 2 min" in str(failed.value)
    assert sleeps == [120]  # no second wait
    assert len(stack.provider.requests()) == 1


def test_usage_is_one_method_like_every_route_and_says_who_answered(api: Client, stack: Stack) -> None:
    story = api.story("a robot learns to paint", segments=2)
    assert story.usage is not None
    assert story.usage.cost_usd is not None

    report = api.usage()

    assert report.today.requests >= 1
    assert report.today.cost_usd >= story.usage.cost_usd
    assert report.remaining_today_usd == pytest.approx(report.daily_budget_usd - report.today.cost_usd)
    assert "StorySegmentsFunction" in report.today.functions
    assert (api.emulated("text"), api.emulated("media")) == (True, True)  # the local stack's emulator
