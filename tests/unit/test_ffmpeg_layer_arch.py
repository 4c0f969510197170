"""Issue 25 (found by a probe): the FfmpegLayer follows the FunctionArchitecture a deployer may choose.

`FunctionArchitecture` allows `x86_64` (template.yaml; samconfig.toml's `local-x86_64`
environment uses it, and `make sam-build` picks it on an x86_64 machine, as this one is). The
ShortJobFunction then runs on x86_64 (Globals: `Architectures: [!Ref FunctionArchitecture]`),
but the FfmpegLayer is declared `CompatibleArchitectures: [arm64]` and built by default from the
`manylinux_2_28_aarch64` wheel (shared/Makefile `FFMPEG_PLATFORM ?=`), unlike the Text and
Media layers, which follow the parameter.

Public sources: AWS::Lambda::LayerVersion `CompatibleArchitectures` (CloudFormation reference:
"A list of compatible instruction set architectures") and Lambda's "Building layers for
multiple architectures" guidance: a layer holding a native binary must be built for the
function's instruction set, or the binary fails with "Exec format error" at run time.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from local.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def test_the_ffmpeg_layer_is_declared_for_the_architecture_the_functions_are_deployed_on() -> None:
    resources = load_template()["Resources"]
    text = resources["TextLayer"]["Properties"]["CompatibleArchitectures"]
    ffmpeg = resources["FfmpegLayer"]["Properties"]["CompatibleArchitectures"]
    assert text == [{"Ref": "FunctionArchitecture"}]
    assert ffmpeg == text, (
        f"FfmpegLayer is {ffmpeg} while the ShortJobFunction runs on FunctionArchitecture "
        "(x86_64 allowed): an aarch64 ffmpeg on an x86_64 function"
    )


def test_the_ffmpeg_binary_is_built_for_the_same_architecture_as_the_other_layers() -> None:
    make = shutil.which("make")
    assert make is not None
    planned = {
        platform: subprocess.run(
            [make, "-n", "--no-print-directory", "-C", "shared", "build-FfmpegLayer", "ARTIFACTS_DIR=/x"]
            + ([f"LAYER_PLATFORM={platform}"] if platform else []),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for platform in ("", "manylinux2014_aarch64", "manylinux2014_x86_64")
    }
    assert "--platform manylinux_2_28_aarch64" in planned[""]  # FunctionArchitecture's default
    assert "--platform manylinux_2_28_aarch64" in planned["manylinux2014_aarch64"]
    assert "--platform manylinux_2_28_x86_64" in planned["manylinux2014_x86_64"]
    sam_build = subprocess.run(
        [make, "-n", "sam-build"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    wheel = "x86_64" if "local-x86_64" in sam_build else "aarch64"
    assert f"FFMPEG_PLATFORM=manylinux_2_28_{wheel} " in sam_build
