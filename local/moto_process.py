"""moto in a process of its own, for `make bench`: what the bench process measures is then our code,
not moto's server threads answering in the same interpreter (they hold the GIL while they parse,
store and serialise, and their CPU time lands in the measured process's figures).

`python -m local.moto_process --latency-ms 5` starts `local.aws.MotoServer` (DynamoDB updates
serialised as in AWS, every request answered `--latency-ms` later), prints `moto on URL` and serves
until terminated. `moto_process()` runs it for the length of a `with` block.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from local.aws import AWS_TEST_ENV

ROOT = Path(__file__).resolve().parent.parent
READY = "moto on "


@contextlib.contextmanager
def moto_process(latency_ms: float = 0.0) -> Iterator[str]:
    """A moto server in a child process answering after `latency_ms`; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "local.moto_process", "--latency-ms", f"{latency_ms:g}"],
        cwd=ROOT,
        env={**os.environ, **AWS_TEST_ENV},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith(READY):
            raise RuntimeError(f"moto did not start (exit {process.poll()}): {line!r}")
        yield line.removeprefix(READY)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> int:
    """Serve until SIGTERM or SIGINT."""
    from local.aws import MotoServer

    parser = argparse.ArgumentParser(description="moto on a free loopback port, answering after a latency")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    server = MotoServer().start()
    server.latency_ms = args.latency_ms
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"{READY}{server.url}", flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
