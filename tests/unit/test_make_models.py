"""`make models` looks ahead as docs/models.md says (issue 21 item 6).

GNU make parses `--` options itself (GNU make manual, "Options Summary"): `make models --date
2027-01-01` is "make: unrecognized option '--date'", exit 2, nothing of the catalog printed. A
recipe's arguments go through a variable: the Makefile passes `DATE` to `python -m local.models
--date`, and the docs name `make models DATE=...`. This runs the command the docs show, as written,
with no provider key in its environment (the live comparison is real network, never run by tests).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from local.template import ROOT

DOCUMENTED = re.compile(r"`(make models DATE=\d{4}-\d{2}-\d{2})`")


def test_the_documented_make_models_date_command_looks_ahead() -> None:
    documented = DOCUMENTED.findall((ROOT / "docs" / "models.md").read_text(encoding="utf-8"))
    assert documented, "docs/models.md names no `make models DATE=YYYY-MM-DD`"
    assert "make models --date" not in (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    command = documented[0].split()
    day = command[-1].split("=", 1)[1]
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("OPENROUTER_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY")
    }
    done = subprocess.run(
        [shutil.which("make") or "make", *command[1:]],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    # 0: the guard is clean on that day; 1: it names what shuts down by then (its verdict, printed).
    # make's own refusal is 2 and prints nothing of the catalog.
    assert done.returncode in (0, 1), output[-600:]
    assert "unrecognized option" not in output, output[-600:]
    assert day in output, output[-600:]
