"""How long the `contentgen` command waits, and what it shows meanwhile (issue 23, items 1-2).

The command runs in a process of its own against a scripted stand-in API (answers the local stack
cannot give on demand: a budget refusal until midnight, a run of 503s), on a fake clock: every
wait it makes is recorded, none is spent.
"""

from __future__ import annotations

import json
import re

import pytest

from contentgen_client.cli import EXIT_CLIENT, EXIT_OK, EXIT_SERVER
from tests.integration.cli_process import environment, run_cli, run_in_terminal
from tests.integration.scripted_api import STORY, Answer, error, scripted_api

pytestmark = pytest.mark.integration

# 2026-12-06 20:53:43 UTC: the budget's Retry-After, to 00:00 UTC, is 11,177 s.
EVENING = 1_796_590_423.0
BUDGET = error(
    429, "budget_exceeded", "this API key has spent its daily budget of 10.00 USD", retry_after=11177
)
BUSY = error(503, "provider_rate_limited", "the provider is rate limiting; try again shortly", retry_after=2)


def test_a_budget_wait_until_midnight_fails_at_once_and_says_when_it_resets() -> None:
    with scripted_api(BUDGET) as api:
        outcome = run_cli(environment(api.url), "story", "a robot learns to paint", now=EVENING)

        assert outcome.returncode == EXIT_CLIENT
        assert outcome.sleeps == []  # not one second waited
        assert len(api.requests) == 1  # and not sent again
        assert "Traceback" not in outcome.stderr
        assert "daily budget" in outcome.stderr
        assert "Try again in 3 h 6 min (at 00:00:00 UTC on 2026-12-07)" in outcome.stderr

        scripted = run_cli(environment(api.url), "--json", "story", "a robot learns to paint", now=EVENING)
        problem = json.loads(scripted.stdout)["error"]
        assert (problem["code"], problem["retry_after"], problem["retry_at"]) == (
            "budget_exceeded",
            11177,
            "2026-12-07T00:00:00Z",
        )
        assert scripted.sleeps == []


def test_each_wait_is_one_line_on_stderr_when_not_on_a_terminal() -> None:
    with scripted_api(BUSY, BUSY, Answer(200, STORY)) as api:
        outcome = run_cli(environment(api.url), "story", "a robot")

    assert outcome.returncode == EXIT_OK, outcome.stderr
    assert outcome.sleeps == [2.0, 2.0]
    lines = [line for line in outcome.stderr.splitlines() if "retrying" in line]
    assert lines == [
        "contentgen: POST /stories/segments: 503 provider_rate_limited; retrying in 2 s (attempt 2 of 4)",
        "contentgen: POST /stories/segments: 503 provider_rate_limited; retrying in 2 s (attempt 3 of 4)",
    ]


def test_max_wait_and_no_retry_bound_the_waiting_before_or_after_the_subcommand() -> None:
    with scripted_api(BUSY) as api:
        patient = run_cli(environment(api.url), "story", "a robot", "--max-wait", "3")
        assert patient.returncode == EXIT_SERVER
        assert patient.sleeps == [2.0]  # a second 2 s wait would pass 3 s in all
        assert len(api.requests) == 2
        assert "Try again in 2 s" in patient.stderr
        assert "longer than max_wait (3 s, 2 s of it already waited)" in patient.stderr

        api.requests.clear()
        hasty = run_cli(environment(api.url), "--no-retry", "story", "a robot")
        assert hasty.returncode == EXIT_SERVER
        assert (hasty.sleeps, len(api.requests)) == ([], 1)
        assert "retries are off" in hasty.stderr


def test_on_a_terminal_the_wait_is_a_status_line_counting_down() -> None:
    with scripted_api(BUSY, Answer(200, STORY)) as api:
        outcome = run_in_terminal(environment(api.url), "story", "a robot")

    assert outcome.returncode == EXIT_OK, outcome.stdout
    assert sum(outcome.sleeps) == 2.0
    screen = outcome.stdout
    # The status line (a spinner redrawn in place), then the line it leaves when the wait is over.
    # (Which seconds of the countdown get drawn depends on the display's refresh: the fake clock
    # makes the whole wait take no time.)
    assert re.search(
        r"retrying in [12] s: 503 provider_rate_limited \(attempt 2 of 4, POST /stories/segments", screen
    )
    assert "\x1b[?25l" in screen  # the cursor hidden while the status line is live
    assert "contentgen: POST /stories/segments: 503 provider_rate_limited; retrying in 2 s" in screen
    assert "Pip" in screen
