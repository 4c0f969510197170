"""The local stack's own parts without the stack: gateway responses against template.yaml,
env.json, the port check, the Makefile's Python check, the emulator's media, malformed messages."""

from __future__ import annotations

import json
import re
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from local import gateway_responses
from local.event_sources import malformed_reason
from local.fake_media import mp4, png
from local.ports import PortTaken, check_ports, port_taken
from local.template import ROOT, functions, load_template

ASKED = {
    "MISSING_AUTHENTICATION_TOKEN": 404,
    "INVALID_API_KEY": 403,
    "THROTTLED": 429,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "INTEGRATION_TIMEOUT": 504,
    "INTEGRATION_FAILURE": 502,
    "DEFAULT_5XX": 502,
}


@pytest.mark.parametrize(("response_type", "status"), sorted(ASKED.items()))
def test_each_gateway_response_is_the_projects_error_json_with_the_request_id(
    response_type: str, status: int
) -> None:
    declared = gateway_responses.declared()[response_type]
    assert declared.headers == {"X-Request-Id": "context.requestId"}

    answered, headers, raw = gateway_responses.render(response_type, "req-123")

    body = json.loads(raw)
    assert answered == status
    assert headers["X-Request-Id"] == "req-123"
    assert body["status_code"] == status
    assert body["request_id"] == "req-123"
    assert body["message"]
    assert re.fullmatch(r"[a-z_]+", body["code"])


def test_default_4xx_carries_the_message_type_and_request_id() -> None:
    assert "DEFAULT_4XX" in gateway_responses.declared()

    status, headers, raw = gateway_responses.render(
        "BAD_REQUEST_BODY", "req-9", message="Invalid request body"
    )

    assert status == 400  # DEFAULT_4XX sets no status: the type's own stays
    assert json.loads(raw) == {
        "message": "Invalid request body",
        "code": "BAD_REQUEST_BODY",
        "request_id": "req-9",
    }
    assert headers["X-Request-Id"] == "req-9"


def test_env_json_points_every_sdk_at_the_emulators_and_holds_only_declared_variables() -> None:
    variables = json.loads((ROOT / "env.json").read_text())["Parameters"]
    declared = {name for spec in functions().values() for name in spec.environment}
    declared |= set(load_template()["Globals"]["Function"]["Environment"]["Variables"])

    assert set(variables) <= declared
    for name in (
        "AWS_ENDPOINT_URL",
        "OPENROUTER_BASE_URL",
        "GOOGLE_GEMINI_BASE_URL",
        "GOOGLE_VERTEX_BASE_URL",
    ):
        assert variables[name].startswith("http://127.0.0.1:"), name


def test_a_taken_port_is_named_in_one_line_with_the_variable_that_moves_it() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_taken(port)
        with pytest.raises(PortTaken) as taken:
            check_ports({"API_PORT": 0, "AWS_PORT": port})
        completed = subprocess.run(
            [sys.executable, "-m", "local.ports", f"AWS_PORT={port}", "--command", "make demo"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
    message = str(taken.value)
    assert "\n" not in message
    assert f"port {port}" in message
    assert f"AWS_PORT={port + 1}" in message
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [message.replace("make api", "make demo")]


def test_a_free_port_passes() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert not port_taken(port)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_makefile_refuses_an_unsupported_python_in_one_line(tmp_path: Path) -> None:
    for name in ("Makefile", "requirements-dev.txt", "shared/requirements.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    old = tmp_path / "python3.9"
    old.write_text('#!/bin/sh\ncase "$2" in *"version_info[:2]"*) echo 3.9 ;; *) echo 0 ;; esac\n')
    old.chmod(0o755)

    completed = subprocess.run(
        [str(shutil.which("make")), "-s", "demo", f"PYTHON={old}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )

    assert completed.returncode != 0
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert "needs Python 3.11+" in lines[0]
    assert "python3.9 is 3.9" in lines[0]
    assert not (tmp_path / ".venv").exists()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize(("ratio", "expected"), [("16:9", 16 / 9), ("9:16", 9 / 16), ("1:1", 1.0)])
def test_the_emulated_thumbnail_is_a_png_of_the_asked_ratio(ratio: str, expected: float) -> None:
    width, height = _png_size(png("a lighthouse", ratio))

    assert width / height == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize(("ratio", "size"), [("9:16", "90x160"), ("16:9", "160x90")])
def test_the_emulated_video_is_a_playable_mp4(tmp_path: Path, ratio: str, size: str) -> None:
    import imageio_ffmpeg  # type: ignore[import-untyped]

    video = tmp_path / "video.mp4"
    video.write_bytes(mp4("a paper boat", ratio))

    decoded = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(video), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert decoded.returncode == 0, decoded.stderr
    assert "Video: h264" in decoded.stderr
    assert size in decoded.stderr
    frames = re.findall(r"frame=\s*(\d+)", decoded.stderr)
    assert frames
    assert int(frames[-1]) >= 2
    assert video.stat().st_size < 20_000


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"request": {"prompt": "x"}}', "no request_id"),
        ('{"detail-type": "story_segments", "source": "me", "detail": {"prompt": "x"}}', "no request_id"),
        ('{"request_id": "r1", "request": {"prompt": "x"}}', None),
        ('{"detail-type": "story_segments", "source": "me", "detail": {"request_id": "r2"}}', None),
    ],
)
def test_a_malformed_request_message_is_recognised(body: str, reason: str | None) -> None:
    assert malformed_reason(body) == reason


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_makefile_rebuilds_a_venv_whose_python_is_gone(tmp_path: Path) -> None:
    for name in (
        "Makefile",
        "requirements-dev.txt",
        "shared/requirements.txt",
        "shared/requirements-media.txt",
        "shared/requirements-ffmpeg.txt",
        "client/pyproject.toml",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(tmp_path / "a-python-since-uninstalled")
    (tmp_path / ".venv" / ".installed").touch()

    planned = subprocess.run(
        [str(shutil.which("make")), "-n", "install", f"PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout

    assert "rebuilding .venv" in planned
    assert "rm -rf .venv" in planned
    assert f"{sys.executable} -m venv .venv" in planned
    assert "4 to 9 minutes the first time" in planned


def test_a_shell_variable_fed_by_a_template_parameter_sets_that_parameter_as_cloudformation_checks_it() -> (
    None
):
    """`GOOGLE_GENAI_USE_VERTEXAI=false make api`: the template's `GoogleGenaiUseVertexai` takes
    the shell's value (and every variable it feeds follows); a value the parameter's
    `AllowedValues` / `MinValue` refuse stops the stack in one line; the endpoints the stack wires
    itself are not read from the shell."""
    from local.stack import WIRED
    from local.template import (
        ParameterValueError,
        parameter_variables,
        parameters,
        parameters_from_environment,
    )

    assert parameter_variables()["GOOGLE_GENAI_USE_VERTEXAI"] == "GoogleGenaiUseVertexai"
    shell = {
        "GOOGLE_GENAI_USE_VERTEXAI": "false",
        "TEXT_MODEL": "openai/gpt-6-luna",
        "AWS_ENDPOINT_URL": "https://x",
    }
    found = parameters_from_environment(shell, skip=WIRED)
    assert found == {"GoogleGenaiUseVertexai": "false", "TextModel": "openai/gpt-6-luna"}
    with parameters(**found):
        media = functions()["GenerateThumbnailFunction"].environment
    assert media["GOOGLE_GENAI_USE_VERTEXAI"] == "false"
    assert functions()["GenerateThumbnailFunction"].environment["GOOGLE_GENAI_USE_VERTEXAI"] == "true"

    with pytest.raises(ParameterValueError) as refused:
        parameters_from_environment({"GOOGLE_GENAI_USE_VERTEXAI": "False"})
    assert str(refused.value) == (
        "GOOGLE_GENAI_USE_VERTEXAI='False': the template's parameter GoogleGenaiUseVertexai allows true, false"
    )
    with pytest.raises(ParameterValueError, match=r"VIDEO_POLL_DELAY_SECONDS=.0..*a number from 1 to 900"):
        parameters_from_environment({"VIDEO_POLL_DELAY_SECONDS": "0"})
