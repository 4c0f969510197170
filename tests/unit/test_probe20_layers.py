"""Probe 20: the import contracts leave a folder of the layer out, so imports in and out of it are
never checked (import-linter's `layers` contract only constrains the layers it names unless it is
`exhaustive`)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.unit.test_import_layers import ROOT, _lint_imports, _scratch_copy

PACKAGE = ROOT / "shared" / "contentgen"


def _layer_names() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return {name.strip("()") for name in layers["layers"]}


def test_every_top_level_folder_and_module_of_the_package_is_a_layer() -> None:
    children = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    children |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    missing = sorted(children - _layer_names())
    assert missing == [], f"contentgen children no layer names (their imports are unchecked): {missing}"


@pytest.mark.parametrize(
    ("low_module", "scratch_import"),
    [
        # assembly (ffmpeg planning, captions) importing the API adapter: upward by any reading
        ("assembly/mp4.py", "import contentgen.entrypoints.api"),
        # the bottom-ish models layer importing assembly, which is in no layer
        ("models/common.py", "import contentgen.assembly.captions"),
    ],
)
def test_an_import_into_or_out_of_assembly_breaks_a_contract(
    tmp_path: Path, low_module: str, scratch_import: str
) -> None:
    config = _scratch_copy(tmp_path)
    module = tmp_path / "shared" / "contentgen" / low_module
    module.write_text(module.read_text() + f"\n{scratch_import}  # noqa\n")

    result = _lint_imports(tmp_path, tmp_path / "shared", config)

    assert result.returncode != 0, result.stdout
