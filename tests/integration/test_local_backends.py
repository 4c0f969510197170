"""Thumbnails and videos with the template's defaults on the local stack, on BOTH Google backends
(issue 21, "Done when"), through `make api`'s own process started as a shell starts it:
`make api` (the template's `GoogleGenaiUseVertexai=true`: Vertex AI) and
`GOOGLE_GENAI_USE_VERTEXAI=false make api` (the Gemini Developer API, one key), as docs/local.md
shows. Each backend's stack serves `POST /thumbnails` and `POST /videos` to a stored video, and
the emulator's record shows which wire format each request used: Vertex AI's
`publishers/google/models/...` or the Developer API's `/v1beta/models/...` and `/v1beta/interactions`.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from contentgen_client import Client
from local.aws import LOCAL_API_KEY
from local.emulator import EmulatorControl
from local.template import ROOT
from tests.integration.conftest import RunningStack, started_make_api

pytestmark = pytest.mark.integration

BACKENDS = {"true": "Vertex AI", "false": "Gemini Developer API"}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def backend_stack(request: pytest.FixtureRequest) -> Iterator[tuple[str, RunningStack]]:
    """`GOOGLE_GENAI_USE_VERTEXAI=<true|false> make api` (each a stack of its own)."""
    with started_make_api({"GOOGLE_GENAI_USE_VERTEXAI": request.param}) as running:
        yield request.param, running


def _google_paths(stack: RunningStack, since: int) -> list[str]:
    requests = EmulatorControl(stack.emulator_url).requests()[since:]
    return [entry["path"] for entry in requests if entry["target"] == "gemini"]


def test_thumbnails_and_videos_succeed_on_the_backend_the_shell_chose(
    backend_stack: tuple[str, RunningStack],
) -> None:
    vertex, stack = backend_stack
    assert f"media provider  emulator (placeholder media), {BACKENDS[vertex]}" in stack.banner
    before = len(EmulatorControl(stack.emulator_url).requests())
    with Client(stack.api_url, LOCAL_API_KEY, timeout=120) as api:
        thumbnail = api.thumbnail("a lighthouse at dawn", aspect_ratio="9:16")
        accepted = api.video("a paper boat on a rainy street", duration_seconds=8)
        done = api.wait_for_video(accepted.job_id, timeout=600, poll_interval=1)
    assert thumbnail.image_url
    with urllib.request.urlopen(thumbnail.image_url, timeout=60) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    assert done.status == "succeeded"
    assert done.video_url
    with urllib.request.urlopen(done.video_url, timeout=60) as response:
        assert response.read(12)[4:8] == b"ftyp"  # an MP4, as stored in the media bucket

    paths = _google_paths(stack, before)
    assert paths, "no request reached the Google emulator"
    on_vertex = [path for path in paths if "/publishers/google/models/" in path]
    if vertex == "true":
        assert on_vertex == paths, paths
        assert any(path.endswith(":predictLongRunning") for path in paths), paths
    else:
        assert on_vertex == [], paths
        assert any(path.endswith(":generateContent") for path in paths), paths
        assert any(path.endswith("/interactions") for path in paths), paths


@pytest.mark.parametrize(
    ("value", "allowed"),
    [("False", "allows true, false"), ("vertex", "allows true, false")],
)
def test_a_backend_switch_the_template_would_refuse_stops_make_api_in_one_line(
    value: str, allowed: str
) -> None:
    outcome = subprocess.run(
        [sys.executable, "-m", "local.stack", "--port", "0", "--aws-port", "0", "--emulator-port", "0"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "GOOGLE_GENAI_USE_VERTEXAI": value, "HOME": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert outcome.returncode == 1
    assert outcome.stderr.strip().splitlines() == [
        f"make api: GOOGLE_GENAI_USE_VERTEXAI={value!r}: the template's parameter GoogleGenaiUseVertexai {allowed}"
    ]
