"""Assembly bench: one 6-segment 9:16 short assembled on one core, against the short's length.

    make bench-assembly
    PYTHONPATH=shared .venv/bin/python -m local.bench_assembly [--segments 6] [--seconds 5] [--aspect 9:16] [--json]

Inputs are made first (stills by ffmpeg's own sources at 1024x1792, as an image model returns
them; narrations: 16-bit 24 kHz WAVs of a voice-like tone of `--seconds` each; cues from a
sentence pair per segment). Then `assemble_short(threads=1)` runs once and reports:

- wall time and CPU time (user + system of ffmpeg, `resource.getrusage(RUSAGE_CHILDREN)` before
  and after) against the short's duration: the goal is CPU <= 1 x real time at 1080x1920;
- peak memory: the largest child's max RSS (ffmpeg; the input-making ffmpeg runs are smaller and
  run in a separate process) and this process's own; goal <= 1 GB;
- /tmp use: the work folder's largest size while assembling (sampled every 50 ms) and the
  outputs' sizes;
- the Lambda compute cost of the assembly at a given memory size (arm64 duration price
  0.0000133334 USD per GB-s, us-east-1 first tier, https://aws.amazon.com/lambda/pricing/ as
  quoted by public pricing guides read 2026-12-06), taking wall time = CPU time, i.e. one vCPU
  (1,769 MB gives one vCPU: https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Any

from contentgen.assembly import (
    Cue,
    SegmentInput,
    ShortSpec,
    Toolchain,
    assemble_short,
    build_cues,
    speech_bounds,
)

ARM64_USD_PER_GB_S = 0.0000133334
LAMBDA_MEMORY_MB = 2048
SOURCES = [
    "testsrc2=s=1024x1792",
    "mandelbrot=s=1024x1792:maxiter=200",
    "smptehdbars=s=1024x1792",
    "gradients=s=1024x1792:n=5:seed=7",
    "cellauto=s=1024x1792:rule=110:seed=3,scale=1024:1792",
    "life=s=256x448:seed=5:mold=10,scale=1024:1792:flags=neighbor",
]
LINES = [
    "The storm came in from the north, and the keeper lit the lamp as he had for forty years.",
    "Nobody came. For three nights the light swept the black water and found nothing.",
    "On the fourth night a small boat answered: three flashes, then two, then silence.",
    "He climbed down to the rocks with a lantern, calling a name he had not said aloud in years.",
    "The boat was empty, but the oars were warm, and a child's coat lay folded on the seat.",
    "In the morning the coat was gone, and the light, for the first time, had gone out.",
]


def voice_like(path: Path, seconds: float, rate: int = 24_000) -> None:
    """A tone with syllable-rate amplitude modulation and 0.2 s of silence at each end."""
    frames = round(seconds * rate)
    values = []
    for i in range(frames):
        t = i / rate
        envelope = 0.0 if t < 0.2 or t > seconds - 0.2 else 0.5 + 0.5 * math.sin(2 * math.pi * 4 * t)
        values.append(round(9000 * envelope * math.sin(2 * math.pi * (180 + 40 * math.sin(t)) * t)))
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(struct.pack(f"<{frames}h", *values))


def make_inputs(tools: Toolchain, folder: Path, segments: int, seconds: float) -> list[dict[str, Any]]:
    """Stills and narrations in `folder`; returns what `run` needs to rebuild each segment."""
    made = []
    for index in range(segments):
        still = folder / f"still{index}.png"
        subprocess.run(
            [str(tools.ffmpeg), "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
             SOURCES[index % len(SOURCES)], "-frames:v", "1", str(still)],
            check=True,
        )  # fmt: skip
        narration = folder / f"narration{index}.wav"
        voice_like(narration, seconds)
        made.append(
            {
                "visual": str(still),
                "narration": str(narration),
                "text": LINES[index % len(LINES)],
                "seconds": seconds,
                "speech": speech_bounds(narration),
            }
        )
    return made


def folder_size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue  # removed while walking
    return total


def run(segments: int, seconds: float, aspect: str) -> dict[str, Any]:
    tools = Toolchain.locate()
    with tempfile.TemporaryDirectory(prefix="bench-inputs-") as inputs_dir:
        # Inputs are made in a child Python so their ffmpeg runs do not count in this process's
        # RUSAGE_CHILDREN (whose max RSS is the largest child's).
        inputs = Path(inputs_dir)
        subprocess.run(
            [sys.executable, "-m", "local.bench_assembly", "--make-inputs", str(inputs),
             "--segments", str(segments), "--seconds", str(seconds)],
            check=True,
        )  # fmt: skip
        made = [
            SegmentInput(Path(item["visual"]), Path(item["narration"]), tuple(build_cues_from(item)))
            for item in json.loads((inputs / "inputs.json").read_text())
        ]
        spec = ShortSpec(tuple(made), "The Lighthouse Keeper", aspect_ratio=aspect)  # type: ignore[arg-type]
        with tempfile.TemporaryDirectory(prefix="bench-short-") as work_dir:
            work = Path(work_dir)
            peak = [0]
            stop = threading.Event()

            def watch() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], folder_size(work))
                    stop.wait(0.05)

            watcher = threading.Thread(target=watch, daemon=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            watcher.start()
            started = time.perf_counter()
            short = assemble_short(spec, work, toolchain=tools, threads=1)
            wall = time.perf_counter() - started
            stop.set()
            watcher.join()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            outputs = folder_size(work)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    gb_s = LAMBDA_MEMORY_MB / 1024 * cpu
    return {
        "segments": segments,
        "frame": f"{short.width}x{short.height}",
        "short_s": round(short.duration_s, 3),
        "mp4_bytes": short.size_bytes,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_per_short_s": round(cpu / short.duration_s, 3),
        "wall_per_short_s": round(wall / short.duration_s, 3),
        "ffmpeg_max_rss_mb": round(after.ru_maxrss / 1024, 1),
        "python_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "tmp_peak_mb": round(peak[0] / 2**20, 1),
        "tmp_outputs_mb": round(outputs / 2**20, 1),
        "lambda_memory_mb": LAMBDA_MEMORY_MB,
        "lambda_usd_at_1_vcpu": round(gb_s * ARM64_USD_PER_GB_S, 6),
    }


def build_cues_from(item: dict[str, Any]) -> list[Cue]:
    return build_cues(
        item["text"], item["seconds"], speech_start_s=item["speech"][0], speech_end_s=item["speech"][1]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--segments", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0, help="narration length of each segment")
    parser.add_argument("--aspect", default="9:16", choices=["9:16", "16:9", "1:1"])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--make-inputs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_inputs:
        made = make_inputs(Toolchain.locate(), args.make_inputs, args.segments, args.seconds)
        (args.make_inputs / "inputs.json").write_text(json.dumps(made))
        return
    figures = run(args.segments, args.seconds, args.aspect)
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"assembly of a {figures['segments']}-segment short, {figures['frame']}, {figures['short_s']} s long:"
    )
    print(f"  wall {figures['wall_s']} s ({figures['wall_per_short_s']} x real time, shared machine)")
    print(f"  CPU  {figures['cpu_s']} s on one core ({figures['cpu_per_short_s']} x real time; goal <= 1)")
    print(
        f"  peak memory: ffmpeg {figures['ffmpeg_max_rss_mb']} MB, Python {figures['python_max_rss_mb']} MB (goal <= 1024)"
    )
    print(
        f"  /tmp: peak {figures['tmp_peak_mb']} MB while assembling, {figures['tmp_outputs_mb']} MB of outputs"
    )
    print(f"  MP4 {figures['mp4_bytes'] / 2**20:.1f} MiB")
    print(
        f"  Lambda compute at {figures['lambda_memory_mb']} MB arm64, one vCPU busy: "
        f"{figures['lambda_usd_at_1_vcpu']:.6f} USD per short"
    )


if __name__ == "__main__":
    main()
