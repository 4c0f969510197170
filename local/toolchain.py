"""Where Python 3.12 is: the interpreter `shared/Makefile` picks (PYTHON312, python3.12, pyenv, uv)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEEDS_312 = "needs Python 3.12: put python3.12 on PATH or set PYTHON312 (pyenv or uv install one)"


def python312() -> str | None:
    """Path of a Python 3.12 interpreter, or None when this machine has none."""
    result = subprocess.run(
        [
            shutil.which("make") or "make",
            "--no-print-directory",
            "-s",
            "-C",
            "shared",
            "--eval",
            "show-python312:\n\t@echo $(PYTHON312)",
            "show-python312",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=os.environ,
    )
    return result.stdout.strip() or None
