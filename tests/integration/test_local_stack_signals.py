"""`make api` (`python -m local.stack`) stops on SIGTERM, SIGINT and SIGHUP (a probe of issue 21
found it kept running).

The stack is started as `make api` starts it (any free ports), asked for /health until it answers,
then signalled; the process must exit (a generous bound: the clean-up closes servers and pollers,
and under load that takes seconds). SIGINT is also sent to a stack started with SIGINT ignored, as
a background job of a non-interactive shell (`make api &` in a script) is: POSIX shells start such
jobs with SIGINT set to SIG_IGN, and Python then installs no KeyboardInterrupt handler
(https://docs.python.org/3/library/signal.html: "SIGINT is translated into a KeyboardInterrupt
exception if the parent process has not changed it").
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRUBBED = ("OPENROUTER_API_KEY", "GOOGLE_API_KEY", "DAILY_BUDGET_USD", "AWS_ENDPOINT_URL", "AWS_PROFILE")


def start_stack(*, sigint_ignored: bool) -> tuple[subprocess.Popen[str], str]:
    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    process = subprocess.Popen(
        [sys.executable, "-m", "local.stack", "--port", "0", "--aws-port", "0", "--emulator-port", "0"],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key not in SCRUBBED},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ignore_sigint if sigint_ignored else None,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="stack-output", daemon=True).start()
    seen: list[str] = []
    while True:
        line = lines.get(timeout=300)
        if line is None:
            raise AssertionError("the local stack stopped before its banner:\n" + "".join(seen))
        seen.append(line)
        if line.strip() == "requests:":
            break
    found = re.search(r"^local API\s+(http://127\.0\.0\.1:\d+)", "".join(seen), re.M)
    assert found is not None, "".join(seen)
    return process, found.group(1)


def answers_health(url: str) -> bool:
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            threading.Event().wait(0.2)  # the server is starting: ask again
    return False


@pytest.mark.parametrize(
    ("signal_name", "sigint_ignored"),
    [("SIGTERM", False), ("SIGINT", False), ("SIGINT", True), ("SIGHUP", False)],
    ids=["SIGTERM", "SIGINT", "SIGINT-in-a-background-job", "SIGHUP"],
)
def test_the_local_stack_exits_when_signalled(signal_name: str, sigint_ignored: bool) -> None:
    process, url = start_stack(sigint_ignored=sigint_ignored)
    try:
        assert answers_health(url)
        process.send_signal(getattr(signal, signal_name))
        try:
            code = process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the local stack still runs 120 s after {signal_name}")
        assert code == 0
        with pytest.raises((urllib.error.URLError, OSError)):
            urllib.request.urlopen(f"{url}/health", timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=60)
