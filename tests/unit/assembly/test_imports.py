"""contentgen.assembly sits at the generation level: it imports only contentgen.errors and its
own modules (and the standard library), and nothing heavy at import (cold start)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "shared" / "contentgen" / "assembly"


def test_assembly_imports_only_errors_and_itself() -> None:
    for module in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("contentgen"):
                    assert name == "contentgen.errors" or name.startswith("contentgen.assembly"), (
                        module.name,
                        name,
                    )
                else:
                    assert name.split(".")[0] in sys.stdlib_module_names or name == "__future__", (
                        module.name,
                        name,
                    )


def test_importing_assembly_loads_no_third_party_package() -> None:
    code = (
        "import sys; import contentgen.assembly; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'imageio_ffmpeg', 'pydantic', 'boto3', 'openai'}))"
    )
    shared = str(PACKAGE.parents[1])
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=shared
    )
    assert done.stdout.strip() == "[]"
