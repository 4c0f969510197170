"""`make bench`: cold start, warm overhead and memory of story_segments on the provider emulator.

- cold start: a fresh Python process imports the handler and serves its first request (key read
  from SSM on moto, completion from the emulator), against a naive handler (`local.bench_naive`)
  that imports both SDKs, boto3 and Powertools and builds its clients at import;
- warm: the handler's time per invocation against a bare `openai` SDK call sending the same
  request to the same emulator (interleaved, medians);
- peak memory (max RSS) of each cold-start process;
- story_segments_in_sets: wall time of five sets against one, the emulator answering each request
  after 400 ms (sets are requested concurrently, up to MAX_PARALLEL_REQUESTS at a time);
- the durable video job: its 202, and the whole execution on the in-process runner (waits skipped), warm;
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
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.aws import AWS_TEST_ENV, MotoServer, free_port, provision
from local.bench_spend import aws_overhead, print_aws_overhead
from local.emulator import EmulatorControl
from local.params_extension import ParametersExtension
from local.runtime import LocalRuntime
from local.template import functions
from local.toolchain import NEEDS_313, python313

ROOT = Path(__file__).resolve().parent.parent
EVENT = ROOT / "events" / "story_segments.json"

# The timed child loads nothing the Lambda would not: no local.* module, no PyYAML. The parent
# passes the function's code directory, handler, environment and event.
CHILD = r"""
import sys, time
started = time.perf_counter()
import json, os
mode, event_path, code_dir, handler_name = sys.argv[1:5]
sys.path[:0] = [code_dir, *json.loads(os.environ.pop("BENCH_SYS_PATH"))]
event = json.load(open(event_path))

class Context:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 29000

if mode == "floor":
    import openai
    imported = time.perf_counter()
    client = openai.OpenAI(api_key="bench-key", base_url=os.environ["OPENROUTER_BASE_URL"], max_retries=0)
    completion = client.chat.completions.create(**event)
    assert completion.choices[0].message.content
else:
    import importlib
    module_name, _, attribute = handler_name.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    imported = time.perf_counter()
    response = handler(event, Context())
    assert response["statusCode"] == 200, response
done = time.perf_counter()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the (large) parent.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"import_ms": (imported - started) * 1000, "total_ms": (done - started) * 1000,
                  "cpu_ms": time.process_time() * 1000, "maxrss_mb": peak_kb / 1024}))
"""


@dataclass(frozen=True)
class ColdVariant:
    """One kind of fresh process: which interpreter, what it imports and which event it handles."""

    python: str
    mode: str  # "handler" or "floor"
    event: Path
    code_dir: Path
    handler: str
    sys_path: tuple[str, ...]
    environment: dict[str, str]


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


def cold_start(variant: ColdVariant, workdir: Path) -> dict[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [
            variant.python,
            "-s",
            "-c",
            CHILD,
            variant.mode,
            str(variant.event),
            str(variant.code_dir),
            variant.handler,
        ],
        cwd=workdir,
        env={**variant.environment, "BENCH_SYS_PATH": json.dumps(list(variant.sys_path))},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"{variant.mode} cold start failed:\n{result.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    figures["process_ms"] = wall
    return figures


def equivalent_request() -> dict[str, Any]:
    """Keyword arguments of the one `chat.completions.create` story_segments makes for EVENT."""
    from local.runtime import SHARED

    if SHARED not in sys.path:
        sys.path.insert(0, SHARED)
    from contentgen.models.schema import strict_json_schema
    from contentgen.models.stories import StoryReply
    from contentgen.prompts.stories import STORY_SYSTEM, story_user_prompt

    request = json.loads(json.loads(EVENT.read_text())["body"])
    schema = strict_json_schema(StoryReply, {"segments": request["segment_count"]})
    user = story_user_prompt(
        prompt=request["prompt"],
        segment_count=request["segment_count"],
        style=request.get("style"),
        language=request.get("language", "en"),
    )
    return {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "system", "content": STORY_SYSTEM}, {"role": "user", "content": user}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "StoryReply", "strict": True, "schema": schema},
        },
        "temperature": 0.9,
        "timeout": 20,
        "extra_body": {"usage": {"include": True}},
    }


def warm(emulator_url: str, iterations: int) -> dict[str, float]:
    """Handler vs bare SDK call, interleaved, in this process."""
    import openai

    from local.lambda_context import LocalLambdaContext
    from local.runtime import load_handler

    event = json.loads(EVENT.read_text())
    handler = load_handler(functions()["StorySegmentsFunction"])
    bare = openai.OpenAI(api_key="bench-key", base_url=f"{emulator_url}/api/v1", max_retries=0)
    request: Any = equivalent_request()

    def bare_call() -> None:
        completion = bare.chat.completions.create(**request)
        assert completion.choices[0].message.content

    # The handler's own AWS requests (the spend ledger's budget Query and charge UpdateItem), timed
    # through botocore's events on the layer's client: round trips to moto here, to DynamoDB in
    # AWS, so they are reported apart from the code's own overhead.
    from contentgen.clients.aws import get_dynamodb_client

    aws = {"calls": 0, "ms": 0.0}
    sent: dict[str, float] = {}

    def before(**kwargs: Any) -> None:
        sent[str(kwargs.get("event_name"))] = time.perf_counter()

    def after(**kwargs: Any) -> None:
        began = sent.pop(str(kwargs.get("event_name")).replace("after-call", "before-call"), None)
        if began is not None:
            aws["calls"] += 1
            aws["ms"] += (time.perf_counter() - began) * 1000

    handler_ms: list[float] = []
    bare_ms: list[float] = []
    aws_ms: list[float] = []
    aws_calls: list[int] = []
    with quiet():
        assert handler(event, LocalLambdaContext(function_name="bench"))["statusCode"] == 200
        bare_call()
        events = get_dynamodb_client().meta.events  # the container's client, built by the first call
        events.register("before-call.*.*", before)
        events.register("after-call.*.*", after)
        for _ in range(iterations):
            aws["calls"], aws["ms"] = 0, 0.0
            started = time.perf_counter()
            response = handler(event, LocalLambdaContext(function_name="bench"))
            handler_ms.append((time.perf_counter() - started) * 1000)
            aws_ms.append(aws["ms"])
            aws_calls.append(int(aws["calls"]))
            assert response["statusCode"] == 200
            started = time.perf_counter()
            bare_call()
            bare_ms.append((time.perf_counter() - started) * 1000)
        events.unregister("before-call.*.*", before)
        events.unregister("after-call.*.*", after)
    handler_median = statistics.median(handler_ms)
    bare_median = statistics.median(bare_ms)
    own = [total - spent for total, spent in zip(handler_ms, aws_ms, strict=True)]
    return {
        "handler_median_ms": handler_median,
        "bare_median_ms": bare_median,
        "overhead_median_ms": handler_median - bare_median,
        "handler_p90_ms": statistics.quantiles(handler_ms, n=10)[-1],
        "bare_p90_ms": statistics.quantiles(bare_ms, n=10)[-1],
        "aws_calls_median": statistics.median(aws_calls),
        "aws_median_ms": statistics.median(aws_ms),
        "own_overhead_median_ms": statistics.median(own) - bare_median,
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


def video_jobs(runs: int) -> dict[str, float]:
    """Median wall time of a whole durable video job (start answered 202, then the execution on the
    testing SDK's in-process runner with its waits skipped: begin, start, charge, two checks,
    store, finish), and of its 202 alone."""
    from local.durable import LocalDurableService
    from local.template import physical_name

    runtime = LocalRuntime()
    service = LocalDurableService(skip_time=True).start_runners()
    answered: list[float] = []
    whole: list[float] = []
    try:
        with quiet():
            for run in range(runs + 1):  # the first round warms both functions up
                started = time.perf_counter()
                accepted, elapsed = runtime.invoke("GenerateVideoFunction", {"prompt": f"a paper boat {run}"})
                assert accepted.get("status") == "pending", accepted
                result = service.result(physical_name("VideoJobFunction"), accepted["job_id"])
                assert result.status.name == "SUCCEEDED", result.error
                if run:
                    answered.append(elapsed)
                    whole.append((time.perf_counter() - started) * 1000)
    finally:
        service.stop()
    return {"accepted_ms": statistics.median(answered), "job_ms": statistics.median(whole)}


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


HOST_LAYER = ROOT / "build" / "host" / "TextLayer"


def pinned(name: str) -> str:
    """`name==version` as requirements-dev.txt pins it (boto3/botocore: the runtime's versions)."""
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        if line.split("==")[0].strip().lower() == name:
            return line.split("#")[0].strip()
    raise LookupError(f"{name} is not pinned in requirements-dev.txt")


def runtime_site(python: str) -> Path:
    """What the python3.13 Lambda runtime provides beside the layers (boto3, botocore), for `python`."""
    site = ROOT / "build" / "host" / "runtime"
    if not (site / "botocore").exists():
        subprocess.run(
            [
                *(
                    python,
                    "-m",
                    "pip",
                    "install",
                    "-qq",
                    "--disable-pip-version-check",
                    "--target",
                    str(site),
                ),
                *(pinned("boto3"), pinned("botocore")),
            ],
            check=True,
        )
    return site


def read_only_copy(layer: Path, into: Path) -> Path:
    """`layer`/python copied (fresh mtimes, as on the way to /opt) and made read-only (chmod a-w)."""
    target = into / "opt" / "python"
    shutil.copytree(layer / "python", target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    return target


def layer_sizes() -> list[tuple[str, float, float]]:
    """(layer, zipped MB, unzipped MB) for every built layer zip under build/."""
    sizes = []
    for archive in sorted((ROOT / "build").glob("*/*.zip")):
        unzipped = sum(f.stat().st_size for f in (archive.parent / archive.stem).rglob("*") if f.is_file())
        sizes.append((f"{archive.parent.name}/{archive.stem}", archive.stat().st_size / 1e6, unzipped / 1e6))
    return sizes


def artifact_cold_starts(
    python: str, environment: dict[str, str], runs: int, workdir: Path
) -> dict[str, list[dict[str, float]]]:
    """story_segments from the read-only built text layer vs the floor, interleaved, fresh processes."""
    layer = read_only_copy(HOST_LAYER, workdir)
    runtime = runtime_site(python)
    spec = functions()["StorySegmentsFunction"]
    request_file = workdir / "floor_request.json"
    request_file.write_text(json.dumps(equivalent_request()))
    artifact_env = {
        **environment,
        **{key: value for key, value in spec.environment.items() if value},
        "OPENROUTER_BASE_URL": environment["OPENROUTER_BASE_URL"],
        "AWS_ENDPOINT_URL": environment["AWS_ENDPOINT_URL"],
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": environment["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"],
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # Lambda's order: /var/task (the function), the layer in /opt/python, then the runtime's boto3.
    variants = {
        "artifact": ColdVariant(
            python, "handler", EVENT, spec.code_dir, spec.handler, (str(layer), str(runtime)), artifact_env
        ),
        "floor": ColdVariant(
            python, "floor", request_file, workdir, "-", (str(layer), str(runtime)), artifact_env
        ),
    }
    for variant in variants.values():  # the OS file cache warm, as for the checkout figures
        cold_start(variant, workdir)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, variant in variants.items():
            results[name].append(cold_start(variant, workdir))
    return results


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def print_artifact(python: str, artifact: dict[str, list[dict[str, float]]], cold_runs: int) -> None:
    """The artifact figures: cold start against the floor, layer sizes."""
    built, floor = artifact["artifact"], artifact["floor"]
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version(), platform.machine())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(
        f"story_segments from the built text layer, Python {version} ({cold_runs} fresh processes "
        "each, interleaved, medians)"
    )
    print(
        "  the layer is build/host/TextLayer: the make build recipe for this machine's platform, since arm64 "
        "binaries cannot load here;\n  copied read-only (fresh mtimes, as in /opt), PYTHONDONTWRITEBYTECODE=1; "
        "boto3/botocore beside it as the runtime provides them;\n  floor = a process that imports only openai "
        "(from the same layer, with bytecode) and makes the equivalent call"
    )
    print(f"{'':34}{'artifact':>12}{'floor':>12}")
    for label, key in (
        ("import (ms)", "import_ms"),
        ("import + first request (ms)", "total_ms"),
        ("whole process incl. interpreter (ms)", "process_ms"),
        ("CPU time of the process (ms)", "cpu_ms"),
        ("peak memory, VmHWM (MB)", "maxrss_mb"),
    ):
        print(f"{label:34}{median_of(built, key):>12.1f}{median_of(floor, key):>12.1f}")
    artifact_ratio = median_of(built, "total_ms") / median_of(floor, "total_ms")
    print(f"artifact cold start / floor (import + first request): {artifact_ratio:.2f}  (goal <= 1.20)")
    cpu_ratio = median_of(built, "cpu_ms") / median_of(floor, "cpu_ms")
    print(f"  the same in CPU time (steadier on a loaded machine): {cpu_ratio:.2f}")
    print("\nlayer sizes (MB)                    zipped   unzipped")
    for name, zipped, unzipped in layer_sizes():
        goal = "  (goal <= 20 zipped)" if name.endswith("TextLayer") else ""
        print(f"  {name:32}{zipped:>9.1f}{unzipped:>11.1f}{goal}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument("--warm-iterations", type=int, default=300)
    parser.add_argument("--set-runs", type=int, default=5)
    parser.add_argument("--overhead-generations", type=int, default=200)
    parser.add_argument("--artifact-only", action="store_true", help="only the built layer against the floor")
    args = parser.parse_args()

    python = python313()
    if python is None:
        raise SystemExit(f"make bench {NEEDS_313}")
    if not (HOST_LAYER / "python").exists():
        raise SystemExit("make bench needs the host-platform text layer: run `make build-host`")

    os.environ.update(AWS_TEST_ENV)
    moto = MotoServer().start()
    provision(moto.url, environ={})
    extension = ParametersExtension(moto.url).start()
    try:
        with emulator_process() as emulator_url, tempfile.TemporaryDirectory() as scratch:
            environment = {
                **os.environ,
                **{key: value for key, value in LocalRuntime().environment().items() if value},
                "AWS_ENDPOINT_URL": moto.url,
                "OPENROUTER_BASE_URL": f"{emulator_url}/api/v1",
                "GOOGLE_VERTEX_BASE_URL": emulator_url,
                "GOOGLE_GEMINI_BASE_URL": emulator_url,
                "VIDEO_POLL_DELAY_SECONDS": "0",
                # Measurements, not spend control: 6 video starts alone are 19.20 USD at list price,
                # past the template's default daily budget (10 USD) of the pipeline key.
                "DAILY_BUDGET_USD": "1000000",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "PYTHONDONTWRITEBYTECODE": "1",
                "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
            }
            os.environ.update(environment)
            EmulatorControl(emulator_url).reset()
            artifact = artifact_cold_starts(python, environment, args.cold_runs, Path(scratch))
            if args.artifact_only:
                print_artifact(python, artifact, args.cold_runs)
                return 0
            story = functions()["StorySegmentsFunction"]
            checkout_path = (str(ROOT / "shared"), str(ROOT))
            checkout = {
                "contentgen": ColdVariant(
                    sys.executable,
                    "handler",
                    EVENT,
                    story.code_dir,
                    story.handler,
                    checkout_path,
                    environment,
                ),
                "naive": ColdVariant(
                    sys.executable,
                    "handler",
                    EVENT,
                    ROOT,
                    "local.bench_naive.lambda_handler",
                    checkout_path,
                    environment,
                ),
            }
            for variant in checkout.values():  # warm the OS file cache and .pyc files first
                cold_start(variant, Path(scratch))
            runs: dict[str, list[dict[str, float]]] = {"contentgen": [], "naive": []}
            for _ in range(args.cold_runs):
                for name in runs:
                    runs[name].append(cold_start(checkout[name], Path(scratch)))
            warm_figures = warm(emulator_url, args.warm_iterations)
            # Before the sets (emulator latency) and the storm (429s, open breakers) change the stage.
            overhead_figures = aws_overhead(args.overhead_generations)
            sets_figures = sets_wall_time(emulator_url, args.set_runs)
            video_figures = video_jobs(args.set_runs)
            storm_figures = storm(emulator_url)
    finally:
        extension.shutdown()
        moto.stop()

    print_artifact(python, artifact, args.cold_runs)

    ours, naive = runs["contentgen"], runs["naive"]
    ratio = median_of(ours, "total_ms") / median_of(naive, "total_ms")
    print(
        f"\nstory_segments from the checkout, Python {sys.version.split()[0]} ({args.cold_runs} cold runs each, medians)"
    )
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
    print(f"  overhead at the median: {warm_figures['overhead_median_ms']:.3f} ms")
    print(
        f"    of which the handler's AWS requests: {warm_figures['aws_calls_median']:.0f} "
        f"(spend ledger), {warm_figures['aws_median_ms']:.3f} ms to moto"
    )
    print(f"    the code's own overhead: {warm_figures['own_overhead_median_ms']:.3f} ms  (goal < 1 ms)")
    print(f"\nstory_segments_in_sets, emulator answering after 400 ms ({args.set_runs} runs each, medians):")
    print(f"  one set   {sets_figures['one_ms']:8.1f} ms")
    print(
        f"  five sets {sets_figures['five_ms']:8.1f} ms  ({sets_figures['five_ms'] / sets_figures['one_ms']:.2f}x one set)"
    )
    print(
        f"\nvideo job, durable execution on the in-process runner, waits skipped ({args.set_runs} jobs, medians):"
    )
    print(f"  POST /videos answered 202 (claim + start)      {video_figures['accepted_ms']:8.1f} ms")
    print(f"  whole job (2 checks, store, finish, event)     {video_figures['job_ms']:8.1f} ms")
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
