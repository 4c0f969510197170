"""Probe of issue 21 item 6 and docs/models.md ("`make models` prints the catalog's table and the
guard's verdict (`--date 2027-01-01` to look ahead)"; "Moving to a new model" step 3: "`make models
--date` a month ahead shows what comes next").

Run literally, `make models --date 2027-01-01` is GNU make's own option parsing: "make:
unrecognized option '--date'", exit 2, nothing printed of the catalog. The Makefile recipe is
`$(BIN)/python -m local.models` with no variable to pass arguments through, so no `make models`
invocation can look ahead. Public source: GNU make manual, "Options Summary" (make takes its own
`--` options; arguments for a recipe go through variables, e.g. `make models DATE=...`).
"""

from __future__ import annotations

import shutil
import subprocess

from local.template import ROOT


def test_the_documented_make_models_date_command_looks_ahead() -> None:
    done = subprocess.run(
        [shutil.which("make") or "make", "models", "--date", "2027-01-01"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-600:]
    assert "2027-01-01" in output, output[-600:]
