"""The `contentgen` command used the way people get it wrong (issue 23, tried again as a hostile
caller): an output that cannot hold every character, Ctrl-C while a paid video job is followed,
and the usage table on an 80-column pipe. The command runs in a process of its own against a
scripted stand-in API, on the fake clock of `cli_harness.py`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contentgen_client.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from tests.integration.cli_process import environment, interrupt_cli, run_cli, run_in_terminal
from tests.integration.scripted_api import STORY, Answer, scripted_api

pytestmark = pytest.mark.integration

UNICODE_STORY = {**STORY, "title": "机器人学画画 🎨"}
ACCEPTED = Answer(202, {"job_id": "job-pip-1", "status": "pending", "status_url": "/videos/job-pip-1"})


def test_an_output_that_cannot_hold_the_answer_s_characters_still_gets_the_paid_answer() -> None:
    ascii_only = {"PYTHONIOENCODING": "ascii"}  # what a non-UTF-8 locale or an old pipe gives
    with scripted_api(Answer(200, UNICODE_STORY)) as api:
        scripted = run_cli(environment(api.url, **ascii_only), "--json", "story", "a robot")
        people = run_cli(environment(api.url, **ascii_only), "story", "a robot")

    assert scripted.returncode == EXIT_OK, scripted.stderr
    assert json.loads(scripted.stdout)["title"] == "机器人学画画 🎨"  # escaped as JSON does
    assert "\\u673a" in scripted.stdout
    assert people.returncode == EXIT_OK, people.stderr
    assert "\\u673a" in people.stdout  # shown as escapes, not lost to a UnicodeEncodeError
    assert "Traceback" not in people.stderr + scripted.stderr


@pytest.mark.parametrize("as_json", [False, True], ids=["people", "json"])
def test_ctrl_c_while_following_a_video_job_says_which_job_goes_on(as_json: bool) -> None:
    with scripted_api(ACCEPTED) as api:
        api.hold = "/videos/job-pip-1"  # the first status check hangs: the command is waiting
        arguments = ["--json"] if as_json else []
        outcome = interrupt_cli(
            environment(api.url),
            *arguments,
            "video",
            "a paper boat",
            "--wait",
            once=api.held,
            waiting_for="checked the job",
        )
    stdout, stderr = outcome.stdout, outcome.stderr

    assert outcome.returncode == EXIT_INTERRUPTED
    assert "Traceback" not in stderr
    if as_json:
        problem = json.loads(stdout)["error"]
        assert (problem["code"], problem["job_id"], problem["exit_code"]) == ("interrupted", "job-pip-1", 130)
    else:
        assert "video job job-pip-1 goes on" in stderr
        assert "contentgen video-status job-pip-1" in stderr


def test_ctrl_c_with_nothing_paid_in_flight_says_interrupted_in_json_too() -> None:
    with scripted_api(Answer(200, STORY)) as api:
        api.hold = "/stories/segments"
        outcome = interrupt_cli(
            environment(api.url), "--json", "story", "a robot", once=api.held, waiting_for="sent the request"
        )
    stdout, stderr = outcome.stdout, outcome.stderr

    assert outcome.returncode == EXIT_INTERRUPTED
    assert "Traceback" not in stderr
    assert json.loads(stdout)["error"]["code"] == "interrupted"


def test_usage_prints_each_function_s_name_whole_on_an_80_column_pipe() -> None:
    functions = {
        "StorySegmentsChunkedFunction": {"requests": 2, "cost_usd": 0.0031},
        "GenerateThumbnailFunction": {"requests": 5, "cost_usd": 0.335},
        "AnalyzeCharacterFunction": {"requests": 1, "cost_usd": 0.0026},
    }
    day = {
        "day": "2026-12-06",
        "requests": 8,
        "provider_requests": 12,
        "prompt_tokens": 170590,
        "completion_tokens": 38950,
        "cost_usd": 123.4567,
    }
    report = {
        "api_key_id": "pkynsutoqk",
        "day": "2026-12-06",
        "daily_budget_usd": 1000.0,
        "remaining_today_usd": 876.54,
        "today": {**day, "functions": functions},
        "last_30_days": day,
    }
    with scripted_api(Answer(200, report)) as api:
        outcome = run_cli(environment(api.url, COLUMNS="80"), "usage")

    assert outcome.returncode == EXIT_OK, outcome.stderr
    for name in functions:
        assert name in outcome.stdout
    assert "…" not in outcome.stdout


def test_a_dumb_terminal_narrower_than_80_columns_gets_lines_that_fit_it() -> None:
    with scripted_api(Answer(200, STORY)) as api:
        outcome = run_in_terminal(environment(api.url, TERM="dumb"), "story", "a robot", columns=40)

    assert outcome.returncode == EXIT_OK, outcome.stdout
    table = [line for line in outcome.stdout.split("\r\n") if line[:1] in ("┏", "┃", "┡", "│", "└")]
    assert "Pip wakes up." in outcome.stdout
    assert table
    assert max(len(line) for line in table) <= 40, table


def test_an_image_too_large_for_a_request_is_refused_before_it_is_sent(tmp_path: Path) -> None:
    image = tmp_path / "huge.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(4_800_000))  # 6.4 MB as base64
    with scripted_api(Answer(200, STORY)) as api:
        people = run_cli(environment(api.url), "character", str(image))
        scripted = run_cli(environment(api.url), "--json", "character", str(image))
        sent = list(api.requests)

    assert people.returncode == EXIT_USAGE, people.stderr
    assert "at most 6 MB of request" in people.stderr
    assert "4.7 MB" in people.stderr  # the largest file that fits
    assert json.loads(scripted.stdout)["error"]["code"] == "usage_error"
    assert sent == []  # nothing sent (or uploaded) to learn it
