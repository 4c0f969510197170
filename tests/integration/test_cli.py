"""The `contentgen` command (the installed console script, in a process of its own) against the
local API over HTTP: output, --json and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from contentgen_client.cli import EXIT_CLIENT, EXIT_FILTERED, EXIT_OK, EXIT_SERVER, EXIT_USAGE
from local.aws import LOCAL_API_KEY
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


COMMAND = str(Path(sys.executable).with_name("contentgen"))
Run = Callable[..., subprocess.CompletedProcess[str]]


def runner(url: str) -> Run:
    environment = {
        **os.environ,
        "CONTENTGEN_API_URL": url,
        "CONTENTGEN_API_KEY": LOCAL_API_KEY,
        "COLUMNS": "120",
    }

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [COMMAND, *arguments], env=environment, capture_output=True, text=True, timeout=120, check=False
        )

    return run


@pytest.fixture
def run(local_api: str) -> Run:
    return runner(local_api)


def test_story_reads_well_and_json_is_the_api_answer(run: Run, stack: Stack) -> None:
    human = run("story", "a robot learns to paint", "--segments", "3")
    assert human.returncode == EXIT_OK, human.stderr
    assert "narration" in human.stdout

    scripted = run("--json", "story", "a robot learns to paint", "-n", "2", "--language", "es")
    assert scripted.returncode == EXIT_OK, scripted.stderr
    answer = json.loads(scripted.stdout)
    assert [segment["index"] for segment in answer["segments"]] == [1, 2]


@pytest.mark.parametrize(
    "arguments",
    [
        ["meme", "mondays", "-n", "3"],
        ["content", "a caption for a sunrise", "--max-tokens", "40"],
        ["ideas", "home cooking", "-n", "2", "--language", "pt-BR"],
        ["sets", "a cat bakery", "--sets", "2", "-n", "2"],
        ["story", "a long one", "-n", "4", "--chunk-size", "2"],
        ["character", "https://example.com/pip.png"],
        ["health"],
    ],
)
def test_each_subcommand_succeeds(run: Run, stack: Stack, arguments: list[str]) -> None:
    outcome = run("--json", *arguments)
    assert outcome.returncode == EXIT_OK, outcome.stderr
    assert json.loads(outcome.stdout)


def test_a_character_file_carries_the_look(run: Run, stack: Stack, tmp_path: Path) -> None:
    analyzed = run("--json", "character", "https://example.com/pip.png")
    sheet = tmp_path / "pip.json"
    sheet.write_text(analyzed.stdout)
    look = json.loads(analyzed.stdout)["character"]["visual_prompt"]

    outcome = run("--json", "story", "Pip paints", "-n", "2", "--character", str(sheet))

    assert outcome.returncode == EXIT_OK, outcome.stderr
    assert all(look in segment["visual_prompt"] for segment in json.loads(outcome.stdout)["segments"])


def test_video_waits_with_progress_and_saves_the_clip(run: Run, stack: Stack, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    outcome = run("video", "a paper boat", "--duration", "4", "--wait", "--poll", "0.2", "-o", str(clip))
    assert outcome.returncode == EXIT_OK, outcome.stderr
    assert clip.stat().st_size > 0


def test_thumbnail_saves_the_image(run: Run, stack: Stack, tmp_path: Path) -> None:
    image = tmp_path / "thumb.png"
    outcome = run("thumbnail", "a robot", "-r", "16:9", "-o", str(image))
    assert outcome.returncode == EXIT_OK, outcome.stderr
    assert image.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow  # one CLI process per exit code
def test_exit_codes_tell_a_script_what_happened(run: Run, stack: Stack) -> None:
    usage = run("story", "x", "--segments", "0")
    assert usage.returncode == EXIT_USAGE

    invalid = run("--json", "story", "   ")
    assert invalid.returncode == EXIT_CLIENT
    assert json.loads(invalid.stdout)["error"]["code"] == "invalid_request"

    missing = run("result", "no-such-id")
    assert missing.returncode == EXIT_CLIENT
    assert "not_found" in missing.stderr

    stack.provider.faults({"kind": "filtered", "reason": "IMAGE_SAFETY", "target": "gemini"})
    filtered = run("thumbnail", "something unsafe")
    assert filtered.returncode == EXIT_FILTERED

    stack.provider.faults(*[{"kind": "server_error", "status": 500, "target": "openai"}] * 10)
    failed = run("--json", "content", "x")
    assert failed.returncode == EXIT_SERVER
    assert json.loads(failed.stdout)["error"]["status_code"] == 502


def test_an_unreachable_api_is_a_server_exit_code() -> None:
    outcome = runner("http://127.0.0.1:9")("health")
    assert outcome.returncode == EXIT_SERVER
    assert "cannot reach" in outcome.stderr
