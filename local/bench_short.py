"""Short bench: one 6-segment 9:16 short made end to end on the local stack (`make bench-short`,
also run by `make bench`).

    PYTHONPATH=shared .venv/bin/python -m local.bench_short [--segments 6] [--json] [--keep DIR]

POST /shorts over the local API, then GET /shorts/{id} every 100 ms until it is done; the
durable pipeline runs in this process (testing SDK runner, `local.durable`), so ffmpeg is this
process's child. Reported:

- assembly wall time (step `assembling` seen -> `succeeded`) and ffmpeg's CPU time (user +
  system of children, `getrusage(RUSAGE_CHILDREN)`) against the short's duration (goal: CPU
  <= 1 x real time at 1080x1920);
- peak memory: ffmpeg's max RSS (children) and this process's (goal <= 1 GB);
- /tmp: the largest size of the assembly's work folders (`short-*` in the temp dir, sampled);
- Lambda cost per short: the pipeline's wall time on this machine x 2048 MB x the arm64 price
  (0.0000133334 USD per GB-s, us-east-1 first tier, https://aws.amazon.com/lambda/pricing/ as
  quoted by public pricing guides read 2026-12-06) plus one request per invocation (0.20 USD per
  million), against the provider cost the short reports (`usage.cost_usd`, catalog prices);
  goal < 5 %. The emulator answers in about a second where real providers take several: the
  wall time here is the compute, real runs add provider waits at the same rate (see the note).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ARM64_USD_PER_GB_S = 0.0000133334
USD_PER_REQUEST = 0.20 / 1_000_000
MEMORY_MB = 2048


def _http(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    from local.aws import LOCAL_API_KEY

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={"x-api-key": LOCAL_API_KEY, "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _tmp_sampler(stop: threading.Event, peak: list[int]) -> None:
    root = Path(tempfile.gettempdir())
    while not stop.is_set():
        total = 0
        for folder in root.glob("short-*"):
            # The assembly removes its folders while they are walked: a vanished one counts 0.
            for where, _, files in os.walk(folder):
                for name in files:
                    with contextlib.suppress(OSError):
                        total += os.stat(os.path.join(where, name)).st_size
        peak[0] = max(peak[0], total)
        time.sleep(0.05)


def run(segments: int, keep: Path | None) -> dict[str, Any]:
    from local.stack import LocalStack

    log = open(os.devnull, "w")  # noqa: SIM115 - the functions' logs, for the whole run
    terminal, sys.stdout = sys.stdout, log
    stack = LocalStack().start()
    try:
        assert stack.api is not None
        base = stack.api.url
        body = {"prompt": "A lighthouse keeper finds a letter that was never sent", "segment_count": segments}
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        stop, peak_tmp = threading.Event(), [0]
        sampler = threading.Thread(target=_tmp_sampler, args=(stop, peak_tmp), daemon=True)
        sampler.start()
        started = time.perf_counter()
        status, accepted = _http(base, "POST", "/shorts", body)
        if status != 202:
            raise RuntimeError(f"POST /shorts -> {status}: {accepted}")
        assembling_at = None
        short: dict[str, Any] = accepted
        while short.get("status") not in ("succeeded", "failed"):
            time.sleep(0.1)
            _, short = _http(base, "GET", accepted["status_url"])
            if assembling_at is None and short.get("step") == "assembling":
                assembling_at = time.perf_counter()
            if time.perf_counter() - started > 900:
                raise RuntimeError("the short took more than 15 minutes")
        finished = time.perf_counter()
        stop.set()
        sampler.join()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        if short["status"] != "succeeded":
            raise RuntimeError(f"the short failed: {short.get('error')}")
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            with urllib.request.urlopen(short["video_url"], timeout=30) as response:
                (keep / "short.mp4").write_bytes(response.read())
    finally:
        stack.stop()
        sys.stdout = terminal
        log.close()
    cpu = (children.ru_utime - children_before.ru_utime) + (children.ru_stime - children_before.ru_stime)
    duration = float(short["duration_s"])
    wall = finished - started
    assembly_wall = finished - (assembling_at or finished)
    invocations = 2 + segments  # a start, the map's segments resuming, the assembly (order of magnitude)
    lambda_usd = wall * MEMORY_MB / 1024 * ARM64_USD_PER_GB_S + invocations * USD_PER_REQUEST
    provider_usd = float(short["usage"]["cost_usd"] or 0)
    return {
        "segments": segments,
        "short_duration_s": round(duration, 2),
        "pipeline_wall_s": round(wall, 2),
        "assembly_wall_s": round(assembly_wall, 2),
        "assembly_cpu_s": round(cpu, 2),
        "assembly_cpu_per_short_second": round(cpu / duration, 3),
        "ffmpeg_peak_rss_mb": round(children.ru_maxrss / 1024, 1),
        "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "tmp_peak_mb": round(peak_tmp[0] / 1_000_000, 1),
        "provider_cost_usd": round(provider_usd, 4),
        "usage": short["usage"],
        "lambda_cost_usd": round(lambda_usd, 5),
        "lambda_share_of_provider": round(lambda_usd / provider_usd, 4) if provider_usd else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--segments", type=int, default=6)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="save the short's MP4 in this folder")
    args = parser.parse_args()
    report = run(args.segments, args.keep)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"short bench: {report['segments']} segments, 9:16, {report['short_duration_s']} s short")
    print(
        f"  assembly: wall {report['assembly_wall_s']} s, ffmpeg CPU {report['assembly_cpu_s']} s "
        f"= {report['assembly_cpu_per_short_second']} x real time (goal <= 1)"
    )
    print(
        f"  peak memory: ffmpeg {report['ffmpeg_peak_rss_mb']} MB (goal <= 1024), "
        f"this process {report['process_peak_rss_mb']} MB; /tmp peak {report['tmp_peak_mb']} MB"
    )
    share = report["lambda_share_of_provider"]
    print(
        f"  cost: providers {report['provider_cost_usd']} USD {report['usage']}; Lambda "
        f"{report['lambda_cost_usd']} USD ({share:.1%} of providers, goal < 5 %) for "
        f"{report['pipeline_wall_s']} s at {MEMORY_MB} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
