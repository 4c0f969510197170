"""`make demo` (issue 24: "`make demo` shows a video job finishing") runs every step and exits 0:
the video job finishes, and its SQS and EventBridge requests name the stack's key (`api_key_id`),
so the results it reads back with that key (`GET /results/{id}`, stored per key) are there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


@pytest.mark.slow  # the whole demo: 2-3 minutes on a shared machine
def test_make_demo_runs_every_step_and_exits_0() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "local.demo", "--port", "0", "--aws-port", "0", "--emulator-port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    failed = [line for line in result.stdout.splitlines() if line.startswith("[FAIL]")]
    assert result.returncode == 0, "\n".join(failed) or result.stdout[-2000:] + result.stderr[-2000:]
