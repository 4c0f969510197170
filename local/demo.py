"""`make demo`: start the local stack, call every function over HTTP, print what each produced."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from local.api_keys import api_key_id
from local.aws import LOCAL_API_KEY, client
from local.emulator import EmulatorControl
from local.ports import PortTaken
from local.stack import LocalStack
from local.template import ParameterValueError, physical_name, resolve

OUTPUT = Path(__file__).resolve().parent.parent / "local-output"


@dataclass(frozen=True)
class Call:
    title: str
    method: str
    path: str
    body: dict[str, Any] | None
    expect: int
    show: Callable[[dict[str, Any], TextIO], None]
    faults: tuple[dict[str, Any], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    # Template parameters naming the models the emulator fails for this call only (e.g. TextModel).
    dead_models: tuple[str, ...] = ()


def http(
    base: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: tuple[tuple[str, str], ...] = (),
) -> tuple[int, dict[str, Any], float]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base}{path}",
        data=data,
        method=method,
        # Every call presents the local stack's API key, so its spend is charged to that key.
        headers={"Content-Type": "application/json", "x-api-key": LOCAL_API_KEY, **dict(headers)},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw or b"{}"), (time.perf_counter() - started) * 1000


MEDIA_PATHS = ("/thumbnails", "/videos", "/shorts")
PLACEHOLDER = "  [placeholder: answered by the provider emulator, not a model]"


def emulated(stack: LocalStack, path: str) -> bool:
    """Whether the provider behind `path` is the local emulator (its answers are placeholders)."""
    if path.startswith(("/health", "/results", "/usage")):
        return False
    if path.startswith(MEDIA_PATHS):
        return not stack.real_google
    return not stack.real_openrouter


def wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent)


def show_segments(body: dict[str, Any], out: TextIO) -> None:
    if body.get("title"):
        print(f"    title: {body['title']}   (model: {body.get('model')})", file=out)
    for segment in body.get("segments", []):
        print(wrap(f"{segment['index']:>2}. {segment['text']}", "    "), file=out)
        print(wrap(f"visual: {segment['visual_prompt']}", "        "), file=out)


def show_sets(body: dict[str, Any], out: TextIO) -> None:
    for story_set in body.get("sets", []):
        print(f"    set {story_set['index']}: {story_set['title']}  [angle: {story_set['angle']}]", file=out)
        for segment in story_set["segments"]:
            print(wrap(f"{segment['index']:>2}. {segment['text']}", "      "), file=out)


def show_memes(body: dict[str, Any], out: TextIO) -> None:
    for segment in body.get("segments", []):
        print(wrap(f"{segment['index']:>2}. [{segment['beat']}] {segment['text']}", "    "), file=out)
        print(f"        caption: {segment['caption']!r}", file=out)


def show_content(body: dict[str, Any], out: TextIO) -> None:
    print(wrap(body.get("content", ""), "    "), file=out)
    print(f"    (model: {body.get('model')}, truncated: {body.get('truncated')})", file=out)


def show_ideas(body: dict[str, Any], out: TextIO) -> None:
    for number, idea in enumerate(body.get("ideas", []), start=1):
        print(f"    {number}. {idea['title']}  ({idea['format']})", file=out)
        print(wrap(f"hook: {idea['hook']}", "         "), file=out)
        print(wrap(f"why now: {idea['why_now']}", "         "), file=out)


def show_character(body: dict[str, Any], out: TextIO) -> None:
    character = body.get("character", {})
    for key in ("name", "appearance", "clothing", "personality_cues", "art_style", "visual_prompt"):
        print(wrap(f"{key}: {character.get(key)}", "    "), file=out)


def save_media(url: str, name: str) -> Path:
    """Download a presigned URL (served by the local moto) into local-output/ for a person to open."""
    path = OUTPUT / name
    with urllib.request.urlopen(url, timeout=30) as response:
        path.write_bytes(response.read())
    return path


def show_thumbnail(body: dict[str, Any], out: TextIO) -> None:
    path = save_media(body["image_url"], "thumbnail" + Path(body["s3_key"]).suffix)
    print(
        f"    s3://…/{body['s3_key']}  ({body['content_type']}, {body['aspect_ratio']}, model {body['model']})",
        file=out,
    )
    print(f"    presigned URL valid {body['expires_in']} s; saved to {os.path.relpath(path)}", file=out)


def show_json(body: dict[str, Any], out: TextIO) -> None:
    for line in json.dumps(body, indent=2).splitlines()[:20]:
        print(f"    {line}", file=out)


def show_health(body: dict[str, Any], out: TextIO) -> None:
    print(f"    status: {body['status']}", file=out)
    for name, part in body.get("checks", {}).items():
        print(f"    {name:14} {part['status']:8} {part.get('latency_ms', 0):7.1f} ms", file=out)


def show_error(body: dict[str, Any], out: TextIO) -> None:
    print(f"    {body.get('message')}", file=out)


# A 1x1 PNG, to show the base64 path without shipping an image.
TINY_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="

STORY = {
    "prompt": "A lighthouse keeper finds a message in a bottle addressed to her, dated tomorrow",
    "segment_count": 5,
    "style": "eerie, hopeful",
    "language": "en",
}

CALLS = [
    Call("health", "GET", "/health", None, 200, show_json),
    Call(
        "health, deep (SSM and each provider, with the local API key)",
        "GET",
        "/health?deep=true",
        None,
        200,
        show_health,
        headers=(("x-api-key", LOCAL_API_KEY),),
    ),
    Call(
        "story_segments with the primary model down (answered by the first fallback model)",
        "POST",
        "/stories/segments",
        {"prompt": "A chess clock that stops time", "segment_count": 3},
        200,
        show_segments,
        dead_models=("TextModel",),
    ),
    Call("story_segments", "POST", "/stories/segments", STORY, 200, show_segments),
    Call(
        "story_segments with a 429 then a 503 injected (retried)",
        "POST",
        "/stories/segments",
        {"prompt": "A cat runs a night bakery", "segment_count": 3},
        200,
        show_segments,
        faults=({"kind": "rate_limit", "retry_after": 1}, {"kind": "server_error", "status": 503}),
    ),
    Call(
        "story_segments_chunked (12 segments, 5 per chunk: outline + 3 chunks)",
        "POST",
        "/stories/segments/chunked",
        {
            "prompt": "A night-shift nurse discovers the hospital's 13th floor",
            "segment_count": 12,
            "chunk_size": 5,
        },
        200,
        show_segments,
    ),
    Call(
        "story_segments_in_sets (3 takes, requested concurrently)",
        "POST",
        "/stories/segments/sets",
        {
            "prompt": "A street musician's song makes strangers remember each other",
            "set_count": 3,
            "segments_per_set": 3,
        },
        200,
        show_sets,
    ),
    Call(
        "meme_segments",
        "POST",
        "/memes/segments",
        {"prompt": "When the code works on the first try", "segment_count": 4},
        200,
        show_memes,
    ),
    Call(
        "free_content",
        "POST",
        "/content",
        {"prompt": "Write a 2-line caption for a sunrise timelapse", "max_tokens": 60},
        200,
        show_content,
    ),
    Call(
        "trending_ideas",
        "POST",
        "/ideas/trending",
        {"niche": "home cooking on a budget", "idea_count": 4, "region": "UK"},
        200,
        show_ideas,
    ),
    Call(
        "analyze_character (image_base64)",
        "POST",
        "/characters/analyze",
        {"image_base64": TINY_PNG, "mime_type": "image/png"},
        200,
        show_character,
    ),
    Call(
        "analyze_character, http URL refused",
        "POST",
        "/characters/analyze",
        {"image_url": "http://example.com/hero.png"},
        422,
        show_error,
    ),
    Call(
        "generate_thumbnail (Imagen on Vertex AI, 16:9)",
        "POST",
        "/thumbnails",
        {"prompt": "A lighthouse keeper holding a glowing bottle, stormy sea", "aspect_ratio": "16:9"},
        200,
        show_thumbnail,
    ),
    Call(
        "story_segments, invalid request",
        "POST",
        "/stories/segments",
        {"prompt": "  ", "segment_count": 99},
        422,
        show_error,
    ),
]


def spend_of_this_run(base: str, out: TextIO) -> bool:
    """GET /usage with the demo's API key: what this run spent today, per function."""
    status, report, elapsed = http(base, "GET", "/usage", None)
    ok = status == 200 and report.get("today", {}).get("requests", 0) > 0
    print(
        f"\n[{'ok ' if ok else 'FAIL'}] spend of this run: GET /usage -> {status} in {elapsed:.0f} ms",
        file=out,
    )
    if status != 200:
        show_error(report, out)
        return False
    today = report["today"]
    print(
        f"    key {report['api_key_id']} on {report['day']}: {today['cost_usd']:.6f} USD over "
        f"{today['requests']} generations ({today['provider_requests']} provider requests, "
        f"{today['prompt_tokens']} + {today['completion_tokens']} tokens); budget "
        f"{report['daily_budget_usd']:.2f} USD, {report['remaining_today_usd']:.6f} left",
        file=out,
    )
    for function, spent in today["functions"].items():
        print(f"    {function:32} {spent['requests']:>3} x  {spent['cost_usd']:.6f} USD", file=out)
    print("    (event-triggered requests without api_key_id are charged to the pipeline key)", file=out)
    return ok


def follow_job(
    base: str,
    out: TextIO,
    *,
    name: str,
    route: str,
    body: dict[str, Any],
    placeholder: bool,
    poll_s: float,
    limit_s: float,
    introduce: Callable[[dict[str, Any]], str],
    state: Callable[[dict[str, Any]], str],
    detail: Callable[[dict[str, Any]], str],
    filename: str,
    done: Callable[[dict[str, Any], dict[str, Any]], str],
) -> bool:
    """POST `body` to `route` (a durable job's start, 202), then follow its `status_url` every
    `poll_s` seconds for at most `limit_s` while the durable execution (the testing SDK's runner on
    the local stack, `local.durable`) moves it along: a line each time `state(job)` changes (with
    `detail(job)` after it), the finished MP4 saved as `filename` under a `done(accepted, job)` line. True
    when the job succeeded."""
    status, accepted, elapsed = http(base, "POST", route, body)
    print(
        f"\n[{'ok ' if status == 202 else 'FAIL'}] {name}: POST {route} -> {status} in {elapsed:.0f} ms"
        f"{PLACEHOLDER if placeholder else ''}",
        file=out,
    )
    if status != 202:
        show_error(accepted, out)
        return False
    print(f"    {introduce(accepted)}", file=out)
    started, seen, job = time.perf_counter(), accepted["status"], accepted
    while job["status"] not in ("succeeded", "failed") and time.perf_counter() - started < limit_s:
        time.sleep(poll_s)
        _, job, _ = http(base, "GET", accepted["status_url"], None)
        now_seen = state(job)
        if now_seen != seen:
            seen = now_seen
            print(f"    after {time.perf_counter() - started:5.1f} s: {seen}{detail(job)}", file=out)
    if job["status"] != "succeeded":
        print(f"    FAIL: {job.get('error') or job['status']}", file=out)
        return False
    path = save_media(job["video_url"], filename)
    print(f"    {done(accepted, job)}; saved to {os.path.relpath(path)}", file=out)
    return True


def video_job(base: str, out: TextIO, placeholder: bool = False) -> bool:
    """POST /videos, then follow GET /videos/{job_id} (its `status_url`); saves the clip."""
    return follow_job(
        base,
        out,
        name="generate_video",
        route="/videos",
        body={"prompt": "A paper boat sailing down a rainy street at dusk", "aspect_ratio": "9:16"},
        placeholder=placeholder,
        poll_s=0.25,
        limit_s=60,
        introduce=lambda accepted: f"job {accepted['job_id']}: {accepted['status']}",
        state=lambda job: f"{job['status']} / {job.get('step')}",
        detail=lambda job: f" (progress {job.get('progress', 0):.0%}, checks: {job['checks']})",
        filename="video.mp4",
        done=lambda accepted, job: f"GET {accepted['status_url']} -> presigned video URL",
    )


def short_job(base: str, out: TextIO, placeholder: bool = False) -> bool:
    """POST /shorts, then follow GET /shorts/{short_id} step by step; saves the finished MP4."""
    return follow_job(
        base,
        out,
        name="short",
        route="/shorts",
        body={"prompt": "A lighthouse keeper finds a letter that was never sent", "segment_count": 3},
        placeholder=placeholder,
        poll_s=0.5,
        limit_s=900,
        introduce=lambda accepted: (
            f"short {accepted['short_id']}: estimated {accepted.get('estimate_usd')} USD"
        ),
        state=lambda short: (
            f"{short['status']} / {short.get('step')} "
            f"({short.get('segments_done', 0)}/{short.get('segments_total', 0)} segments)"
        ),
        detail=lambda short: "",
        filename="short.mp4",
        done=lambda accepted, short: (
            f"{short['duration_s']} s, {short['usage']['cost_usd']} USD (text {short['usage']['text']}, "
            f"images {short['usage']['image']}, voice {short['usage']['voice']})"
        ),
    )


def event_requests(stack: LocalStack, out: TextIO) -> bool:
    """One SQS message and one EventBridge event, their stored results and completion events."""
    assert stack.moto is not None
    assert stack.api is not None
    sqs, events = client("sqs", stack.moto.url), client("events", stack.moto.url)
    bus = physical_name("ContentgenEventBus")
    # A caller listening for results: a rule on the bus into a queue of its own.
    inbox = sqs.create_queue(QueueName="demo-caller-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="demo-caller", EventBusName=bus, EventPattern=json.dumps({"source": ["contentgen"]}))
    events.put_targets(Rule="demo-caller", EventBusName=bus, Targets=[{"Id": "inbox", "Arn": inbox_arn}])

    # Results are stored per API key (GET /results reads the caller's own): the messages name the
    # key the demo reads them back with, as a pipeline would (docs/events.md, `api_key_id`).
    key_id = api_key_id(LOCAL_API_KEY, stack.moto.url)
    queue = sqs.get_queue_url(QueueName=physical_name("StorySegmentsQueue"))["QueueUrl"]
    message = {
        "request_id": "demo-sqs-1",
        "api_key_id": key_id,
        "request": {"prompt": "A clockmaker who can pause time", "segment_count": 3},
    }
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(message))
    print(f"\n[..] SQS: sent request demo-sqs-1 to {physical_name('StorySegmentsQueue')}", file=out)
    detail = {"request_id": "demo-eb-1", "api_key_id": key_id, "niche": "indoor plants", "idea_count": 3}
    entry = {"Source": "demo.pipeline", "DetailType": "trending_ideas", "Detail": json.dumps(detail)}
    events.put_events(Entries=[{**entry, "EventBusName": bus}])
    print(f"[..] EventBridge: put a trending_ideas event (request demo-eb-1) on {bus}", file=out)

    ok = True
    for request_id in ("demo-sqs-1", "demo-eb-1"):
        status, stored, started = 404, dict[str, Any](), time.perf_counter()
        while status == 404 and time.perf_counter() - started < 30:
            time.sleep(0.2)
            status, stored, _ = http(stack.api.url, "GET", f"/results/{request_id}", None)
        ok = ok and status == 200 and stored.get("status") == "succeeded"
        mark = "ok " if ok else "FAIL"
        print(
            f"[{mark}] GET /results/{request_id} -> {status}: {stored.get('status')} ({stored.get('route')})",
            file=out,
        )
        result = stored.get("result") or {}
        for item in (result.get("segments") or result.get("ideas") or [])[:3]:
            print(wrap(f"- {item.get('text') or item.get('title')}", "    "), file=out)
    notes = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    for note in notes:
        event = json.loads(note["Body"])
        print(f"    the caller was told: {event['detail-type']} {json.dumps(event['detail'])}", file=out)
    return ok and len(notes) == 2


def storyboard(base: str, out: TextIO) -> bool:
    """`contentgen storyboard` through the Python client: one self-contained HTML page."""
    from contentgen_client import Client, ContentgenError
    from contentgen_client.storyboard import build_storyboard

    path = OUTPUT / "storyboard.html"
    started = time.perf_counter()
    try:
        with Client(base, LOCAL_API_KEY) as client:
            board = build_storyboard(client, "a robot learns to paint", segments=6, style="cozy, hopeful")
    except ContentgenError as exc:
        print(f"\n[FAIL] storyboard: {exc}", file=out)
        return False
    path.write_text(board.html(), encoding="utf-8")
    elapsed = (time.perf_counter() - started) * 1000
    print(f"\n[ok ] storyboard: a story and {len(board.frames)} thumbnails in {elapsed:.0f} ms", file=out)
    print(f"    open {path}", file=out)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description="Run every function end to end on the local stack.")
    parser.add_argument("--port", type=int, default=0, help="local API port (0: any free port)")
    parser.add_argument("--aws-port", type=int, default=0, help="moto port (0: any free port)")
    parser.add_argument(
        "--emulator-port", type=int, default=0, help="provider emulator port (0: any free port)"
    )
    args = parser.parse_args()
    OUTPUT.mkdir(exist_ok=True)
    terminal = sys.stdout
    log_path = OUTPUT / "demo-functions.log"
    # The functions' JSON logs and EMF metrics go to a file; the summary goes to the terminal.
    sys.stdout = log_path.open("w")
    try:
        stack = LocalStack(
            api_port=args.port, aws_port=args.aws_port, emulator_port=args.emulator_port
        ).start()
    except (PortTaken, ParameterValueError) as taken:
        sys.stdout.close()
        sys.stdout = terminal
        print(
            f"{'make demo: ' if isinstance(taken, ParameterValueError) else ''}{taken}".replace(
                "make api", "make demo"
            ),
            file=sys.stderr,
        )
        return 1
    failures = 0
    try:
        print(stack.describe(), file=terminal)
        assert stack.api is not None
        control = EmulatorControl(stack.emulator.url) if stack.emulator else None
        for call in CALLS:
            injected = call.faults or call.dead_models
            if injected and (control is None or stack.real_openrouter):
                continue
            if control is not None and call.faults:
                control.faults(*call.faults)
            if control is not None and call.dead_models:
                dead = (str(resolve({"Ref": parameter})) for parameter in call.dead_models)
                control.configure(dead_models=dict.fromkeys(dead, 503))
            status, body, elapsed = http(stack.api.url, call.method, call.path, call.body, call.headers)
            if control is not None and call.dead_models:
                control.configure(dead_models={})
            ok = status == call.expect
            failures += not ok
            mark = "ok " if ok else "FAIL"
            note = PLACEHOLDER if status < 300 and emulated(stack, call.path) else ""
            print(
                f"\n[{mark}] {call.title}: {call.method} {call.path} -> {status} in {elapsed:.0f} ms{note}",
                file=terminal,
            )
            (call.show if ok else show_error)(body, terminal)

        failures += not video_job(stack.api.url, terminal, emulated(stack, "/videos"))
        failures += not short_job(stack.api.url, terminal, emulated(stack, "/shorts"))
        failures += not event_requests(stack, terminal)
        failures += not storyboard(stack.api.url, terminal)

        direct_body = {"prompt": "Two rival food trucks share one parking spot", "segment_count": 2}
        result, elapsed = stack.runtime.invoke("StorySegmentsFunction", direct_body)
        ok = isinstance(result, dict) and len(result.get("segments", [])) == 2
        failures += not ok
        print(
            f"\n[{'ok ' if ok else 'FAIL'}] story_segments invoked directly (body as the event) in {elapsed:.0f} ms"
            f"{PLACEHOLDER if emulated(stack, '/stories/segments') else ''}",
            file=terminal,
        )
        show_segments(result, terminal)
        failures += not spend_of_this_run(stack.api.url, terminal)
        for poller in stack.pollers:
            for error in poller.errors:
                failures += 1
                print(f"\n[FAIL] {type(poller).__name__}: {error}", file=terminal)
    finally:
        stack.stop()
        sys.stdout.close()
        sys.stdout = terminal
    print(f"\nfunction logs and metrics: {os.path.relpath(log_path)}")
    print("demo passed" if not failures else f"demo: {failures} call(s) did not answer as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
