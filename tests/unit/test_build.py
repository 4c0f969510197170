"""`shared/Makefile` builds the two layers as Lambda runs them: python3.13 arm64, 3.13 bytecode.

The layers are built once per session (pip's cache makes the second run quick) with the same
targets `sam build` runs (`BuildMethod: makefile`) and `make build` runs. python3.13 is the
functions' runtime (durable functions need it). CI must check the runtime's bytecode, so under CI
a missing Python 3.13 FAILS these tests; on a developer's machine without one they are skipped,
naming what is missing (no package registry ships a CPython interpreter: `uv python install` and
npm's portable-python fetch it from GitHub releases), so a newcomer's first `make test` passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from local.toolchain import NEEDS_313, python313
from tests.conftest import skip_unless_ci

# Building both layers with pip takes minutes (151 s on a quiet machine): `make test` only.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make") or "make"
PEP552_UNCHECKED_HASH = 0b01  # flags word: hash-based, source not checked (PEP 552)


@pytest.fixture(scope="session")
def layers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    interpreter = python313()
    if interpreter is None:
        skip_unless_ci(f"the layer build test {NEEDS_313}")
    out = tmp_path_factory.mktemp("layers")
    built = {}
    for layer in ("TextLayer", "MediaLayer"):
        artifacts = out / layer
        subprocess.run(
            [MAKE, "--no-print-directory", "-C", "shared", f"build-{layer}", f"ARTIFACTS_DIR={artifacts}"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHON313": interpreter},
        )
        built[layer] = artifacts / "python"
    return built


def magic_number_313() -> bytes:
    interpreter = python313()
    assert interpreter is not None
    code = "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"
    return bytes.fromhex(
        subprocess.run([interpreter, "-c", code], capture_output=True, text=True, check=True).stdout
    )


def distributions(site: Path) -> set[str]:
    return {path.name.split("-")[0].lower().replace("_", "-") for path in site.glob("*.dist-info")}


@pytest.mark.parametrize("layer", ["TextLayer", "MediaLayer"])
def test_every_module_has_a_313_unchecked_hash_pyc(layers: dict[str, Path], layer: str) -> None:
    site = layers[layer]
    magic = magic_number_313()
    sources = sorted(site.rglob("*.py"))
    assert len(sources) > 100
    missing, wrong = [], []
    for source in sources:
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        if not compiled.exists():
            missing.append(source.relative_to(site))
            continue
        header = compiled.read_bytes()[:8]
        if header[:4] != magic or int.from_bytes(header[4:8], "little") != PEP552_UNCHECKED_HASH:
            wrong.append(source.relative_to(site))
    assert missing == []
    assert wrong == []
    assert not [p for p in site.rglob("*.pyc") if ".cpython-313." not in p.name]


def test_text_layer_holds_contentgen_and_the_text_sdks_only(layers: dict[str, Path]) -> None:
    text = distributions(layers["TextLayer"])

    assert (layers["TextLayer"] / "contentgen" / "__init__.py").exists()
    assert {"openai", "aws-lambda-powertools", "pydantic", "aws-xray-sdk"} <= text
    # The durable execution SDK ships in the layer (AWS: don't rely on the runtime's copy).
    assert "aws-durable-execution-sdk-python" in text
    assert not text & {"google-genai", "cryptography", "pyasn1", "google-auth", "requests"}


def test_no_layer_ships_what_the_runtime_provides_or_what_the_other_holds(layers: dict[str, Path]) -> None:
    text, media = distributions(layers["TextLayer"]), distributions(layers["MediaLayer"])

    assert "google-genai" in media
    assert not (text | media) & {"boto3", "botocore", "s3transfer"}
    assert not text & media
    assert not (layers["MediaLayer"] / "contentgen").exists()
    assert not (layers["TextLayer"] / "bin").exists()


def test_compiled_code_names_its_path_under_opt(layers: dict[str, Path]) -> None:
    interpreter = python313()
    assert interpreter is not None
    compiled = layers["TextLayer"] / "contentgen" / "__pycache__" / "config.cpython-313.pyc"
    code = f"import marshal; print(marshal.loads(open({str(compiled)!r}, 'rb').read()[16:]).co_filename)"
    result = subprocess.run([interpreter, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "/opt/python/contentgen/config.py"
