"""`contentgen storyboard` writes one self-contained page; headless Chromium (Debian's package)
opens it: the screenshot is taken, every image has loaded, and the console stays silent."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from contentgen_client import Client
from contentgen_client.cli import EXIT_OK
from contentgen_client.storyboard import build_storyboard
from local.aws import LOCAL_API_KEY
from tests.conftest import skip_unless_ci
from tests.integration.conftest import Stack
from tests.integration.test_cli import Run, runner

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=3000",
]


@pytest.fixture
def run(local_api: str) -> Run:
    return runner(local_api)


def chromium(page: Path | str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on a file or a loopback URL; `--dump-dom` / `--screenshot=` in `arguments`."""
    if not CHROMIUM:
        skip_unless_ci("headless Chromium is missing: `make browser` installs it as root (Debian's chromium)")
    target = page.as_uri() if isinstance(page, Path) else page
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *arguments, target],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow  # headless Chromium
def test_the_storyboard_opens_in_a_browser(run: Run, stack: Stack, tmp_path: Path) -> None:
    board = tmp_path / "board.html"
    made = run("storyboard", "a robot learns to paint", "--segments", "6", "--output", str(board))
    assert made.returncode == EXIT_OK, made.stderr
    page = board.read_text()
    assert "http://" not in page.replace("http://www.w3.org", "")  # nothing to fetch: images are inline
    assert page.count('src="data:image/png;base64,') == 6

    dom = chromium(board, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    loaded = re.findall(r'data-loaded="(\w+)"', dom.stdout)
    assert loaded == ["true"] * 6
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []

    screenshot = tmp_path / "board.png"
    shot = chromium(board, tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1280,1600")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_thumbnails_follow_the_requested_ratio(local_api: str, stack: Stack) -> None:
    with Client(local_api, LOCAL_API_KEY) as client:
        board = build_storyboard(client, "a cat bakery", segments=5, aspect_ratio="16:9", concurrency=2)

    assert [frame.segment.index for frame in board.frames] == [1, 2, 3, 4, 5]
    images = [
        r for r in stack.provider.requests() if "predict" in r["path"] or "generateContent" in r["path"]
    ]
    assert len(images) == 5
    assert all("16:9" in str(request["body"]) for request in images)
    assert "aspect-ratio: 16 / 9" in board.html()


def test_the_finished_short_plays_in_the_storyboard(tmp_path: Path) -> None:
    """The storyboard of a short shows its MP4 (H.264 + AAC, as the pipeline makes it) in a
    <video> element beside the segments, and headless Chromium reports it playing."""
    import base64

    from contentgen.assembly import SegmentInput, ShortSpec, assemble_short, build_cues
    from contentgen_client.models import StoryResponse
    from contentgen_client.storyboard import Frame, Storyboard, render_html
    from local.fake_media import png
    from tests.integration.test_assembly import tone

    text = "The keeper lit the lamp. Nobody came."
    still = tmp_path / "1.png"
    still.write_bytes(png("a lighthouse at night", "9:16"))
    wav = tone(tmp_path / "1.wav", 2.0)
    short = assemble_short(
        ShortSpec(
            segments=(SegmentInput(visual=still, narration=wav, cues=tuple(build_cues(text, 2.0))),),
            title="The keeper",
            breath_s=0.12,
            title_overlay=True,
        ),
        tmp_path / "short",
        timeout_s=600,  # a bound on a loaded machine, not a speed check
    )
    story = StoryResponse.model_validate(
        {
            "title": "The keeper",
            "model": "m",
            "segments": [{"index": 1, "text": text, "visual_prompt": "a lighthouse"}],
        }
    )
    image = "data:image/png;base64," + base64.b64encode(still.read_bytes()).decode()
    board = Storyboard(
        prompt="a keeper",
        aspect_ratio="9:16",
        story=story,
        frames=[Frame(segment=story.segments[0], image=image, image_model="m")],
        options={},
        video="data:video/mp4;base64," + base64.b64encode(short.path.read_bytes()).decode(),
    )
    page = tmp_path / "board.html"
    page.write_text(render_html(board), encoding="utf-8")
    assert page.read_text().count("<video ") == 1

    dom = chromium(
        page, tmp_path / "profile-video", "--dump-dom", "--autoplay-policy=no-user-gesture-required"
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    states = re.findall(r'<video[^>]*data-state="([^"]+)"', dom.stdout)
    assert states == ["playing"], (states, dom.stderr[-2000:])
