"""The `contentgen` command (the installed console script, in a process of its own) against the
local API over HTTP: output, --json and exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from contentgen_client.cli import EXIT_CLIENT, EXIT_FILTERED, EXIT_JOB, EXIT_OK, EXIT_SERVER, EXIT_USAGE
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

    def run(*arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [COMMAND, *arguments],
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
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


@pytest.mark.slow  # a whole short on the local stack: minutes on a loaded machine
def test_short_waits_step_by_step_and_saves_the_mp4(run: Run, stack: Stack, tmp_path: Path) -> None:
    """`contentgen short "..." --wait --output short.mp4`: the short followed to the end, then its
    MP4 written (an ISO BMFF file: `ftyp` first); `short-status` reads it back."""
    video = tmp_path / "short.mp4"
    outcome = run(
        "short", "a lighthouse keeper", "-n", "3", "--wait", "--poll", "0.5", "-o", str(video), timeout=1500
    )
    assert outcome.returncode == EXIT_OK, outcome.stderr
    assert "short ready" in outcome.stdout
    assert video.read_bytes()[4:8] == b"ftyp"
    short_id = outcome.stdout.split("short ready ", 1)[1].split()[0]
    status = run("--json", "short-status", short_id)
    assert status.returncode == EXIT_OK, status.stderr
    answer = json.loads(status.stdout)
    assert (answer["status"], answer["segments_done"], answer["segments_total"]) == ("succeeded", 3, 3)


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


# --- issue 23: the command as people use it --------------------------------------------------


def plain_runner(url: str) -> Run:
    """The command as a script runs it: output piped, no COLUMNS (Rich's default 80 columns)."""
    environment = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    environment.update({"CONTENTGEN_API_URL": url, "CONTENTGEN_API_KEY": LOCAL_API_KEY})

    def run(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [COMMAND, *arguments],
            env=environment,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


def test_the_readme_tour_works_as_written_with_options_after_the_subcommand(
    local_api: str, stack: Stack, tmp_path: Path
) -> None:
    run = plain_runner(local_api)
    drawn = run("thumbnail", "Pip, a small robot with a paintbrush", "-o", "pip.png", cwd=tmp_path)
    assert drawn.returncode == EXIT_OK, drawn.stderr

    analyzed = run("character", "pip.png", "--json", cwd=tmp_path)  # --json after the subcommand
    assert analyzed.returncode == EXIT_OK, analyzed.stderr
    (tmp_path / "pip.json").write_text(analyzed.stdout)
    look = json.loads(analyzed.stdout)["character"]["visual_prompt"]

    story = run("story", "Pip opens a bakery", "--character", "pip.json", "-n", "2", "--json", cwd=tmp_path)
    assert story.returncode == EXIT_OK, story.stderr
    assert all(look in segment["visual_prompt"] for segment in json.loads(story.stdout)["segments"])

    # Every global option is taken after the subcommand too, and a subcommand's own values stay put.
    late = run("content", "--max-tokens", "30", "a caption", "--no-retry", "--max-wait", "5", "--json")
    assert late.returncode == EXIT_OK, late.stderr
    assert json.loads(late.stdout)["content"]


def test_urls_and_ids_are_one_piece_when_piped(local_api: str, stack: Stack) -> None:
    run = plain_runner(local_api)
    outcome = run("thumbnail", "a robot painting a sunset at golden hour over a quiet harbour", "-r", "16:9")
    assert outcome.returncode == EXIT_OK, outcome.stderr

    (url,) = re.findall(r"https?://\S+", outcome.stdout)  # what `$(...)` or `grep -o` would take
    with urllib.request.urlopen(url, timeout=30) as response:  # the presigned URL whole: it works
        assert response.read()[:4] == b"\x89PNG"

    started = run("video", "a paper boat on a rainy street", "--duration", "4")
    assert started.returncode == EXIT_OK, started.stderr
    job_id = re.search(r"video job (\S+) pending", started.stdout)
    assert job_id is not None, started.stdout
    assert f"contentgen video-status {job_id.group(1)}" in started.stdout.replace("\n", " ")
    assert f"contentgen video-status {job_id.group(1)}" in started.stdout  # on one line
    for _ in range(600):  # let the job finish (a condition), so no check of it outlives this test
        if json.loads(run("--json", "video-status", job_id.group(1)).stdout)["status"] in (
            "succeeded",
            "failed",
        ):
            break


def test_a_short_story_shows_model_tokens_and_a_cost_below_a_cent(local_api: str, stack: Stack) -> None:
    run = plain_runner(local_api)
    scripted = run("--json", "story", "Pip", "-n", "2")
    answer = json.loads(scripted.stdout)
    assert 0 < answer["usage"]["cost_usd"] < 0.01  # the emulator's OpenRouter-like cost: fractions of a cent

    human = run("story", "Pip", "-n", "2")

    assert human.returncode == EXIT_OK, human.stderr
    header = human.stdout.split("┏")[0]  # what comes before the table
    assert answer["title"] in header
    assert answer["model"] in header
    tokens = f"{answer['usage']['prompt_tokens']}+{answer['usage']['completion_tokens']} tokens"
    assert tokens in header
    assert "$0.0000" not in human.stdout
    assert re.search(r"\$0\.0\d*[1-9]|<\$0\.0001", header)


def test_emulated_answers_are_labelled_where_people_see_them(
    local_api: str, stack: Stack, tmp_path: Path
) -> None:
    run = plain_runner(local_api)
    for arguments in (
        ["story", "Pip", "-n", "2"],
        ["meme", "mondays", "-n", "3"],
        ["ideas", "baking", "-n", "2"],
    ):
        outcome = run(*arguments)
        assert outcome.returncode == EXIT_OK, outcome.stderr
        assert "placeholder: answered by the local provider emulator, not a model" in outcome.stdout, (
            arguments
        )

    board = run("storyboard", "a robot learns to paint", "-n", "2", "-o", "board.html", cwd=tmp_path)
    assert board.returncode == EXIT_OK, board.stderr
    page = (tmp_path / "board.html").read_text()
    assert "Placeholder content: the local provider emulator wrote this story" in page
    assert "placeholder" in board.stdout

    scripted = run("--json", "story", "Pip", "-n", "1")  # JSON stays the API's answer
    assert "placeholder" not in scripted.stdout


def test_simple_mistakes_are_one_message_not_a_traceback_and_cost_nothing(
    local_api: str, stack: Stack, tmp_path: Path
) -> None:
    run = plain_runner(local_api)
    for arguments in (
        ["story", "x", "--character", "nofile.json"],
        ["story", "x", "--character", str(tmp_path)],
        ["thumbnail", "x", "-o", "/nonexistent/dir/t.png"],
        ["video", "x", "-o", "/nonexistent/dir/clip.mp4"],
        ["storyboard", "x", "-o", "/nonexistent/dir/board.html"],
        ["character", "nofile.png"],
        ["video-status", "some-job", "-o", str(tmp_path)],
    ):
        outcome = run(*arguments)
        assert outcome.returncode == EXIT_USAGE, (arguments, outcome.stderr)
        assert "Traceback" not in outcome.stderr + outcome.stdout
        scripted = run(*arguments, "--json")
        assert scripted.returncode == EXIT_USAGE
        problem = json.loads(scripted.stdout)["error"]
        assert problem["code"] == "usage_error", arguments
        assert problem["message"]
    assert stack.provider.requests() == []  # nothing sent, nothing paid


def test_a_paid_image_that_cannot_be_written_is_written_elsewhere_and_said_where(
    local_api: str, stack: Stack
) -> None:
    run = plain_runner(local_api)
    # /dev/full takes the open and fails the write (ENOSPC): the image was generated and paid for.
    outcome = run("thumbnail", "a robot", "-o", "/dev/full")

    assert outcome.returncode == 1
    assert "Traceback" not in outcome.stderr
    where = re.search(r"saved it to (\S+) instead", outcome.stderr)
    assert where is not None, outcome.stderr
    saved = Path(where.group(1))
    try:
        assert saved.read_bytes()[:4] == b"\x89PNG"
    finally:
        saved.unlink(missing_ok=True)

    scripted = run("--json", "thumbnail", "a robot", "-o", "/dev/full")
    answer = json.loads(scripted.stdout)
    try:
        assert answer["image_url"]
        assert Path(answer["saved_to"]).read_bytes()[:4] == b"\x89PNG"
    finally:
        Path(answer["saved_to"]).unlink(missing_ok=True)


def test_usage_and_a_video_downloaded_by_video_status(local_api: str, stack: Stack, tmp_path: Path) -> None:
    run = plain_runner(local_api)
    started = run("--json", "video", "a paper boat", "--duration", "4")
    assert started.returncode == EXIT_OK, started.stderr
    job_id = json.loads(started.stdout)["job_id"]
    clip = tmp_path / "clip.mp4"

    status = "pending"
    for _ in range(600):  # until the worker has finished it (a condition, not a time)
        checked = run("--json", "video-status", job_id)
        status = json.loads(checked.stdout)["status"]
        if status in ("succeeded", "failed"):
            break
        early = run("video-status", job_id, "--output", str(clip))
        if early.returncode == EXIT_JOB:  # not finished: nothing written, and the command says so
            assert not clip.exists()
            assert "nothing saved" in early.stderr
    assert status == "succeeded"

    saved = run("video-status", job_id, "--output", str(clip))
    assert saved.returncode == EXIT_OK, saved.stderr
    assert clip.read_bytes()[4:8] == b"ftyp"
    assert f"saved to {clip}" in saved.stdout

    usage = run("usage")
    assert usage.returncode == EXIT_OK, usage.stderr
    assert "daily budget" in usage.stdout
    assert "$" in usage.stdout
    report = json.loads(run("--json", "usage").stdout)
    assert report["today"]["requests"] >= 1
    assert report["today"]["functions"]
