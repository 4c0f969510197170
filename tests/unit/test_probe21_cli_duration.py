"""Probe of issue 21 items 3 and 4 from the `contentgen` command: the durations a video can have
come from the configured model (the catalog; `openapi.json` `x-allowed-values`: Vertex AI Veo 3.1
4/6/8, Gemini API Omni 3..15), checked by the server before anything is paid.

`contentgen video --duration` is still hard-coded to the retired Veo range (`typer.Option(min=4,
max=8, help="Seconds, 4 to 8.")`, client/src/contentgen_client/cli.py): on the Gemini Developer
API backend (one key, Gemini Omni: 3-15 s, https://github.com/TanStack/ai/pull/886 verified 3 s
live; models.md) `contentgen video "..." --duration 12` or `--duration 3` is refused locally as a
usage error and never reaches the API. Expected: the command passes the value on and the server
answers (200/202 or its 422 with the allowed values).
Reproduction: `.venv/bin/contentgen video "a boat" --duration 12 --url http://127.0.0.1:9 --api-key k`
prints "Invalid value for '--duration': Input should be less than or equal to 8".
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


@pytest.mark.parametrize("seconds", ["3", "12", "15"])
def test_contentgen_video_passes_an_omni_duration_to_the_api(seconds: str) -> None:
    done = subprocess.run(
        [
            COMMAND,
            "video",
            "a paper boat",
            "--duration",
            seconds,
            "--url",
            "http://127.0.0.1:9",
            "--api-key",
            "k",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert "Invalid value for '--duration'" not in output, output[-400:]
