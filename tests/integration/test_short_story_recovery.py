"""Probe (issue 25): a step recovered after a crash is charged what it really cost.

Issue 25, "Money": the short is "settled from what each step really cost"; docs/shorts.md: "A
paid step whose invocation died after its work (its output already in S3) is recovered from S3
without a second request". Recovery must not make the paid work free: `_stored_story` returns the
story with `cost_usd: None`, so `_by_kind` counts the story's text as 0 and the key's ledger
never carries the story's price (the provider was paid; the payer was not charged).

Public source: AWS Lambda durable functions, "steps ... at-least-once by default": a step's
function can run again or end without its checkpoint when the invocation ends (crash, timeout,
redeploy) after the work and before the checkpoint is written (AWS Lambda durable execution
docs, "Step semantics"); the replay is exactly the path this test takes (tests/durable_jobs.py
`crash_after`, the team's own harness).
"""

# ruff: noqa: F811

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.durable_jobs import RunnerStarter, crash_after, succeeded
from tests.integration.conftest import Stack
from tests.integration.test_shorts import Api, api, hooks, jobs, provider_calls, spend_day  # noqa: F401

pytestmark = pytest.mark.integration


def test_a_story_recovered_after_a_crash_is_still_charged(
    stack: Stack,
    api: Api,
    jobs: RunnerStarter,
    hooks: list[Any],
) -> None:
    key = f"key-{uuid.uuid4().hex[:12]}"
    with crash_after({"story"}) as crashed:
        status, accepted = api.call(
            "POST", "/shorts", {"prompt": "A fox learns to sail", "segment_count": 3}, key_id=key
        )
        assert status == 202, accepted
        results = jobs.wait_all()
    assert crashed == {"story"}
    assert all(succeeded(result) for result in results), [r.error for r in results]
    assert provider_calls(stack)["text"] == 1  # paid once, at the provider
    status, short = api.call("GET", f"/shorts/{accepted['short_id']}", key_id=key)
    assert short["status"] == "succeeded", short
    assert (short["usage"]["text"] or 0) > 0, (
        f"the story was paid at the provider but its cost is 0 on the short: {short['usage']}"
    )
    day = spend_day(stack, key)
    charged = Decimal(day["cost_usd"]["N"])
    assert charged == pytest.approx(Decimal(str(short["usage"]["cost_usd"])), abs=Decimal("1e-6"))
