"""Probe (issue 25): the FfmpegLayer follows the FunctionArchitecture a deployer may choose.

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

from local.template import load_template


def test_the_ffmpeg_layer_is_declared_for_the_architecture_the_functions_are_deployed_on() -> None:
    resources = load_template()["Resources"]
    text = resources["TextLayer"]["Properties"]["CompatibleArchitectures"]
    ffmpeg = resources["FfmpegLayer"]["Properties"]["CompatibleArchitectures"]
    assert text == [{"Ref": "FunctionArchitecture"}]
    assert ffmpeg == text, (
        f"FfmpegLayer is {ffmpeg} while the ShortJobFunction runs on FunctionArchitecture "
        "(x86_64 allowed): an aarch64 ffmpeg on an x86_64 function"
    )
