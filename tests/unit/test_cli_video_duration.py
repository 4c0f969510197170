"""`contentgen video --duration` passes the value to the API (issue 21 items 3 and 4): which
durations a video can have is the configured model's (the catalog; `openapi.json`
`x-allowed-values`: Vertex AI Veo 3.1 4/6/8, Gemini API Omni 3..15), checked by the server before
anything is paid (422 naming `duration_seconds` and the allowed values). The client holds no model
facts.

The command was hard-coded to the retired Veo range (`typer.Option(min=4, max=8)`): on the Gemini
Developer API backend (Gemini Omni: 3-15 s, https://github.com/TanStack/ai/pull/886 verified 3 s
live) `--duration 12` or `--duration 3` was refused locally and never reached the API.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from local.template import ROOT

COMMAND = shutil.which("contentgen", path=str(ROOT / ".venv" / "bin")) or str(
    Path(ROOT, ".venv/bin/contentgen")
)
# Nothing listens on the discard port: reaching for it proves the command sent the request.
NOWHERE = "http://127.0.0.1:9"


def _video(seconds: str) -> str:
    done = subprocess.run(
        [COMMAND, "video", "a paper boat", "--duration", seconds, "--url", NOWHERE, "--api-key", "k"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


@pytest.mark.parametrize("seconds", ["3", "12", "15"])
def test_contentgen_video_passes_an_omni_duration_to_the_api(seconds: str) -> None:
    output = _video(seconds)
    assert "Invalid value for '--duration'" not in output, output[-400:]
    assert f"cannot reach {NOWHERE}" in output, output[-400:]


def test_contentgen_video_refuses_a_duration_that_is_no_length() -> None:
    output = _video("0")
    assert "Invalid value for '--duration'" in output, output[-400:]
    assert "cannot reach" not in output, output[-400:]
