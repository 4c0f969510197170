"""`make bench` gives a verdict per goal and fails when one is missed (issue 23, item 10)."""

from __future__ import annotations

import io
import subprocess
import sys

from local.bench_goals import Goal, report
from local.template import ROOT


def test_each_goal_gets_a_verdict_and_a_missed_one_fails_the_run() -> None:
    goals = [
        Goal("artifact cold start / floor", 1.08, 1.20),
        Goal("cold start ratio, contentgen / naive", 0.71, 0.60),
        Goal("warm overhead of the code", 1.0, 1, strict=True, unit=" ms"),  # "< 1 ms": 1.0 misses
        Goal("text layer zipped", 20.0, 20, unit=" MB"),  # "<= 20": met on the limit
    ]
    out = io.StringIO()

    status = report(goals, out)

    lines = out.getvalue().splitlines()
    assert status == 1
    assert "  PASS    artifact cold start / floor: 1.08 (goal <= 1.2)" in lines
    assert "  MISSED  cold start ratio, contentgen / naive: 0.71 (goal <= 0.6)" in lines
    assert "  MISSED  warm overhead of the code: 1 ms (goal < 1 ms)" in lines
    assert "  PASS    text layer zipped: 20 MB (goal <= 20 MB)" in lines
    assert lines[-1] == "2 of 4 goals MISSED: cold start ratio, contentgen / naive, warm overhead of the code"
    assert goals[1].mark() == "(goal <= 0.6)  MISSED"

    assert report(goals[:1], io.StringIO()) == 0


def test_the_bench_scripts_return_the_verdict_as_their_exit_status() -> None:
    """Both entry points end with `report(...)`'s status (a missed goal fails `make bench`)."""
    for module in ("bench", "bench_spend"):
        source = (ROOT / "local" / f"{module}.py").read_text()
        main = source[source.index("def main(") :]
        assert "return report(goals)" in main
    completed = subprocess.run(
        [sys.executable, "-c", "import local.bench, local.bench_spend"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
