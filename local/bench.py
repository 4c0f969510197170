"""`make bench`: cold start, warm overhead and memory of story_segments on the provider emulator.

- cold start: a fresh Python process imports the handler and serves its first request (key read
  from SSM on moto, completion from the emulator), against a naive handler (`local.bench_naive`)
  that imports both SDKs, boto3 and Powertools and builds its clients at import;
- warm: the handler's time per invocation against a bare `openai` SDK call sending the same
  request to the same emulator (interleaved, medians);
- peak memory (max RSS) of each cold-start process;
- story_segments_in_sets: wall time of five sets against one, the emulator answering each request
  after 400 ms (sets are requested concurrently, up to MAX_PARALLEL_REQUESTS at a time);
- the video worker: how long one check of a job takes, when the operation is not done yet
  (check + reschedule) and when it is (check + store in S3 + mark succeeded), warm;
- a 429 storm: 60 generations from one container against a provider limit of 5 requests/s, the
  share that succeeds and the provider requests spent, against a naive client with the SDK's
  default retries.

The emulator runs in its own process so it does not share the GIL with what is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local.aws import AWS_TEST_ENV, MotoServer, free_port, provision
from local.bench_spend import aws_overhead, print_aws_overhead
from local.emulator import EmulatorControl
from local.runtime import LocalRuntime
from local.template import functions

ROOT = Path(__file__).resolve().parent.parent
EVENT = ROOT / "events" / "story_segments.json"

CHILD = r"""
import json, sys, time
started = time.perf_counter()
sys.path[:0] = ["shared", "."]
variant = sys.argv[1]
event = json.load(open("events/story_segments.json"))
if variant == "contentgen":
    from local.runtime import load_handler
    from local.template import functions
    handler = load_handler(functions()["StorySegmentsFunction"])
else:
    from local.bench_naive import lambda_handler as handler
imported = time.perf_counter()
from local.lambda_context import LocalLambdaContext
response = handler(event, LocalLambdaContext(function_name="bench"))
done = time.perf_counter()
assert response["statusCode"] == 200, response
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the (large) parent.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"import_ms": (imported - started) * 1000, "total_ms": (done - started) * 1000,
                  "maxrss_mb": peak_kb / 1024}))
"""


@contextlib.contextmanager
def emulator_process() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "local.emulator", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    process.stdout.readline()  # "provider emulator on ..."
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The functions' logs and metrics go nowhere while something is measured."""
    from contentgen.observability import logger

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        previous = logger.registered_handler.setStream(devnull)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]


def cold_start(variant: str, environment: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", CHILD, variant],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"{variant} cold start failed:\n{result.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    figures["process_ms"] = wall
    return figures


def warm(emulator_url: str, iterations: int) -> dict[str, float]:
    """Handler vs bare SDK call, interleaved, in this process."""
    import openai

    from local.runtime import SHARED

    sys.path.insert(0, SHARED)
    from contentgen.core.schema import strict_json_schema
    from contentgen.models.stories import StoryReply
    from contentgen.prompts.stories import STORY_SYSTEM, story_user_prompt
    from local.lambda_context import LocalLambdaContext
    from local.runtime import load_handler

    event = json.loads(EVENT.read_text())
    request = json.loads(event["body"])
    handler = load_handler(functions()["StorySegmentsFunction"])
    bare = openai.OpenAI(api_key="bench-key", base_url=f"{emulator_url}/api/v1", max_retries=0)
    schema = strict_json_schema(StoryReply, {"segments": request["segment_count"]})
    messages: Any = [
        {"role": "system", "content": STORY_SYSTEM},
        {
            "role": "user",
            "content": story_user_prompt(
                prompt=request["prompt"],
                segment_count=request["segment_count"],
                style=request.get("style"),
                language=request.get("language", "en"),
            ),
        },
    ]
    response_format: Any = {
        "type": "json_schema",
        "json_schema": {"name": "StoryReply", "strict": True, "schema": schema},
    }

    def bare_call() -> None:
        completion = bare.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=messages,
            response_format=response_format,
            temperature=0.9,
            timeout=20,
            extra_body={"usage": {"include": True}},
        )
        assert completion.choices[0].message.content

    handler_ms: list[float] = []
    bare_ms: list[float] = []
    with quiet():
        assert handler(event, LocalLambdaContext(function_name="bench"))["statusCode"] == 200
        bare_call()
        for _ in range(iterations):
            started = time.perf_counter()
            response = handler(event, LocalLambdaContext(function_name="bench"))
            handler_ms.append((time.perf_counter() - started) * 1000)
            assert response["statusCode"] == 200
            started = time.perf_counter()
            bare_call()
            bare_ms.append((time.perf_counter() - started) * 1000)
    handler_median = statistics.median(handler_ms)
    bare_median = statistics.median(bare_ms)
    return {
        "handler_median_ms": handler_median,
        "bare_median_ms": bare_median,
        "overhead_median_ms": handler_median - bare_median,
        "handler_p90_ms": statistics.quantiles(handler_ms, n=10)[-1],
        "bare_p90_ms": statistics.quantiles(bare_ms, n=10)[-1],
    }


def sets_wall_time(emulator_url: str, runs: int) -> dict[str, float]:
    """Median wall time of the sets handler for one and for five sets, 400 ms per provider call."""
    from local.lambda_context import LocalLambdaContext
    from local.runtime import load_handler

    handler = load_handler(functions()["StorySegmentsInSetsFunction"])
    control = EmulatorControl(emulator_url)

    def invoke(set_count: int) -> float:
        body = {"prompt": "A robot learns to paint", "set_count": set_count, "segments_per_set": 4}
        started = time.perf_counter()
        answer = handler(body, LocalLambdaContext(function_name="bench"))
        elapsed = (time.perf_counter() - started) * 1000
        assert len(answer["sets"]) == set_count, answer
        return elapsed

    try:
        with quiet():
            invoke(1)  # cold start out of the way
            control.configure(latency_ms=400)
            one = [invoke(1) for _ in range(runs)]
            five = [invoke(5) for _ in range(runs)]
    finally:
        control.configure(latency_ms=0)
    return {"one_ms": statistics.median(one), "five_ms": statistics.median(five)}


def video_checks(moto_url: str, runs: int) -> dict[str, float]:
    """Median worker invocation per check, fed from moto's job queue like the event source mapping."""
    from local.event_sources import QueuePoller, sqs_event
    from local.template import queue_sources

    runtime = LocalRuntime()
    source = next(s for s in queue_sources() if s.function == "VideoWorkerFunction")
    poller = QueuePoller(source, runtime, moto_url)

    def check() -> float:
        messages = poller.sqs.receive_message(
            QueueUrl=poller.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=2
        )["Messages"]
        result, elapsed = runtime.invoke(source.function, sqs_event(messages, poller.queue_arn))
        assert result == {"batchItemFailures": []}, result
        poller.sqs.delete_message(QueueUrl=poller.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
        return elapsed

    not_done: list[float] = []
    done: list[float] = []
    with quiet():
        for run in range(runs + 1):  # the first round warms both functions up
            accepted, _ = runtime.invoke("GenerateVideoFunction", {"prompt": f"a paper boat {run}"})
            assert accepted["status"] == "pending", accepted
            first, second = check(), check()
            if run:
                not_done.append(first)
                done.append(second)
    return {"not_done_ms": statistics.median(not_done), "done_ms": statistics.median(done)}


STORM_RATE = 5.0  # the emulator's account limit, requests per second (burst the same)
STORM_REQUESTS = 60


def storm(emulator_url: str) -> dict[str, dict[str, float]]:
    """A 429 storm: 60 generations wanted from one container (fan-out of 5) against an account
    limit of 5 requests/s. contentgen runs them as 12 story_segments_in_sets invocations of 5 sets;
    the naive client sends the same 60 requests on 5 threads with the SDK's default retries (2,
    honouring Retry-After). Reported: the share of generations that succeeded, the provider
    requests spent (429s included) and the wall time."""
    from concurrent.futures import ThreadPoolExecutor

    import openai

    from local.lambda_context import LocalLambdaContext
    from local.runtime import load_handler

    control = EmulatorControl(emulator_url)
    handler = load_handler(functions()["StorySegmentsInSetsFunction"])
    results: dict[str, dict[str, float]] = {}

    def reset() -> None:
        control.reset()
        control.configure(latency_ms=50, rate_limit_per_second=STORM_RATE, rate_limit_burst=int(STORM_RATE))

    def ours() -> int:
        succeeded = 0
        for run in range(STORM_REQUESTS // 5):
            body = {"prompt": f"A storm over the harbour {run}", "set_count": 5, "segments_per_set": 2}
            answer = handler(body, LocalLambdaContext(function_name="bench"))
            succeeded += len(
                answer.get("sets") or (answer.get("body") or {}).get("partial", {}).get("sets", [])
            )
        return succeeded

    bare = openai.OpenAI(api_key="bench-key", base_url=f"{emulator_url}/api/v1")  # SDK defaults: 2 retries

    def naive() -> int:
        def one(index: int) -> bool:
            try:
                bare.chat.completions.create(
                    model="openai/gpt-4o-mini",
                    messages=[{"role": "user", "content": f"A storm over the harbour {index}"}],
                    timeout=20,
                )
                return True
            except openai.APIError:
                return False

        with ThreadPoolExecutor(max_workers=5) as pool:
            return sum(pool.map(one, range(STORM_REQUESTS)))

    with quiet():
        for name, run in (("contentgen", ours), ("naive", naive)):
            reset()
            started = time.perf_counter()
            succeeded = run()
            elapsed = time.perf_counter() - started
            spent = len([r for r in control.requests() if r["target"] == "openai"])
            results[name] = {"success": succeeded / STORM_REQUESTS, "spent": spent, "seconds": elapsed}
    control.reset()
    return results


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument("--warm-iterations", type=int, default=300)
    parser.add_argument("--set-runs", type=int, default=5)
    parser.add_argument("--overhead-generations", type=int, default=200)
    args = parser.parse_args()

    os.environ.update(AWS_TEST_ENV)
    moto = MotoServer().start()
    provision(moto.url, environ={})
    try:
        with emulator_process() as emulator_url:
            environment = {
                **os.environ,
                **{key: value for key, value in LocalRuntime().environment().items() if value},
                "AWS_ENDPOINT_URL": moto.url,
                "OPENROUTER_BASE_URL": f"{emulator_url}/api/v1",
                "GOOGLE_VERTEX_BASE_URL": emulator_url,
                "GOOGLE_GEMINI_BASE_URL": emulator_url,
                "VIDEO_POLL_DELAY_SECONDS": "0",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
            os.environ.update(environment)
            EmulatorControl(emulator_url).reset()
            for variant in ("contentgen", "naive"):  # warm the OS file cache and .pyc files first
                cold_start(variant, environment)
            runs: dict[str, list[dict[str, float]]] = {"contentgen": [], "naive": []}
            for _ in range(args.cold_runs):
                for variant in runs:
                    runs[variant].append(cold_start(variant, environment))
            warm_figures = warm(emulator_url, args.warm_iterations)
            # Before the sets (emulator latency) and the storm (429s, open breakers) change the stage.
            overhead_figures = aws_overhead(args.overhead_generations)
            sets_figures = sets_wall_time(emulator_url, args.set_runs)
            video_figures = video_checks(moto.url, args.set_runs)
            storm_figures = storm(emulator_url)
    finally:
        moto.stop()

    ours, naive = runs["contentgen"], runs["naive"]
    ratio = median_of(ours, "total_ms") / median_of(naive, "total_ms")
    print(f"story_segments on the provider emulator ({args.cold_runs} cold runs each, medians)")
    print(f"{'':34}{'contentgen':>12}{'naive':>12}")
    for label, key in (
        ("import handler (ms)", "import_ms"),
        ("import + first request (ms)", "total_ms"),
        ("whole process incl. interpreter (ms)", "process_ms"),
        ("peak memory, VmHWM (MB)", "maxrss_mb"),
    ):
        print(f"{label:34}{median_of(ours, key):>12.1f}{median_of(naive, key):>12.1f}")
    print(f"cold start ratio (import + first request): {ratio:.2f}  (goal <= 0.60)")
    print(f"\nwarm, {args.warm_iterations} interleaved invocations:")
    print(
        f"  handler median {warm_figures['handler_median_ms']:.3f} ms (p90 {warm_figures['handler_p90_ms']:.3f})"
    )
    print(
        f"  bare SDK call median {warm_figures['bare_median_ms']:.3f} ms (p90 {warm_figures['bare_p90_ms']:.3f})"
    )
    print(f"  overhead at the median: {warm_figures['overhead_median_ms']:.3f} ms  (goal < 1 ms)")
    print(f"\nstory_segments_in_sets, emulator answering after 400 ms ({args.set_runs} runs each, medians):")
    print(f"  one set   {sets_figures['one_ms']:8.1f} ms")
    print(
        f"  five sets {sets_figures['five_ms']:8.1f} ms  ({sets_figures['five_ms'] / sets_figures['one_ms']:.2f}x one set)"
    )
    print(f"\nvideo worker, one check per message, warm ({args.set_runs} jobs, medians):")
    print(f"  not done yet (check + reschedule)       {video_figures['not_done_ms']:8.1f} ms")
    print(f"  done (check + store in S3 + succeeded)  {video_figures['done_ms']:8.1f} ms")
    print(
        f"\n429 storm: {STORM_REQUESTS} generations from one container (5 at a time), "
        f"provider limit {STORM_RATE:.0f} requests/s:"
    )
    print(f"{'':34}{'succeeded':>10}{'requests spent':>16}{'wall time':>11}")
    for name, figures in storm_figures.items():
        print(f"  {name:32}{figures['success']:>10.0%}{figures['spent']:>16.0f}{figures['seconds']:>10.1f}s")
    print_aws_overhead(overhead_figures, args.overhead_generations)
    return 0


if __name__ == "__main__":
    sys.exit(main())
