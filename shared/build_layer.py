"""Build one Lambda layer (`text` or `media`) into a directory, as `sam build` uploads it.

Run by `shared/Makefile` (the layers' `BuildMethod: makefile`, so `sam build` and `make build`
produce the same thing) under Python 3.13 (the runtime Lambda durable functions need):

    python3.13 shared/build_layer.py text  ARTIFACTS_DIR [--platform manylinux2014_aarch64]
    python3.13 shared/build_layer.py media ARTIFACTS_DIR [--platform manylinux2014_aarch64]
    python3    shared/build_layer.py ffmpeg ARTIFACTS_DIR [--platform manylinux_2_28_aarch64]

The ffmpeg layer (any Python 3) is not Python: `build_ffmpeg` below.

Steps:
1. resolve the layer's requirements (text: `requirements.txt`; media: both files, resolved
   together so the versions agree) for CPython 3.13 on the target platform, binary wheels only
   (`pip install --dry-run --report`, https://pip.pypa.io/en/stable/reference/installation-report/);
2. keep the distributions those requirements need, never following a requirement into what the
   Lambda runtime provides (boto3, botocore, s3transfer: Powertools[tracer] → aws-xray-sdk →
   botocore would otherwise ship a second botocore that shadows the runtime's); the media layer
   keeps only what the text layer does not already hold (both are mounted in /opt/python);
3. install exactly those pins with `--no-deps --no-compile` into ARTIFACTS_DIR/python, copy
   `contentgen` there (text layer), drop `bin/` and stray `__pycache__`;
4. compile every `.py` with this interpreter (3.13) and `--invalidation-mode unchecked-hash`:
   Lambda mounts the layer read-only at /opt with new mtimes, which voids timestamp-checked
   `.pyc` (https://docs.python.org/3.13/library/compileall.html, PEP 552), so without this every
   cold start compiles every module it imports. Code objects name /opt/python/... in tracebacks.

Raises SystemExit with one line naming what is missing (wrong interpreter, pip failure).
"""

from __future__ import annotations

import argparse
import compileall
import json
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REQUIREMENTS = {
    "text": [HERE / "requirements.txt"],
    "media": [HERE / "requirements.txt", HERE / "requirements-media.txt"],
}
# Provided by the Lambda python3.13 runtime; a copy in a layer would shadow the runtime's.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
TARGET_PYTHON = (3, 13)
LAYER_ROOT = "/opt/python"

FFMPEG_REQUIREMENTS = HERE / "requirements-ffmpeg.txt"
# imageio-ffmpeg's Linux wheels are manylinux_2_28: `--platform manylinux2014_aarch64` (glibc 2.17)
# finds no wheel of it at all; Lambda's python3.13 runtime (Amazon Linux 2023, glibc 2.34) runs them.
FFMPEG_PLATFORM = "manylinux_2_28_aarch64"
ELF_MACHINES = {183: "aarch64", 62: "x86_64"}  # e_machine (ELF header offset 18)
DEBIAN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")  # fonts-dejavu-core
DEBIAN_FONT_COPYRIGHT = Path("/usr/share/doc/fonts-dejavu-core/copyright")
DEBIAN_GPL3 = Path("/usr/share/common-licenses/GPL-3")  # base-files


def normalize(name: str) -> str:
    """PEP 503 name: lower case, runs of -_. as one dash."""
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(requirement_files: list[Path], platform: str) -> dict[str, dict[str, Any]]:
    """pip's resolution for the target: {normalized name: report entry}."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "-qq", "--disable-pip-version-check"]
        command += ["--dry-run", "--ignore-installed", "--report", str(report), "--target", scratch]
        command += platform_options(platform)
        for requirements in requirement_files:
            command += ["-r", str(requirements)]
        run(command)
        entries: list[dict[str, Any]] = json.loads(report.read_text())["install"]
    return {normalize(entry["metadata"]["name"]): entry for entry in entries}


def platform_options(platform: str) -> list[str]:
    return [
        "--platform",
        platform,
        "--implementation",
        "cp",
        "--python-version",
        ".".join(map(str, TARGET_PYTHON)),
        "--only-binary=:all:",
    ]


def marker_environment(platform: str) -> dict[str, str]:
    """PEP 508 marker values of the Lambda python3.13 runtime on the platform's architecture."""
    machine = "aarch64" if "aarch64" in platform else "x86_64"
    return {
        "python_version": "3.13",
        "python_full_version": "3.13.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": machine,
    }


def needed(resolution: dict[str, dict[str, Any]], roots: set[str], platform: str) -> set[str]:
    """Names reachable from `roots`, never entering what the runtime provides."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # an interpreter without packaging: pip always vendors it
        from pip._vendor.packaging.requirements import Requirement  # type: ignore[assignment]

    environment = marker_environment(platform)
    pending = sorted(roots - RUNTIME_PROVIDED)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        entry = resolution[name]
        extras = entry.get("requested_extras") or [""]
        for spec in entry["metadata"].get("requires_dist") or []:
            requirement = Requirement(spec)
            applies = requirement.marker is None or any(
                requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras
            )
            dependency = normalize(requirement.name)
            if applies and dependency not in RUNTIME_PROVIDED and dependency in resolution:
                pending.append(dependency)
                # An extra asked for by a dependency: follow its requirements too.
                if requirement.extras:
                    resolution[dependency].setdefault("requested_extras", [""])
                    resolution[dependency]["requested_extras"] += sorted(requirement.extras)
                    seen.discard(dependency)
    return seen


def pins(resolution: dict[str, dict[str, Any]], names: set[str]) -> list[str]:
    return sorted(
        f"{resolution[name]['metadata']['name']}=={resolution[name]['metadata']['version']}" for name in names
    )


def install(requirements: list[str], site: Path, platform: str) -> None:
    if not requirements:
        return
    command = [sys.executable, "-m", "pip", "install", "-qq", "--disable-pip-version-check"]
    command += ["--no-deps", "--no-compile", "--upgrade", "--target", str(site)]
    command += platform_options(platform) + requirements
    run(command)


def run(command: list[str]) -> None:
    completed = subprocess.run(command, check=False)  # noqa: S603 - pip, with our own arguments
    if completed.returncode != 0:
        raise SystemExit(f"build_layer: {' '.join(command[:5])} ... failed (exit {completed.returncode})")


def tidy(site: Path) -> None:
    """No console scripts (`bin/`) and no bytecode but ours."""
    shutil.rmtree(site / "bin", ignore_errors=True)
    for cache in sorted(site.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)
    for stray in site.rglob("*.py[co]"):
        stray.unlink()


def compile_tree(site: Path) -> None:
    ok = compileall.compile_dir(
        str(site),
        quiet=1,
        force=True,
        workers=0,
        stripdir=str(site),
        prependdir=LAYER_ROOT,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        raise SystemExit(f"build_layer: compileall reported errors in {site}")


def build(layer: str, artifacts: Path, platform: str) -> None:
    """Build `layer` into `artifacts`/python (emptied first)."""
    if sys.version_info[:2] != TARGET_PYTHON:
        raise SystemExit(
            f"build_layer: needs Python 3.13 (the Lambda runtime's), ran under {sys.version.split()[0]}"
        )
    site = artifacts / "python"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)

    resolution = resolve(REQUIREMENTS["media"], platform)  # one resolution: both layers agree
    text_names = needed(resolution, resolve_names(REQUIREMENTS["text"]), platform)
    if layer == "text":
        install(pins(resolution, text_names), site, platform)
        shutil.copytree(
            HERE / "contentgen", site / "contentgen", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    else:
        all_names = needed(resolution, resolve_names(REQUIREMENTS["media"]), platform)
        install(pins(resolution, all_names - text_names), site, platform)
    tidy(site)
    compile_tree(site)


def build_ffmpeg(artifacts: Path, platform: str = FFMPEG_PLATFORM) -> Path:
    """Build the FfmpegLayer into `artifacts`: what Lambda mounts at /opt.

    - `bin/ffmpeg` (mode 755; /opt/bin is on Lambda's PATH): the static ffmpeg of the pinned
      imageio-ffmpeg wheel for `platform` (`pip download --no-deps --only-binary=:all:`), checked
      to be an ELF executable for the platform's machine;
    - `fonts/DejaVuSans-Bold.ttf` and its licence, from Debian's fonts-dejavu-core (the caption
      and title font: ffmpeg's libass finds no system fonts in Lambda);
    - `licenses/`: the GPL v3 (the binary is a GPL v3 build: --enable-gpl --enable-version3,
      with libx264), imageio-ffmpeg's BSD licence, and a README naming the build and its source.

    Returns the ffmpeg path. Raises SystemExit naming what is missing.
    """
    machine = "aarch64" if "aarch64" in platform else "x86_64"
    for name in ("bin", "fonts", "licenses"):
        shutil.rmtree(artifacts / name, ignore_errors=True)
    for source, what in ((DEBIAN_FONT, "fonts-dejavu-core"), (DEBIAN_GPL3, "base-files")):
        if not source.is_file():
            raise SystemExit(f"build_layer: {source} is missing (apt-get install {what})")
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "pip", "download", "-qq", "--disable-pip-version-check", "--no-deps"]
        command += [
            "--only-binary=:all:",
            "--platform",
            platform,
            "--dest",
            scratch,
            "-r",
            str(FFMPEG_REQUIREMENTS),
        ]
        run(command)
        wheels = sorted(Path(scratch).glob("imageio_ffmpeg-*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"build_layer: expected one imageio-ffmpeg wheel for {platform}, got {wheels}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            members = [
                n
                for n in wheel.namelist()
                if re.fullmatch(rf"imageio_ffmpeg/binaries/ffmpeg-linux-{machine}-v[\d.]+", n)
            ]
            if len(members) != 1:
                raise SystemExit(f"build_layer: no ffmpeg-linux-{machine} binary in {wheels[0].name}")
            binary = wheel.read(members[0])
            licence = next((wheel.read(n) for n in wheel.namelist() if n.endswith("licenses/LICENSE")), b"")
        release = members[0].rsplit("-v", 1)[1]
    if binary[:4] != b"\x7fELF" or ELF_MACHINES.get(int.from_bytes(binary[18:20], "little")) != machine:
        raise SystemExit(f"build_layer: {members[0]} is not an ELF executable for {machine}")
    build = re.search(rb"n\d+\.\d+[.\w-]*-\d{8}", binary)
    ffmpeg = artifacts / "bin" / "ffmpeg"
    ffmpeg.parent.mkdir(parents=True)
    ffmpeg.write_bytes(binary)
    ffmpeg.chmod(0o755)
    (artifacts / "fonts").mkdir()
    shutil.copyfile(DEBIAN_FONT, artifacts / "fonts" / DEBIAN_FONT.name)
    if DEBIAN_FONT_COPYRIGHT.is_file():
        shutil.copyfile(DEBIAN_FONT_COPYRIGHT, artifacts / "fonts" / "LICENSE-DejaVu")
    licenses = artifacts / "licenses"
    licenses.mkdir()
    shutil.copyfile(DEBIAN_GPL3, licenses / "ffmpeg-GPL-3.0.txt")
    (licenses / "imageio-ffmpeg-BSD-2-Clause.txt").write_bytes(licence)
    (licenses / "README").write_text(
        f"bin/ffmpeg: FFmpeg {release} (build {build.group().decode() if build else 'unknown'}), linux {machine},\n"
        f"from the {wheels[0].name} wheel on PyPI (imageio-ffmpeg, BSD-2-Clause), which takes it from\n"
        "the BtbN/FFmpeg-Builds static 'gpl' builds: configured with --enable-gpl --enable-version3\n"
        "(libx264, libass, freetype, fontconfig, harfbuzz, fribidi among others), so the binary is\n"
        "under the GNU GPL version 3 (ffmpeg-GPL-3.0.txt). Source: FFmpeg's git at the tag named\n"
        "above and the build scripts of BtbN/FFmpeg-Builds.\n"
        "fonts/DejaVuSans-Bold.ttf: DejaVu fonts (Bitstream Vera derived licence, fonts/LICENSE-DejaVu).\n",
        encoding="utf-8",
    )
    return ffmpeg


def resolve_names(requirement_files: list[Path]) -> set[str]:
    """Names the requirement files list directly (their dependencies come from the resolution)."""
    names: set[str] = set()
    for path in requirement_files:
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                names.add(normalize(re.split(r"[\[=<>!~; ]", line, maxsplit=1)[0]))
    return names


def zip_layer(artifacts: Path, archive: Path) -> int:
    """Zip `artifacts` (its `python/` tree) reproducibly: sorted entries, fixed timestamps.

    Returns the archive's size in bytes (what counts against Lambda's 50 MB zipped upload)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        for path in sorted(p for p in artifacts.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(artifacts).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16  # bin/ffmpeg runs
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, path.read_bytes())
    return archive.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("layer", choices=[*sorted(REQUIREMENTS), "ffmpeg", "zip"])
    parser.add_argument("artifacts", type=Path)
    parser.add_argument(
        "--platform", default=None, help="default: manylinux2014_aarch64 (ffmpeg: manylinux_2_28_aarch64)"
    )
    parser.add_argument("--output", type=Path, help="zip: the archive to write")
    args = parser.parse_args()
    if args.layer == "zip":
        if args.output is None:
            raise SystemExit("build_layer: zip needs --output")
        zip_layer(args.artifacts.resolve(), args.output.resolve())
        return
    if args.layer == "ffmpeg":
        build_ffmpeg(args.artifacts.resolve(), args.platform or FFMPEG_PLATFORM)
        return
    build(args.layer, args.artifacts.resolve(), args.platform or "manylinux2014_aarch64")


if __name__ == "__main__":
    main()
