"""Where Python 3.13 is: the interpreter `shared/Makefile` picks (PYTHON313, python3.13, pyenv, uv).

Python 3.13 is the functions' runtime (Lambda durable functions need python3.13 or newer), so the
layers' bytecode and the artifact bench need exactly that interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEEDS_313 = "needs Python 3.13: put python3.13 on PATH or set PYTHON313 (pyenv or uv install one)"


def python313() -> str | None:
    """Path of a Python 3.13 interpreter, or None when this machine has none."""
    result = subprocess.run(
        [
            shutil.which("make") or "make",
            "--no-print-directory",
            "-s",
            "-C",
            "shared",
            "--eval",
            "show-python313:\n\t@echo $(PYTHON313)",
            "show-python313",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=os.environ,
    )
    return result.stdout.strip() or None
