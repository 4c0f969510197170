"""The layer's import contracts (`[tool.importlinter]` in pyproject.toml): kept by the real tree,
broken by a scratch import that goes upward.

`lint-imports` runs as `make lint` runs it (PYTHONPATH=shared), once on the repository and once on
a copy of the package in which the bottom layer imports the top one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(
    cwd: Path, package_parent: Path, config: Path, *contracts: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    only = [argument for contract in contracts for argument in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), str(config), "--no-cache", "--no-logo", *only],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_real_tree_keeps_every_contract() -> None:
    result = _lint_imports(ROOT, ROOT / "shared", ROOT / "pyproject.toml")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout, result.stdout


def _scratch_copy(tmp_path: Path) -> Path:
    """The package under tmp_path/shared and a pyproject.toml holding only the import contracts."""
    shutil.copytree(
        ROOT / "shared" / "contentgen",
        tmp_path / "shared" / "contentgen",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    # JSON strings, lists and booleans are TOML too.
    lines = ["[tool.importlinter]", f"root_packages = {json.dumps(config['root_packages'])}"]
    for contract in config["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in contract.items()]
    (tmp_path / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return tmp_path / "pyproject.toml"


@pytest.mark.parametrize(
    ("contract", "low_module", "scratch_import", "named"),
    [
        (
            "layers",
            "errors.py",
            "import contentgen.entrypoints.api",
            "contentgen.errors -> contentgen.entrypoints.api",
        ),
        (
            "layers",
            "config.py",
            "from contentgen.billing import prices",
            "contentgen.config -> contentgen.billing.prices",
        ),
        (
            "layers",
            "core/retry.py",
            "from contentgen.generation import completions",
            "contentgen.core.retry -> contentgen.generation.completions",
        ),
        (
            "layers",
            "stores/results.py",
            "from contentgen.services import results",
            "contentgen.stores.results -> contentgen.services.results",
        ),
        # assembly sits beside generation: it may not reach up to the API adapter...
        (
            "layers",
            "assembly/mp4.py",
            "import contentgen.entrypoints.api",
            "contentgen.assembly.mp4 -> contentgen.entrypoints.api",
        ),
        # ...and the bottom layers may not reach up into it.
        (
            "layers",
            "models/common.py",
            "import contentgen.assembly.captions",
            "contentgen.models.common -> contentgen.assembly.captions",
        ),
        # Upward in no layer, but a cycle inside one folder: api imports events on its direct path.
        ("acyclic", "entrypoints/events.py", "import contentgen.entrypoints.api", ".events -> .api"),
    ],
)
def test_an_import_against_the_order_breaks_a_contract(
    tmp_path: Path, contract: str, low_module: str, scratch_import: str, named: str
) -> None:
    config = _scratch_copy(tmp_path)
    module = tmp_path / "shared" / "contentgen" / low_module
    module.write_text(module.read_text() + f"\n{scratch_import}  # noqa\n")

    result = _lint_imports(tmp_path, tmp_path / "shared", config, contract)

    assert result.returncode != 0, result.stdout
    assert "0 kept, 1 broken" in result.stdout, result.stdout
    assert named in result.stdout, result.stdout


def test_a_folder_left_out_of_the_order_breaks_the_layers_contract(tmp_path: Path) -> None:
    """The layers contract is exhaustive: a new folder must be given its place, or its imports
    in and out would go unchecked."""
    config = _scratch_copy(tmp_path)
    stray = tmp_path / "shared" / "contentgen" / "stray"
    stray.mkdir()
    (stray / "__init__.py").write_text('"""A folder nobody placed."""\n')

    result = _lint_imports(tmp_path, tmp_path / "shared", config, "layers")

    assert result.returncode != 0, result.stdout
    assert "contentgen.stray" in result.stdout + result.stderr, result.stdout + result.stderr
