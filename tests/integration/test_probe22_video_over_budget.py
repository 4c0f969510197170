"""Probe 22: `POST /videos` from a key whose day is already spent.

docs/api.md (errors): "429 `budget_exceeded`: the API key has spent its daily budget;
`Retry-After` = seconds to 00:00 UTC; no provider was called"; docs/local.md: "A key over its
budget gets 429 `budget_exceeded` until 00:00 UTC, and the client and `contentgen` fail at once".
Since the durable video job, the starter no longer reads the spend table: a key with nothing left
gets 202 and a job that fails later, so `contentgen video` (no `--wait`) exits 0 with a job id and
`--wait` exits 6 ("a video job failed"), not 3 ("over budget"), and a pipeline or client that
retries on 202-then-failed keeps creating jobs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import Stack
from tests.integration.test_spend import call, fixed_clock, new_key, set_budget  # noqa: F401

pytestmark = pytest.mark.integration


def test_a_key_with_no_budget_left_gets_429_from_post_videos(
    stack: Stack,
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],  # noqa: F811
) -> None:
    key = new_key()
    set_budget(stack, key, "0")
    text_status, _, _ = call(api_event, "FreeContentFunction", "/content", {"prompt": "hi"}, key=key)
    assert text_status == 429, "text routes refuse a spent key"

    from tests.durable_jobs import running
    from tests.integration.test_spend import handler_for

    with running(handler_for("VideoJobFunction")) as jobs:
        status, answer, headers = call(
            api_event, "GenerateVideoFunction", "/videos", {"prompt": "a paper boat"}, key=key
        )
        jobs.wait_all()

    assert (status, answer.get("code")) == (429, "budget_exceeded"), (status, answer)
    assert "Retry-After" in headers
