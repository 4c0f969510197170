"""Shorts end to end on the local stack (issue 25): POST /shorts (the API function) starts ONE
durable execution, which the testing SDK's in-process runner runs (the real short job function:
real openai + google-genai SDKs against the provider emulator, real boto3 against moto, real
ffmpeg); GET /shorts/{short_id} reads it for the key that paid. The MP4 is checked as a viewer's
player would read it: streams, frame size, duration against the narrations, captions (soft track
and burned in). Provider calls are counted on the emulator: a crash after each paid step's work
pays nothing twice. The webhook is delivered to a recording poster and verified.
"""

from __future__ import annotations

import base64
import json
import urllib.request
import uuid
import wave
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from contentgen.assembly import (
    SegmentInput,
    ShortSpec,
    Toolchain,
    assemble_short,
    build_cues,
    probe,
    speech_bounds,
)
from contentgen.billing import budgets
from contentgen.services import webhooks
from contentgen.services.webhooks import PostResult, verify
from contentgen.stores.ledger import HOLD_PREFIX, SETTLED_PREFIX, set_daily_budget
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
from tests.integration.test_assembly import ffmpeg_says, gray_frame

pytestmark = pytest.mark.integration

API = "ShortsFunction"
JOB = "ShortJobFunction"
KEY_A = "key-a-short"
KEY_B = "key-b-short"
SECRET = "whsec_" + base64.b64encode(b"contentgen-test-webhook-secret-32b").decode()
HOOK = "https://hooks.example.com/contentgen"


class Api(JobApi):
    def __init__(self, api_event: Callable[..., dict[str, Any]]) -> None:
        super().__init__(api_event, function=API, resource="/shorts", id_param="short_id", key_id=KEY_A)


@pytest.fixture
def api(stack: Stack, api_event: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    monkeypatch.delenv("WEBHOOK_SECRET_PARAM", raising=False)
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    return Api(api_event)


@pytest.fixture
def hooks() -> Iterator[list[tuple[str, bytes, dict[str, str]]]]:
    """Webhook deliveries, answered 503 the first time (a retry after a durable wait), then 204."""
    received: list[tuple[str, bytes, dict[str, str]]] = []

    def poster(url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
        received.append((url, body, headers))
        return PostResult(503 if len(received) == 1 else 204)

    webhooks.set_webhook_poster(poster)
    yield received
    webhooks.set_webhook_poster(None)


@pytest.fixture
def jobs(api: Api) -> Iterator[RunnerStarter]:
    with running(handler(JOB)) as starter:
        yield starter


def provider_calls(stack: Stack) -> dict[str, int]:
    counts = {"text": 0, "image": 0, "speech": 0}
    for request in stack.provider.requests():
        if request["path"].endswith("/chat/completions"):
            counts["text"] += 1
            continue
        modalities = ((request["body"] or {}).get("generationConfig") or {}).get("responseModalities") or []
        if "IMAGE" in modalities:
            counts["image"] += 1
        elif "AUDIO" in modalities:
            counts["speech"] += 1
    return counts


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        data: bytes = response.read()
        return data


def wav_seconds(data: bytes) -> float:
    import io

    with wave.open(io.BytesIO(data)) as stored:
        return float(stored.getnframes() / stored.getframerate())


def test_a_short_is_made_end_to_end_checked_as_a_player_would(
    stack: Stack, api: Api, jobs: RunnerStarter, hooks: list[Any], tmp_path: Path
) -> None:
    key = f"key-{uuid.uuid4().hex[:12]}"  # a spend day of its own
    status, accepted = api.call(
        "POST",
        "/shorts",
        {"prompt": "A lighthouse keeper finds a letter", "segment_count": 3, "callback_url": HOOK},
        key_id=key,
    )
    assert status == 202, accepted
    assert accepted["status_url"] == f"/prod/shorts/{accepted['short_id']}"
    assert accepted["estimate_usd"] > 0
    results = jobs.wait_all()
    assert all(succeeded(result) for result in results), [r.error for r in results]

    status, short = api.call("GET", f"/shorts/{accepted['short_id']}", key_id=key)
    assert status == 200, short
    assert (short["status"], short["step"], short["segments_done"], short["segments_total"]) == (
        "succeeded",
        "done",
        3,
        3,
    ), short
    assert short["usage"]["image"] > 0
    assert short["usage"]["voice"] > 0
    assert short["usage"]["video"] == 0
    assert short["usage"]["cost_usd"] == pytest.approx(
        (short["usage"]["text"] or 0) + short["usage"]["image"] + short["usage"]["voice"], abs=1e-6
    )
    assert provider_calls(stack) == {"text": 1, "image": 3, "speech": 3}
    # Only the key that paid can read it.
    assert api.call("GET", f"/shorts/{accepted['short_id']}", key_id=KEY_B)[0] == 404
    # Money: the estimate was held before anything was paid (it travelled in the start) and the
    # short settled once, at what its steps cost: the day holds the charge and no hold.
    (started,) = jobs.starts
    reservation = json.loads(started.payload)["reservation"]
    assert Decimal(reservation["usd"]) == Decimal(str(accepted["estimate_usd"])) > 0
    assert [hold["api_key_id"] for hold in reservation["holds"]] == [key]
    day = spend_day(stack, key)
    assert Decimal(day["cost_usd"]["N"]) == pytest.approx(
        Decimal(str(short["usage"]["cost_usd"])), abs=Decimal("1e-6")
    )
    assert not [name for name in day if name.startswith(HOLD_PREFIX)], "the hold is released"

    video = tmp_path / "short.mp4"
    video.write_bytes(fetch(short["video_url"]))
    info = probe(video)
    assert [(t.handler, t.codec) for t in info.tracks] == [
        ("vide", "avc1"),
        ("soun", "mp4a"),
        ("sbtl", "tx3g"),
    ]
    assert (info.tracks[0].width, info.tracks[0].height) == (1080, 1920)
    assert info.faststart
    tools = Toolchain.locate()
    _, streams = ffmpeg_says(tools, video)
    assert any(s.startswith("Video: h264") and "1080x1920" in s for s in streams)
    assert any(s.startswith("Audio: aac") for s in streams)
    narrations = [fetch(url) for url in short["parts"]["audio"]]
    narration_total = sum(wav_seconds(data) for data in narrations)
    assert info.duration_s == pytest.approx(narration_total, rel=0.05)  # the criterion
    assert "-->" in fetch(short["captions_url"]).decode()

    # Burned in: a frame where the first caption shows differs from the same short made from the
    # same parts without burned-in captions.
    inputs = []
    story = short["parts"]["story"]
    for n, (image_url, data) in enumerate(zip(short["parts"]["images"], narrations, strict=True), start=1):
        (tmp_path / f"{n}.png").write_bytes(fetch(image_url))
        (tmp_path / f"{n}.wav").write_bytes(data)
        seconds = wav_seconds(data)
        start, end = speech_bounds(tmp_path / f"{n}.wav")
        text = story["segments"][n - 1]["text"]
        cues = build_cues(text, seconds, speech_start_s=start, speech_end_s=end)
        inputs.append(
            SegmentInput(visual=tmp_path / f"{n}.png", narration=tmp_path / f"{n}.wav", cues=tuple(cues))
        )
    bare = assemble_short(
        ShortSpec(segments=tuple(inputs), title=story["title"][:80], breath_s=0.12, title_overlay=True),
        tmp_path / "bare",
        burn_captions=False,
        timeout_s=600,  # a bound for a loaded machine, not a speed check (make bench-short)
    )
    first = inputs[0].cues[0]
    at = (first.start_s + first.end_s) / 2
    with_captions, without = (
        gray_frame(tools, video, at, 1080, 1920),
        gray_frame(tools, bare.path, at, 1080, 1920),
    )
    changed = sum(1 for a, b in zip(with_captions, without, strict=True) if abs(a - b) > 80)
    assert changed > 2000  # letters, not encoder noise

    # The webhook: signed the Standard Webhooks way, retried after the 503 with the same id.
    assert len(hooks) == 2
    ids = {headers["webhook-id"] for _, _, headers in hooks}
    assert ids == {f"msg_{accepted['short_id']}"}
    for url, body, headers in hooks:
        assert url == HOOK
        assert verify(SECRET, headers, body)
        assert headers["webhook-signature"].startswith("v1,")
        payload = json.loads(body)
        assert payload["type"] == "short.succeeded"
        assert payload["data"]["short_id"] == accepted["short_id"]


@pytest.mark.parametrize("step", ["story", "image-2", "narration-3", "assemble", "charge"])
def test_a_crash_after_a_paid_step_resumes_and_pays_nothing_twice(
    stack: Stack, api: Api, jobs: RunnerStarter, hooks: list[Any], step: str
) -> None:
    """The invocation dies right after `step` ran (before its checkpoint): the replay asks no
    provider again and the key's day is settled once (one `settled#` marker, no hold left)."""
    key = f"key-{uuid.uuid4().hex[:12]}"
    with crash_after({step}) as crashed:
        status, accepted = api.call(
            "POST", "/shorts", {"prompt": "A fox learns to sail", "segment_count": 3}, key_id=key
        )
        assert status == 202, accepted
        results = jobs.wait_all()
    assert crashed == {step}
    assert all(succeeded(result) for result in results), [r.error for r in results]
    status, short = api.call("GET", f"/shorts/{accepted['short_id']}", key_id=key)
    assert short["status"] == "succeeded", short
    assert provider_calls(stack) == {"text": 1, "image": 3, "speech": 3}
    day = spend_day(stack, key)
    assert len([name for name in day if name.startswith(SETTLED_PREFIX)]) == 1, day
    assert not [name for name in day if name.startswith(HOLD_PREFIX)], day


def spend_day(stack: Stack, key: str) -> dict[str, Any]:
    item = client("dynamodb", stack.aws_url).get_item(
        TableName=physical_name("SpendTable"),
        Key={"pk": {"S": key}, "sk": {"S": budgets.utc_day(budgets.clock())}},
        ConsistentRead=True,
    )
    return dict(item.get("Item", {}))


def test_a_short_over_budget_is_429_naming_the_estimate_and_starts_nothing(
    stack: Stack, api: Api, jobs: RunnerStarter
) -> None:
    """The short's most (catalog prices: the story's bound, the dearest image model per segment,
    each narration's bound) is held before anything starts: a key whose budget cannot hold it gets
    429 budget_exceeded naming the estimate; no job, no provider request, no hold left."""
    key = f"key-{uuid.uuid4().hex[:12]}"
    # The ledger admits a key while its day has budget left; this one has none today.
    set_daily_budget(key, Decimal(0))
    status, refused = api.call("POST", "/shorts", {"prompt": "A kite", "segment_count": 3}, key_id=key)
    assert (status, refused["code"]) == (429, "budget_exceeded"), refused
    assert "may cost up to" in refused["message"]
    assert "3 images x" in refused["message"]
    assert "3 narrations x" in refused["message"]
    assert jobs.starts == []
    assert stack.provider.requests() == []
    assert not [name for name in spend_day(stack, key) if name.startswith(HOLD_PREFIX)]


def test_a_voice_the_catalog_does_not_have_is_refused_naming_the_allowed_ones(stack: Stack, api: Api) -> None:
    status, answer = api.call("POST", "/shorts", {"prompt": "x", "voice": "Robotron"})
    assert status == 422, answer
    assert "voice" in json.dumps(answer)
    assert "Kore" in json.dumps(answer)
    assert stack.provider.requests() == []


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/hook",  # a non-public literal
        "http://hooks.example.com/hook",  # not https
        "https://169.254.169.254.nip.io/hook",  # a public-looking name resolving to the metadata address
        "https://hooks.localtest.me/hook",  # resolves to 127.0.0.1
        "https://nowhere.invalid/hook",  # does not resolve
    ],
)
def test_a_callback_url_that_is_not_public_is_refused_before_anything_starts(
    stack: Stack, api: Api, jobs: RunnerStarter, url: str
) -> None:
    status, answer = api.call("POST", "/shorts", {"prompt": "x", "callback_url": url})
    assert status == 422, answer
    assert "callback_url" in json.dumps(answer)
    assert jobs.starts == []
    assert stack.provider.requests() == []


# -- entry points: like every function, direct invocation, its queue and the bus ------------------


def _one_short_made(stack: Stack, jobs: RunnerStarter) -> str:
    """Wait for the executions; exactly one was started, it succeeded and paid once per part."""
    results = jobs.wait_all()
    assert len(jobs.starts) == 1, jobs.starts
    assert all(succeeded(result) for result in results), [r.error for r in results]
    assert provider_calls(stack) == {"text": 1, "image": 3, "speech": 3}
    (short_id,) = {start.name for start in jobs.starts}
    return short_id


def test_a_direct_invocation_answers_the_202_body_and_starts_one_short(
    stack: Stack, api: Api, jobs: RunnerStarter
) -> None:
    """`aws lambda invoke` with the request body itself as the event: the 202's body comes back."""
    context = LocalLambdaContext(function_name=API, timeout_seconds=29)
    answer = handler(API)({"prompt": "A fox learns to sail", "segment_count": 3}, context)
    assert answer["status"] in {"pending", "running"}, answer  # the runner may have begun it already
    assert answer["short_id"].startswith("short-")
    assert answer["status_url"].endswith(f"/shorts/{answer['short_id']}")
    assert _one_short_made(stack, jobs) == answer["short_id"]


def test_the_same_request_delivered_twice_on_its_queue_makes_one_short(
    stack: Stack, api: Api, jobs: RunnerStarter
) -> None:
    """SQS is at-least-once: two deliveries of one message (two invocations of the dispatcher)
    start ONE named execution, paid once; the short belongs to the key the message names."""
    request_id = f"short-{uuid.uuid4().hex[:8]}"
    body = json.dumps(
        {"request_id": request_id, "api_key_id": KEY_A, "request": {"prompt": "A kite", "segment_count": 3}}
    )
    queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{physical_name('ShortsQueue')}"
    for delivery in range(2):
        message = {"MessageId": f"m-{delivery}", "ReceiptHandle": f"r-{delivery}", "Body": body}
        answer = handler(API)(sqs_event([message], queue_arn), LocalLambdaContext(function_name=API))
        assert answer == {"batchItemFailures": []}
    short_id = _one_short_made(stack, jobs)
    status, short = api.call("GET", f"/shorts/{short_id}")
    assert (status, short["status"]) == (200, "succeeded"), short


def test_a_request_on_the_bus_starts_one_short(stack: Stack, api: Api, jobs: RunnerStarter) -> None:
    """An EventBridge event (detail-type `shorts`, the request in `detail`) delivered twice, as a
    rule targeting the function directly would: one execution."""
    request_id = f"short-{uuid.uuid4().hex[:8]}"
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "shorts",
        "source": "creator.pipeline",
        "account": "123456789012",
        "time": "2026-12-07T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "request_id": request_id,
            "api_key_id": KEY_A,
            "request": {"prompt": "A kite", "segment_count": 3},
        },
    }
    for _ in range(2):
        handler(API)(event, LocalLambdaContext(function_name=API))
    short_id = _one_short_made(stack, jobs)
    status, short = api.call("GET", f"/shorts/{short_id}")
    assert (status, short["status"]) == (200, "succeeded"), short


# -- clips: a generated video clip per segment (the video chain POST /videos uses) ---------------


def video_starts(stack: Stack) -> int:
    """Paid video starts the emulator received (Interactions creates, Veo long-running starts)."""
    return sum(
        1
        for request in stack.provider.requests()
        if request["path"].endswith("/interactions") or request["path"].endswith(":predictLongRunning")
    )


def short_story(stack: Stack) -> None:
    """The story the text model answers next: three segments of ten words (4 s of narration at
    150 words a minute), so every segment fits a clip the Omni chain makes (3 to 15 s)."""
    story = {
        "title": "The Paper Boat",
        "segments": [
            {
                "text": f"{opening} the little paper boat sails on through the rain.",
                "visual_prompt": f"A paper boat on a rainy street, shot {n}, vertical",
            }
            for n, opening in enumerate(("Down the gutter", "Past the lamps", "Into the sea"), start=1)
        ],
    }
    stack.provider.faults({"kind": "reply", "target": "openai", "content": json.dumps(story)})


def _stills_estimate(**fields: Any) -> float:
    from contentgen.models.shorts import ShortRequest
    from contentgen.services.shorts import estimate

    return float(estimate(ShortRequest.model_validate({**fields, "clips": False}))["total"])


def test_clips_a_generated_clip_per_segment_is_paid_once_and_assembled(
    stack: Stack, api: Api, jobs: RunnerStarter, tmp_path: Path
) -> None:
    """`clips: true` on the Gemini API (the catalog's Omni chain: 3 to 15 s): each segment gets a
    clip covering its narration, started once, waited for as a durable wait, its cost in the
    estimate (held before anything starts) and in `usage.video`; the MP4 shows the clip in its
    segment (a frame of segment 2 has the clip's colour where no caption or title is drawn)."""
    key = f"key-{uuid.uuid4().hex[:12]}"
    short_story(stack)
    body = {"prompt": "A paper boat crosses a rainy city", "segment_count": 3, "clips": True}
    status, accepted = api.call("POST", "/shorts", body, key_id=key)
    assert status == 202, accepted
    assert accepted["estimate_usd"] > _stills_estimate(**body)  # the clips are in the hold
    (started,) = jobs.starts
    assert Decimal(json.loads(started.payload)["reservation"]["usd"]) == Decimal(
        str(accepted["estimate_usd"])
    )
    results = jobs.wait_all()
    assert all(succeeded(result) for result in results), [r.error for r in results]

    status, short = api.call("GET", f"/shorts/{accepted['short_id']}", key_id=key)
    assert short["status"] == "succeeded", short
    visuals = short["parts"]["visuals"]
    assert [v["kind"] for v in visuals] == ["clip", "clip", "clip"], visuals
    assert all(v["reason"] is None and v["model"].startswith("gemini-omni") for v in visuals), visuals
    narrations = [fetch(url) for url in short["parts"]["audio"]]
    for visual, data in zip(visuals, narrations, strict=True):
        assert visual["seconds"] >= wav_seconds(data)  # the clip covers its narration
    assert provider_calls(stack) == {"text": 1, "image": 3, "speech": 3}
    assert video_starts(stack) == 3
    usage = short["usage"]
    assert usage["video"] > 0
    assert usage["cost_usd"] == pytest.approx(
        (usage["text"] or 0) + usage["image"] + usage["voice"] + usage["video"], abs=1e-6
    )
    day = spend_day(stack, key)
    assert Decimal(day["cost_usd"]["N"]) == pytest.approx(
        Decimal(str(usage["cost_usd"])), abs=Decimal("1e-6")
    )
    assert not [name for name in day if name.startswith(HOLD_PREFIX)]

    video = tmp_path / "short.mp4"
    video.write_bytes(fetch(short["video_url"]))
    info = probe(video)
    assert (info.tracks[0].width, info.tracks[0].height) == (1080, 1920)
    assert info.duration_s == pytest.approx(sum(wav_seconds(data) for data in narrations), rel=0.05)
    tools = Toolchain.locate()
    clip = tmp_path / "clip2.mp4"
    clip.write_bytes(fetch(short["parts"]["clips"][1]))
    clip_info = probe(clip)
    width, height = clip_info.tracks[0].width, clip_info.tracks[0].height
    clip_gray = gray_frame(tools, clip, 0.1, width, height)
    first = wav_seconds(narrations[0]) + 0.12
    at = first + wav_seconds(narrations[1]) / 2
    frame = gray_frame(tools, video, at, 1080, 1920)
    top = frame[: 1080 * 190]  # the top tenth: no caption, no title
    mean = sum(top) / len(top)
    assert mean == pytest.approx(sum(clip_gray) / len(clip_gray), abs=8)


def test_clips_in_an_aspect_ratio_no_video_model_makes_keep_their_stills_and_say_why(
    stack: Stack, api: Api, jobs: RunnerStarter
) -> None:
    """1:1: the catalog's video models make 16:9 and 9:16 only. Nothing is started or held for
    clips; every segment keeps its still and the status says why."""
    key = f"key-{uuid.uuid4().hex[:12]}"
    body = {"prompt": "A kite", "segment_count": 3, "clips": True, "aspect_ratio": "1:1"}
    status, accepted = api.call("POST", "/shorts", body, key_id=key)
    assert status == 202, accepted
    assert accepted["estimate_usd"] == pytest.approx(_stills_estimate(**body))
    results = jobs.wait_all()
    assert all(succeeded(result) for result in results), [r.error for r in results]
    status, short = api.call("GET", f"/shorts/{accepted['short_id']}", key_id=key)
    assert short["status"] == "succeeded", short
    visuals = short["parts"]["visuals"]
    assert [v["kind"] for v in visuals] == ["still"] * 3
    assert all("1:1" in v["reason"] for v in visuals), visuals
    assert short["parts"]["clips"] == [None, None, None]
    assert video_starts(stack) == 0
    assert short["usage"]["video"] == 0


def test_a_clip_that_fails_leaves_its_segment_the_still_and_stays_charged(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Segment 2's clip ends `failed` at the provider (its words): that segment is assembled
    from its still (the status says so, quoting the provider), the others from their clips; the
    failed clip's seconds stay charged (Google bills the seconds asked for)."""
    from contentgen.config import get_settings
    from contentgen.services import short_pipeline

    # One segment at a time, so the fault queued just before the second clip's start is that
    # start's (the emulator hands queued faults to the next Google request).
    monkeypatch.setenv("SHORT_PARALLEL_SEGMENTS", "1")
    get_settings.cache_clear()
    from contentgen.generation.videos import start_video as real_start

    prompts: list[str] = []

    def start(prompt: str, **kwargs: Any) -> Any:
        prompts.append(prompt)
        if len(prompts) == 2:
            stack.provider.faults(
                {"kind": "video_failed", "target": "gemini", "reason": "Video generation failed."}
            )
        return real_start(prompt, **kwargs)

    monkeypatch.setattr(short_pipeline, "start_video", start)
    short_story(stack)
    key = f"key-{uuid.uuid4().hex[:12]}"
    status, accepted = api.call(
        "POST", "/shorts", {"prompt": "A fox learns to sail", "segment_count": 3, "clips": True}, key_id=key
    )
    assert status == 202, accepted
    results = jobs.wait_all()
    assert all(succeeded(result) for result in results), [r.error for r in results]
    status, short = api.call("GET", f"/shorts/{accepted['short_id']}", key_id=key)
    assert short["status"] == "succeeded", short
    visuals = short["parts"]["visuals"]
    assert sorted(v["kind"] for v in visuals) == ["clip", "clip", "still"], visuals
    (still,) = [v for v in visuals if v["kind"] == "still"]
    assert "Video generation failed." in still["reason"], still
    assert [url is None for url in short["parts"]["clips"]] == [v["kind"] == "still" for v in visuals]
    assert video_starts(stack) == 3
    # Three clips' seconds charged: the failed one too.
    per_clip = [v["seconds"] for v in visuals if v["kind"] == "clip"]
    assert short["usage"]["video"] > 0
    assert len(per_clip) == 2


@pytest.mark.parametrize("step", ["clip-2", "clip-2-ready", "clip-2-store"])
def test_a_crash_in_a_clip_step_resumes_and_pays_nothing_twice(
    stack: Stack, api: Api, jobs: RunnerStarter, step: str
) -> None:
    """The invocation dies right after a clip step's work (the start, a check, the store): the
    replay starts no clip again and settles the day once."""
    key = f"key-{uuid.uuid4().hex[:12]}"
    short_story(stack)
    with crash_after({step}) as crashed:
        status, accepted = api.call(
            "POST",
            "/shorts",
            {"prompt": "A fox learns to sail", "segment_count": 3, "clips": True},
            key_id=key,
        )
        assert status == 202, accepted
        results = jobs.wait_all()
    assert crashed == {step}
    assert all(succeeded(result) for result in results), [r.error for r in results]
    status, short = api.call("GET", f"/shorts/{accepted['short_id']}", key_id=key)
    assert short["status"] == "succeeded", short
    assert [v["kind"] for v in short["parts"]["visuals"]] == ["clip", "clip", "clip"]
    assert provider_calls(stack) == {"text": 1, "image": 3, "speech": 3}
    assert video_starts(stack) == 3
    day = spend_day(stack, key)
    assert len([name for name in day if name.startswith(SETTLED_PREFIX)]) == 1, day
    assert not [name for name in day if name.startswith(HOLD_PREFIX)], day


# -- a half-open breaker shared by the parallel segments ------------------------------------------


def test_parallel_segments_wait_out_a_half_open_breaker_instead_of_failing_the_short(
    stack: Stack, api: Api, jobs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google's provider-wide breaker is half-open with its one probe held by another container:
    every parallel segment's image request is refused before it is sent (ProviderCircuitOpenError).
    Each segment waits (a durable wait) and tries again; once that probe succeeded (the breaker
    closes) the short is made, each image paid once."""
    from contentgen.connectors.genai_connector import PROVIDER
    from contentgen.core import breaker as breakers

    store = ProbedElsewhere(f"{PROVIDER}#{breakers.PROVIDER_SCOPE}", refusals=2)
    monkeypatch.setattr(breakers, "_build_store", lambda settings: store)
    key = f"key-{uuid.uuid4().hex[:12]}"
    status, accepted = api.call("POST", "/shorts", {"prompt": "A kite", "segment_count": 3}, key_id=key)
    assert status == 202, accepted
    results = jobs.wait_all()
    assert store.refused >= 2
    assert all(succeeded(result) for result in results), [r.error for r in results]
    status, short = api.call("GET", f"/shorts/{accepted['short_id']}", key_id=key)
    assert short["status"] == "succeeded", short
    assert provider_calls(stack) == {"text": 1, "image": 3, "speech": 3}


# -- the dead-letter reaper: a short whose execution died still tells its callback_url -----------


def test_a_reaped_short_gets_its_failure_webhook_once(stack: Stack, api: Api, hooks: list[Any]) -> None:
    """An execution that ended TIMED_OUT/FAILED: its start payload reaches JobReaperFunction (the
    DLQ). The short ends failed (`execution_failed`), its JobFailed goes out once, and its
    `callback_url` gets the signed `short.failed` webhook: the receiver's 503 keeps the message
    failed (redelivered), the redelivery delivers it, a third delivery sends nothing."""
    import time

    from contentgen.stores.jobs import Job, claim_job, get_job

    reaper = handler("JobReaperFunction")
    job_id = f"short-reaped-{uuid.uuid4().hex[:12]}"
    request = {"prompt": "A kite", "segment_count": 3, "callback_url": HOOK}
    now = int(time.time())
    claim_job(Job(job_id, "short", KEY_A, "running", request, "h", now, now))
    body = json.dumps({"job_id": job_id, "kind": "short", "owner": KEY_A, "request": request})
    event = {"Records": [{"messageId": "m-1", "receiptHandle": "r-1", "body": body}]}
    context = LocalLambdaContext(function_name="JobReaperFunction", timeout_seconds=30)

    assert reaper(event, context) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}  # 503
    job = get_job(job_id)
    assert job is not None
    assert (job.status, job.error_code, job.notified, job.webhook) == (
        "failed",
        "execution_failed",
        True,
        None,
    )
    assert reaper(event, context) == {"batchItemFailures": []}  # redelivered: 204
    assert reaper(event, context) == {"batchItemFailures": []}  # at least once: nothing sent again
    assert len(hooks) == 2
    assert {headers["webhook-id"] for _, _, headers in hooks} == {f"msg_{job_id}"}
    for url, sent, headers in hooks:
        assert url == HOOK
        assert verify(SECRET, headers, sent)
        payload = json.loads(sent)
        assert payload["type"] == "short.failed"
        assert payload["data"] == {
            "short_id": job_id,
            "status": "failed",
            "error": job.error,
            "error_code": "execution_failed",
        }
    job = get_job(job_id)
    assert job is not None
    assert job.webhook == "delivered"
