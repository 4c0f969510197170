"""The first `make` install says how long it takes and shows its progress (issue 23, item 11)."""

from __future__ import annotations

import re
import shutil
import subprocess

from local.template import ROOT


def test_the_install_shows_each_package_and_states_the_measured_time() -> None:
    make = shutil.which("make")
    assert make is not None
    # -B: plan the install as on a fresh clone (the stamp out of date), without running it.
    planned = subprocess.run(
        [make, "-n", "-B", ".venv/.installed"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout

    install = next(line for line in planned.splitlines() if "pip install" in line)
    assert not re.search(r"(^|\s)(--quiet|-q+)(\s|$)", install), "pip's own progress is shown"
    message = next(line for line in planned.splitlines() if line.startswith("echo") and "installing" in line)
    assert "about a minute" not in message
    assert re.search(r"\d+ to \d+ minutes", message), message
