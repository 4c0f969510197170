"""`make bench`: cold start, warm overhead and memory of story_segments on the provider emulator.

- cold start: a fresh Python process imports the handler and serves its first request (key read
  from SSM on moto, completion from the emulator), against a naive handler (`local.bench_naive`)
  that imports both SDKs, boto3 and Powertools and builds its clients at import;
- warm: the handler's time per invocation against a bare `openai` SDK call sending the same
  request to the same emulator (interleaved, medians), in one process under Python 3.13 loading
  the built text layer as the cold start does;
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

from local.aws import AWS_TEST_ENV, free_port, provision
from local.bench_goals import Goal, report
from local.bench_spend import aws_overhead, print_aws_overhead
from local.emulator import LOCAL_VERTEX_PROJECT, EmulatorControl
from local.moto_process import moto_process
from local.params_extension import ParametersExtension
from local.runtime import LocalRuntime
from local.template import functions, resolve
from local.toolchain import NEEDS_313, python313

ROOT = Path(__file__).resolve().parent.parent
EVENT = ROOT / "events" / "story_segments.json"

# The timed child loads nothing the Lambda would not: no local.* module, no PyYAML. The parent
# passes the function's code directory, handler, environment and event.
# The Lambda context both children pass to the handler.
CONTEXT = r"""
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
"""

CHILD = (
    r"""
import sys, time
started = time.perf_counter()
started_cpu = time.process_time()
# The first request's breakdown: wrappers put on a few functions after import (not during it),
# each phase timed exclusive of the phases nested in it, wall and CPU.
_stack = []
phases = {}

def timed(phase, function):
    def wrapper(*args, **kwargs):
        frame = [time.perf_counter(), time.process_time(), 0.0, 0.0]
        _stack.append(frame)
        try:
            return function(*args, **kwargs)
        finally:
            _stack.pop()
            wall, cpu = time.perf_counter() - frame[0], time.process_time() - frame[1]
            spent = phases.setdefault(phase, [0.0, 0.0])
            spent[0] += (wall - frame[2]) * 1000
            spent[1] += (cpu - frame[3]) * 1000
            if _stack:
                _stack[-1][2] += wall
                _stack[-1][3] += cpu
    return wrapper

def instrument(handler):
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from openai.resources.chat.completions import Completions
    from contentgen.clients import aws, secrets
    from contentgen.clients.lazy import LazySingleton
    from contentgen.connectors import openai_connector

    read_api_key = secrets.read_api_key
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("contentgen") and getattr(module, "read_api_key", None) is read_api_key:
            module.read_api_key = timed("key read", read_api_key)
    try:  # the spend ledger's own DynamoDB client (httpx, SigV4), absent from older artifacts
        from contentgen.clients import dynamodb as ledger_client
        singletons = [*vars(aws).values(), *vars(ledger_client).values()]
    except ImportError:
        singletons = list(vars(aws).values())
    for singleton in singletons:  # every AWS client: botocore import, client built, its requests
        if isinstance(singleton, LazySingleton):
            def built(build=singleton._build):
                client = build()
                if hasattr(client, "_make_api_call"):  # a client, not the session they share
                    client._make_api_call = timed("AWS (clients + requests)", client._make_api_call)
                return client
            singleton._build = timed("AWS (clients + requests)", built)
    openai_connector._client._build = timed("provider call (client + create)", openai_connector._client._build)
    Completions.create = timed("provider call (client + create)", Completions.create)
    APIGatewayRestResolver.resolve = timed("resolver, validation, service", APIGatewayRestResolver.resolve)
    return timed("handler wrappers (log, metrics, scopes)", handler)

import json, os
mode, event_path, code_dir, handler_name = sys.argv[1:5]
sys.path[:0] = [code_dir, *json.loads(os.environ.pop("BENCH_SYS_PATH"))]
event = json.load(open(event_path))

"""
    + CONTEXT
    + r"""
if mode == "floor":
    import openai
    imported = time.perf_counter()
    imported_cpu = time.process_time()
    client = timed("provider call (client + create)", openai.OpenAI)(
        api_key="bench-key", base_url=os.environ["OPENROUTER_BASE_URL"], max_retries=0
    )
    completion = timed("provider call (client + create)", client.chat.completions.create)(**event)
    assert completion.choices[0].message.content
else:
    import importlib
    module_name, _, attribute = handler_name.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    imported = time.perf_counter()
    imported_cpu = time.process_time()
    handler = instrument(handler)
    profile_path = os.environ.pop("BENCH_PROFILE", "")
    if profile_path:  # --profile: cProfile of the first request (not a timed run)
        import cProfile
        profiler = cProfile.Profile()
        response = profiler.runcall(handler, event, Context())
        profiler.dump_stats(profile_path)
    else:
        response = handler(event, Context())
    assert response["statusCode"] == 200, response
done = time.perf_counter()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the (large) parent.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"import_ms": (imported - started) * 1000, "total_ms": (done - started) * 1000,
                  "import_cpu_ms": (imported_cpu - started_cpu) * 1000,
                  "request_ms": (done - imported) * 1000, "request_cpu_ms": (time.process_time() - imported_cpu) * 1000,
                  "cpu_ms": time.process_time() * 1000, "maxrss_mb": peak_kb / 1024,
                  "botocore_loaded": int("botocore.client" in sys.modules), "phases": phases}))
"""
)

# The warm figures, in one process like a warm container: the same interpreter, layer, runtime site,
# function directory and environment as the artifact's cold start, nothing the Lambda would not
# load. The parent passes the event, the bare call's request (`equivalent_request`), the code
# directory and handler; BENCH_WARM_ITERATIONS invocations, each followed by the bare call.
WARM_CHILD = (
    r"""
import json, os, sys, time
event_path, request_path, code_dir, handler_name = sys.argv[1:5]
sys.path[:0] = [code_dir, *json.loads(os.environ.pop("BENCH_SYS_PATH"))]
iterations = int(os.environ.pop("BENCH_WARM_ITERATIONS"))
event = json.load(open(event_path))
request = json.load(open(request_path))
# The functions' log lines and EMF blobs go to /dev/null (as `quiet()` does in the bench's process);
# the figures go to the parent on the original stdout.
sys.stdout.flush()
report = os.fdopen(os.dup(1), "w")
devnull = os.open(os.devnull, os.O_WRONLY)
os.dup2(devnull, 1)
"""
    + CONTEXT
    + r"""
import importlib
module_name, _, attribute = handler_name.rpartition(".")
handler = getattr(importlib.import_module(module_name), attribute)
import openai
bare = openai.OpenAI(api_key="bench-key", base_url=os.environ["OPENROUTER_BASE_URL"], max_retries=0)

def bare_call():
    completion = bare.chat.completions.create(**request)
    assert completion.choices[0].message.content

for _ in range(5):  # warm-up: the container's clients built, the lazy imports done
    response = handler(event, Context())
    assert response["statusCode"] == 200, response
    bare_call()

# The handler's own AWS requests (the spend ledger's budget Query and charge UpdateItem, sent by its
# own client), timed around each request: round trips to moto here, to DynamoDB in AWS, so they
# are reported apart from the code's own overhead.
from contentgen.clients.dynamodb import get_ledger_client

aws = {"calls": 0, "ms": 0.0, "cpu_ms": 0.0}

def timed_requests(send):
    def timed(*args, **kwargs):
        began = time.perf_counter(), time.thread_time()
        try:
            return send(*args, **kwargs)
        finally:
            aws["calls"] += 1
            aws["ms"] += (time.perf_counter() - began[0]) * 1000
            aws["cpu_ms"] += (time.thread_time() - began[1]) * 1000
    return timed

ledger_client = get_ledger_client()  # the container's client, built by the first call
ledger_client._make_api_call = timed_requests(ledger_client._make_api_call)
# CPU time of this thread: what the code computes, without the waits for moto and the emulator.
figures = {key: [] for key in ("handler_ms", "handler_cpu", "aws_ms", "aws_cpu", "aws_calls", "bare_ms", "bare_cpu")}
for _ in range(iterations):
    aws["calls"], aws["ms"], aws["cpu_ms"] = 0, 0.0, 0.0
    started, started_cpu = time.perf_counter(), time.thread_time()
    response = handler(event, Context())
    figures["handler_ms"].append((time.perf_counter() - started) * 1000)
    figures["handler_cpu"].append((time.thread_time() - started_cpu) * 1000)
    figures["aws_ms"].append(aws["ms"])
    figures["aws_cpu"].append(aws["cpu_ms"])
    figures["aws_calls"].append(aws["calls"])
    assert response["statusCode"] == 200, response
    started, started_cpu = time.perf_counter(), time.thread_time()
    bare_call()
    figures["bare_ms"].append((time.perf_counter() - started) * 1000)
    figures["bare_cpu"].append((time.thread_time() - started_cpu) * 1000)
del ledger_client._make_api_call

import contentgen, platform
figures["python"] = platform.python_version()
figures["contentgen"] = contentgen.__file__
figures["not_in_lambda"] = sorted(
    name for name in sys.modules if name in ("local", "yaml") or name.startswith(("local.", "yaml."))
)
report.write(json.dumps(figures) + "\n")
report.flush()
"""
)


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
    reported: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    phases: dict[str, list[float]] = reported.pop("phases")
    figures: dict[str, float] = {key: float(value) for key, value in reported.items()}
    for phase, (phase_wall, phase_cpu) in phases.items():
        figures[f"phase:{phase}"] = phase_wall
        figures[f"phase_cpu:{phase}"] = phase_cpu
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
        "model": str(resolve({"Ref": "TextModel"})),
        "messages": [{"role": "system", "content": STORY_SYSTEM}, {"role": "user", "content": user}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "StoryReply", "strict": True, "schema": schema},
        },
        "temperature": 0.9,
        "timeout": 20,
        "extra_body": {"usage": {"include": True}},
    }


# Warm containers measured, one fresh process each: one process's median moves by about ±0.1 ms
# of the own overhead from one process to the next on this machine (memory layout; the same code
# and machine), more than the changes a round of work makes; the median of several is steadier.
WARM_PROCESSES = 3


def warm(
    python: str, environment: dict[str, str], iterations: int, workdir: Path, processes: int = WARM_PROCESSES
) -> dict[str, Any]:
    """`warm_once` in `processes` fresh processes, one after the other: each figure is the median
    of the processes' figures (`combined_warm_figures`)."""
    return combined_warm_figures(
        [warm_once(python, environment, iterations, workdir / f"warm{index}") for index in range(processes)]
    )


def combined_warm_figures(runs: list[dict[str, float]]) -> dict[str, Any]:
    """Each figure's median across the processes' figures, and the own overhead of each process
    (`own_overhead_runs_ms`, `own_overhead_cpu_runs_ms`) to show their spread."""
    combined: dict[str, Any] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    combined["own_overhead_runs_ms"] = [run["own_overhead_median_ms"] for run in runs]
    combined["own_overhead_cpu_runs_ms"] = [run["own_overhead_cpu_median_ms"] for run in runs]
    return combined


def warm_once(python: str, environment: dict[str, str], iterations: int, workdir: Path) -> dict[str, float]:
    """Handler vs bare SDK call, interleaved, warm, in one child process under `python` (the
    functions' runtime) loading story_segments from the read-only built text layer, as the
    artifact's cold start does (same runtime site, function directory and environment)."""
    workdir.mkdir(parents=True, exist_ok=True)
    layer = read_only_copy(HOST_LAYER, workdir / "warm")
    runtime = runtime_site(python)
    spec = functions()["StorySegmentsFunction"]
    request_file = workdir / "warm_request.json"
    request_file.write_text(json.dumps(equivalent_request()))
    result = subprocess.run(
        [python, "-s", "-c", WARM_CHILD, str(EVENT), str(request_file), str(spec.code_dir), spec.handler],
        cwd=workdir,
        env={
            **artifact_environment(environment, spec.environment),
            "BENCH_SYS_PATH": json.dumps([str(layer), str(runtime)]),
            "BENCH_WARM_ITERATIONS": str(iterations),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"warm child failed:\n{result.stderr[-2000:]}")
    reported: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if not Path(reported["contentgen"]).is_relative_to(layer):
        raise RuntimeError(f"the warm child loaded contentgen from {reported['contentgen']}, not {layer}")
    if reported["not_in_lambda"]:
        raise RuntimeError(f"the warm child loaded what the Lambda would not: {reported['not_in_lambda']}")
    return warm_figures(reported)


def warm_figures(reported: dict[str, Any]) -> dict[str, float]:
    """The warm medians from the child's per-invocation lists: own overhead = median(handler - AWS
    requests) - median(bare call), in wall and in CPU time of the thread."""
    handler_ms: list[float] = reported["handler_ms"]
    handler_cpu: list[float] = reported["handler_cpu"]
    aws_ms: list[float] = reported["aws_ms"]
    aws_cpu: list[float] = reported["aws_cpu"]
    bare_ms: list[float] = reported["bare_ms"]
    bare_cpu: list[float] = reported["bare_cpu"]
    handler_median = statistics.median(handler_ms)
    bare_median = statistics.median(bare_ms)
    own = [total - spent for total, spent in zip(handler_ms, aws_ms, strict=True)]
    own_cpu = [total - spent for total, spent in zip(handler_cpu, aws_cpu, strict=True)]
    return {
        "handler_median_ms": handler_median,
        "bare_median_ms": bare_median,
        "overhead_median_ms": handler_median - bare_median,
        "handler_p90_ms": statistics.quantiles(handler_ms, n=10)[-1],
        "bare_p90_ms": statistics.quantiles(bare_ms, n=10)[-1],
        "aws_calls_median": statistics.median(reported["aws_calls"]),
        "aws_median_ms": statistics.median(aws_ms),
        "own_overhead_median_ms": statistics.median(own) - bare_median,
        "handler_cpu_median_ms": statistics.median(handler_cpu),
        "bare_cpu_median_ms": statistics.median(bare_cpu),
        "aws_cpu_median_ms": statistics.median(aws_cpu),
        "own_overhead_cpu_median_ms": statistics.median(own_cpu) - statistics.median(bare_cpu),
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
                    model=str(resolve({"Ref": "TextModel"})),
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
# `make bench-baseline` (BASELINE_REF, default main): that commit's text layer (host platform) and
# functions, measured as a third variant interleaved with this checkout's artifact and the floor.
BASELINE = ROOT / "build" / "baseline"

# moto answers as soon as it is done; AWS does not. Every AWS request (DynamoDB, and SSM behind the
# parameters extension) is answered this many ms after it arrived by default (`--aws-latency-ms`;
# moto's own work counted within, `local.aws.MotoServer`): AWS publishes
# DynamoDB's latency as "typically in the single digit milliseconds" ("Comparing the Use of Amazon
# DynamoDB and Apache HBase for NoSQL", Amazon DynamoDB Architecture Overview,
# https://docs.aws.amazon.com/whitepapers/latest/comparing-dynamodb-and-hbase-for-nosql/amazon-dynamodb-architecture-overview.html)
# and "for most atomic operations, such as GetItem and PutItem, you can expect an average latency
# in single-digit milliseconds" (AWS re:Post Knowledge Center, "Why is my DynamoDB latency high?",
# https://repost.aws/knowledge-center/dynamodb-high-latency); both read 2026-12-06. 5 ms is the
# middle of that range; AWS publishes no figure for SSM GetParameter, which gets the same.
AWS_LATENCY_MS = 5.0


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


def artifact_environment(environment: dict[str, str], function_environment: dict[str, str]) -> dict[str, str]:
    """The built artifact's environment (cold start and warm): the bench's, the function's own
    variables from the template, then the local endpoints (moto, the emulator, the parameters
    extension) and no bytecode written (the layer is read-only, as /opt is)."""
    return {
        **environment,
        **{key: value for key, value in function_environment.items() if value},
        "OPENROUTER_BASE_URL": environment["OPENROUTER_BASE_URL"],
        "AWS_ENDPOINT_URL": environment["AWS_ENDPOINT_URL"],
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": environment["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"],
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def artifact_cold_starts(
    python: str,
    environment: dict[str, str],
    runs: int,
    workdir: Path,
    profile: Path | None = None,
    baseline: Path | None = None,
) -> dict[str, list[dict[str, float]]]:
    """story_segments from the read-only built text layer vs the floor, interleaved, fresh processes;
    with `baseline` (a directory holding another commit's `TextLayer` and `functions`), that
    artifact too, in the same rounds ("before")."""
    layer = read_only_copy(HOST_LAYER, workdir)
    runtime = runtime_site(python)
    spec = functions()["StorySegmentsFunction"]
    request_file = workdir / "floor_request.json"
    request_file.write_text(json.dumps(equivalent_request()))
    artifact_env = artifact_environment(environment, spec.environment)
    # Lambda's order: /var/task (the function), the layer in /opt/python, then the runtime's boto3.
    variants = {
        "artifact": ColdVariant(
            python, "handler", EVENT, spec.code_dir, spec.handler, (str(layer), str(runtime)), artifact_env
        ),
        "floor": ColdVariant(
            python, "floor", request_file, workdir, "-", (str(layer), str(runtime)), artifact_env
        ),
    }
    if baseline is not None:
        before_layer = read_only_copy(baseline / "TextLayer", workdir / "baseline")
        variants["before"] = ColdVariant(
            python,
            "handler",
            EVENT,
            baseline / spec.code_dir.relative_to(ROOT),
            spec.handler,
            (str(before_layer), str(runtime)),
            artifact_env,
        )
    for variant in variants.values():  # the OS file cache warm, as for the checkout figures
        cold_start(variant, workdir)
    if profile is not None:
        profiled = variants["artifact"]
        cold_start(
            ColdVariant(
                **{**vars(profiled), "environment": {**profiled.environment, "BENCH_PROFILE": str(profile)}}
            ),
            workdir,
        )
        print(f"cProfile of the artifact's first request: {profile} (python -m pstats {profile})")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, variant in variants.items():
            results[name].append(cold_start(variant, workdir))
    return results


def before_label() -> str:
    """What `build/baseline` was built from (its COMMIT file, written by `make bench-baseline`)."""
    commit = BASELINE / "COMMIT"
    return commit.read_text().strip() if commit.exists() else "build/baseline"


def median_of(runs: list[dict[str, float]], key: str) -> float:
    """The median of `key` over the runs (0 in a run that does not have it: a phase it skipped)."""
    return statistics.median(run.get(key, 0.0) for run in runs)


COLD_GOAL = 1.20  # artifact import + first request / floor, wall and CPU (issue 26)
WARM_GOAL_MS = 1.0  # the code's own warm overhead per request, median
WARM_AWS_REQUESTS_GOAL = 2  # AWS requests per warm generation
PHASE_ORDER = [
    "key read",
    "AWS (clients + requests)",
    "resolver, validation, service",
    "provider call (client + create)",
    "handler wrappers (log, metrics, scopes)",
]


def python_version(python: str) -> str:
    """`python`'s version and machine, e.g. "3.13.1 x86_64"."""
    return subprocess.run(
        [python, "-c", "import platform; print(platform.python_version(), platform.machine())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def print_artifact(
    python: str, artifact: dict[str, list[dict[str, float]]], cold_runs: int, aws_latency_ms: float
) -> list[Goal]:
    """The artifact figures: cold start against the floor (phase by phase), layer sizes; their goals.
    With a baseline ("before", `make bench-baseline`), its columns first and its ratios after ours."""
    built, floor = artifact["artifact"], artifact["floor"]
    before = artifact.get("before")
    columns = (
        [("before", before), ("artifact", built), ("floor", floor)]
        if before
        else [
            ("artifact", built),
            ("floor", floor),
        ]
    )
    print(
        f"story_segments from the built text layer, Python {python_version(python)} ({cold_runs} fresh processes "
        "each, interleaved, medians)"
    )
    print(
        "  the layer is build/host/TextLayer: the make build recipe for this machine's platform, since arm64 "
        "binaries cannot load here;\n  copied read-only (fresh mtimes, as in /opt), PYTHONDONTWRITEBYTECODE=1; "
        "boto3/botocore beside it as the runtime provides them;\n  floor = a process that imports only openai "
        "(from the same layer, with bytecode) and makes the equivalent call"
    )
    if before:
        print(f"  before = {before_label()}, measured in the same rounds")
    print(
        f"{'':58}"
        + "".join(f"{name:>10}" for name, _ in columns)
        + "".join(f"{name + ' CPU':>14}" for name, _ in columns)
    )
    phase_names = sorted(
        {key.split(":", 1)[1] for run in built + floor for key in run if key.startswith("phase:")},
        key=lambda name: PHASE_ORDER.index(name) if name in PHASE_ORDER else len(PHASE_ORDER),
    )

    def row(label: str, wall_key: str, cpu_key: str | None) -> None:
        wall = "".join(f"{median_of(runs, wall_key):>10.1f}" for _, runs in columns)
        cpu = "".join(f"{median_of(runs, cpu_key):>14.1f}" for _, runs in columns) if cpu_key else ""
        print(f"{label:58}{wall}{cpu}")

    row("import (ms)", "import_ms", "import_cpu_ms")
    for name in phase_names:
        row(f"  first request: {name}", f"phase:{name}", f"phase_cpu:{name}")
    row("first request, whole (ms)", "request_ms", "request_cpu_ms")
    row("import + first request (ms)", "total_ms", None)
    row("whole process incl. interpreter (ms)", "process_ms", "cpu_ms")
    row("peak memory, VmHWM (MB)", "maxrss_mb", None)
    row("botocore.client loaded by import + first request (1 yes)", "botocore_loaded", None)
    print(
        "  (each phase exclusive of those nested in it; medians of each row separately, so rows need not add up;\n"
        f"   every AWS request answered by moto {aws_latency_ms:g} ms after it arrived, moto's own work counted within\n"
        "   and answered when done if it takes longer; the key read through the extension included)"
    )
    artifact_ratio = median_of(built, "total_ms") / median_of(floor, "total_ms")
    cpu_ratio = median_of(built, "cpu_ms") / median_of(floor, "cpu_ms")
    goals = [
        Goal("artifact import + first request / floor, wall", artifact_ratio, COLD_GOAL),
        Goal("artifact import + first request / floor, CPU", cpu_ratio, COLD_GOAL),
    ]
    print(f"artifact import + first request / floor, wall: {artifact_ratio:.2f}  {goals[0].mark()}")
    print(f"  the same in CPU time (steadier on a loaded machine): {cpu_ratio:.2f}  {goals[1].mark()}")
    if before:
        print(
            f"  before: {median_of(before, 'total_ms') / median_of(floor, 'total_ms'):.2f} wall, "
            f"{median_of(before, 'cpu_ms') / median_of(floor, 'cpu_ms'):.2f} CPU; after - before, "
            f"whole process CPU: {median_of(built, 'cpu_ms') - median_of(before, 'cpu_ms'):+.1f} ms, "
            f"first request CPU: {median_of(built, 'request_cpu_ms') - median_of(before, 'request_cpu_ms'):+.1f} ms"
        )
    print("\nlayer sizes (MB)                    zipped   unzipped")
    for name, zipped, unzipped in layer_sizes():
        goal = ""
        if name.endswith("TextLayer"):
            goals.append(Goal("text layer zipped", zipped, 20, unit=" MB"))
            goal = f"  {goals[-1].mark()}"
        print(f"  {name:32}{zipped:>9.1f}{unzipped:>11.1f}{goal}")
    return goals


def print_warm(
    python: str, warm_figures: dict[str, Any], iterations: int, aws_latency_ms: float
) -> list[Goal]:
    """The warm figures (`warm`: the built layer under `python`): handler against the bare SDK
    call, AWS requests apart; their goals."""
    goals = [
        Goal(
            "warm: the code's own overhead, median, wall",
            warm_figures["own_overhead_median_ms"],
            WARM_GOAL_MS,
            strict=True,
            unit=" ms",
        ),
        Goal(
            "warm: the code's own overhead, median, CPU",
            warm_figures["own_overhead_cpu_median_ms"],
            WARM_GOAL_MS,
            strict=True,
            unit=" ms",
        ),
        Goal(
            "warm: AWS requests per generation, median",
            warm_figures["aws_calls_median"],
            WARM_AWS_REQUESTS_GOAL,
        ),
    ]
    runs = len(warm_figures.get("own_overhead_cpu_runs_ms", [])) or 1
    print(
        f"\nwarm: story_segments from the built text layer, Python {python_version(python)}, "
        f"{iterations} interleaved invocations in each of {runs} processes (medians of each, then of the processes):"
    )
    print(
        "  each process as a warm container: the read-only layer, the runtime's boto3/botocore, the function's\n"
        "  directory and environment as in the cold start; after 5 warm-up rounds, each invocation then the bare\n"
        "  openai call with the same request to the same emulator"
    )
    print(
        f"  handler median {warm_figures['handler_median_ms']:.3f} ms (p90 {warm_figures['handler_p90_ms']:.3f})"
    )
    print(
        f"  bare SDK call median {warm_figures['bare_median_ms']:.3f} ms (p90 {warm_figures['bare_p90_ms']:.3f})"
    )
    print(f"  overhead at the median: {warm_figures['overhead_median_ms']:.3f} ms")
    print(
        f"    of which the handler's AWS requests: {warm_figures['aws_calls_median']:.0f} "
        f"(spend ledger), {warm_figures['aws_median_ms']:.3f} ms to moto (answering {aws_latency_ms:g} ms after "
        "arrival, or when done)"
    )
    print(f"    the code's own overhead: {warm_figures['own_overhead_median_ms']:.3f} ms  {goals[0].mark()}")
    if "own_overhead_runs_ms" in warm_figures:
        each = ", ".join(f"{value:.3f}" for value in warm_figures["own_overhead_runs_ms"])
        print(f"      each process: {each} ms")
    print(
        f"  CPU time of the thread: handler {warm_figures['handler_cpu_median_ms']:.3f} ms, bare SDK call "
        f"{warm_figures['bare_cpu_median_ms']:.3f} ms, the ledger's DynamoDB client in the AWS requests "
        f"{warm_figures['aws_cpu_median_ms']:.3f} ms"
    )
    print(
        f"    the code's own overhead in CPU time: {warm_figures['own_overhead_cpu_median_ms']:.3f} ms  {goals[1].mark()}"
    )
    if "own_overhead_cpu_runs_ms" in warm_figures:
        each = ", ".join(f"{value:.3f}" for value in warm_figures["own_overhead_cpu_runs_ms"])
        print(f"      each process: {each} ms")
    if warm_figures["bare_cpu_median_ms"] > 0:
        share = warm_figures["own_overhead_cpu_median_ms"] / warm_figures["bare_cpu_median_ms"]
        print(
            f"      per ms of the bare SDK call's CPU: {share:.2f} (steadier across machines and hours; "
            "the goal is in ms)"
        )
    print(f"  AWS requests per generation: {warm_figures['aws_calls_median']:.0f}  {goals[2].mark()}")
    return goals


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument(
        "--aws-latency-ms",
        type=float,
        default=AWS_LATENCY_MS,
        help=f"moto answers every AWS request after this long (default {AWS_LATENCY_MS:g}, see AWS_LATENCY_MS)",
    )
    parser.add_argument("--warm-iterations", type=int, default=300)
    parser.add_argument(
        "--warm-processes",
        type=_at_least_one,
        default=WARM_PROCESSES,
        help=f"warm containers measured, one fresh process each (default {WARM_PROCESSES}); figures are their median",
    )
    parser.add_argument("--set-runs", type=int, default=5)
    parser.add_argument("--overhead-generations", type=int, default=200)
    parser.add_argument("--artifact-only", action="store_true", help="only the built layer against the floor")
    parser.add_argument(
        "--warm-only", action="store_true", help="only the warm invocations against the bare call"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="also write a cProfile of the artifact's first request (one untimed run) here",
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="leave out build/baseline (another commit's artifact, `make bench-baseline`) even when it is built",
    )
    args = parser.parse_args()

    python = python313()
    if python is None:
        raise SystemExit(f"make bench {NEEDS_313}")
    if not (HOST_LAYER / "python").exists():
        raise SystemExit(
            "make bench (--artifact-only and --warm-only too) needs the host-platform text layer: "
            "run `make build-host`"
        )

    os.environ.update(AWS_TEST_ENV)
    # moto in a process of its own: this process's figures are then our code's, not moto's threads'.
    moto = contextlib.ExitStack()
    moto_url = moto.enter_context(moto_process(args.aws_latency_ms))
    provision(moto_url, environ={})
    extension = ParametersExtension(moto_url).start()
    try:
        with emulator_process() as emulator_url, tempfile.TemporaryDirectory() as scratch:
            environment = {
                **os.environ,
                **{key: value for key, value in LocalRuntime().environment().items() if value},
                "AWS_ENDPOINT_URL": moto_url,
                "OPENROUTER_BASE_URL": f"{emulator_url}/api/v1",
                "GOOGLE_VERTEX_BASE_URL": emulator_url,
                "GOOGLE_CLOUD_PROJECT": LOCAL_VERTEX_PROJECT,
                "GOOGLE_GEMINI_BASE_URL": emulator_url,
                "VIDEO_POLL_DELAY_SECONDS": "1",  # its minimum; the durable runner skips the waits
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
            if args.warm_only:
                warm_figures = warm(
                    python, environment, args.warm_iterations, Path(scratch), args.warm_processes
                )
                return report(print_warm(python, warm_figures, args.warm_iterations, args.aws_latency_ms))
            baseline = (
                BASELINE if (BASELINE / "TextLayer" / "python").exists() and not args.no_baseline else None
            )
            artifact = artifact_cold_starts(
                python, environment, args.cold_runs, Path(scratch), args.profile, baseline
            )
            if args.artifact_only:
                return report(print_artifact(python, artifact, args.cold_runs, args.aws_latency_ms))
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
            warm_figures = warm(python, environment, args.warm_iterations, Path(scratch), args.warm_processes)
            # Before the sets (emulator latency) and the storm (429s, open breakers) change the stage.
            overhead_figures = aws_overhead(args.overhead_generations)
            sets_figures = sets_wall_time(emulator_url, args.set_runs)
            video_figures = video_jobs(args.set_runs)
            storm_figures = storm(emulator_url)
    finally:
        extension.shutdown()
        moto.close()

    goals = print_artifact(python, artifact, args.cold_runs, args.aws_latency_ms)

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
    goals.append(Goal("cold start ratio, contentgen / naive", ratio, 0.60))
    print(f"cold start ratio (import + first request): {ratio:.2f}  {goals[-1].mark()}")
    goals += print_warm(python, warm_figures, args.warm_iterations, args.aws_latency_ms)
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
    goals += print_aws_overhead(overhead_figures, args.overhead_generations)
    return report(goals)


if __name__ == "__main__":
    sys.exit(main())
