"""The FfmpegLayer as `shared/Makefile build-FfmpegLayer` builds it for Lambda arm64, and the
size limits it must fit.

Lambda quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, read
2026-12-06): a .zip deployment package is at most 50 MB zipped when uploaded directly through the
Lambda API or SDKs (larger packages go through Amazon S3) and at most 250 MB unzipped, the
function's code and all its layers together. GetAccountSettings' AccountLimit reports them in
bytes as CodeSizeZipped and CodeSizeUnzipped
(https://docs.aws.amazon.com/lambda/latest/api/API_AccountLimit.html): 52428800 and 262144000.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from local.toolchain import NEEDS_313, python313
from tests.conftest import skip_unless_ci

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
MAKE = shutil.which("make") or "make"
DIRECT_UPLOAD_ZIPPED = 50 * 1024 * 1024
UNZIPPED_WITH_LAYERS = 250 * 1024 * 1024
FUNCTION_CODE_ALLOWANCE = 1024 * 1024  # functions/<name>/: a thin handler


def make_layer(layer: str, artifacts: Path, **variables: str) -> Path:
    subprocess.run(
        [MAKE, "--no-print-directory", "-C", "shared", f"build-{layer}", f"ARTIFACTS_DIR={artifacts}"]
        + [f"{name}={value}" for name, value in variables.items()],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return artifacts


def unzipped_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


@pytest.fixture(scope="module")
def ffmpeg_layer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    artifacts = make_layer("FfmpegLayer", tmp_path_factory.mktemp("FfmpegLayer"), PYTHON=sys.executable)
    archive = artifacts.parent / "FfmpegLayer.zip"
    subprocess.run(
        [sys.executable, "shared/build_layer.py", "zip", str(artifacts), "--output", str(archive)],
        cwd=ROOT,
        check=True,
    )
    return artifacts, archive


def test_the_layer_holds_an_arm64_ffmpeg_a_font_and_the_licences(ffmpeg_layer: tuple[Path, Path]) -> None:
    artifacts, archive = ffmpeg_layer
    binary = (artifacts / "bin" / "ffmpeg").read_bytes()[:20]
    assert binary[:4] == b"\x7fELF"
    assert int.from_bytes(binary[18:20], "little") == 183  # EM_AARCH64
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
        mode = bundle.getinfo("bin/ffmpeg").external_attr >> 16
    assert mode & 0o111, "bin/ffmpeg must keep its execute bits in the zip"
    assert {
        "bin/ffmpeg",
        "fonts/DejaVuSans-Bold.ttf",
        "licenses/ffmpeg-GPL-3.0.txt",
        "licenses/README",
    } <= names
    readme = (artifacts / "licenses" / "README").read_text()
    assert "GPL version 3" in readme
    assert "9.0.2" in readme


def test_the_assembling_function_fits_lambdas_unzipped_limit(
    ffmpeg_layer: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    interpreter = python313()
    if interpreter is None:
        skip_unless_ci(f"the assembling function's size test {NEEDS_313}")
    artifacts, _ = ffmpeg_layer
    text = make_layer("TextLayer", tmp_path_factory.mktemp("TextLayer"), PYTHON313=interpreter)
    # The assembling function: the text layer (contentgen) + the FfmpegLayer + its handler.
    total = unzipped_size(artifacts) + unzipped_size(text) + FUNCTION_CODE_ALLOWANCE
    assert total < UNZIPPED_WITH_LAYERS, f"{total / 2**20:.1f} MiB unzipped"


def test_the_zipped_layer_goes_through_s3_as_sam_deploys_it(ffmpeg_layer: tuple[Path, Path]) -> None:
    """The zip is over the 50 MB direct-upload quota; `sam deploy` uploads artifacts to S3
    (samconfig: resolve_s3) and the layer version is published from there."""
    _, archive = ffmpeg_layer
    size = archive.stat().st_size
    assert size > DIRECT_UPLOAD_ZIPPED / 2  # a real ffmpeg, not an empty layer
    if size > DIRECT_UPLOAD_ZIPPED:
        config = tomllib.loads((ROOT / "samconfig.toml").read_text())
        assert config["default"]["deploy"]["parameters"]["resolve_s3"] is True
