"""The invocation's usage meter (contentgen.billing.meter): exact sums across the fan-out's threads, and
the provider-call log line carrying each request's cost and the running total."""

from __future__ import annotations

import io
from decimal import Decimal

from contentgen.billing.meter import add_request, current_meter, metered
from contentgen.core.parallel import run_bounded
from contentgen.core.retry import meter_and_record
from contentgen.observability import AttemptRecord
from tests.conftest import log_records


def _charge(cost: float) -> None:
    add_request(model="m", ok=True, prompt_tokens=10, completion_tokens=5, cost_usd=cost)


def test_requests_on_pool_threads_add_to_the_callers_meter_exactly() -> None:
    costs = [0.1, 0.2, 0.00012345, 0.3, 0.7, 0.00000001] * 5

    with metered() as meter:
        outcomes = run_bounded([lambda cost=cost: _charge(cost) for cost in costs])  # type: ignore[misc]

    assert all(outcome.error is None for outcome in outcomes)
    assert meter.provider_requests == len(costs)
    assert meter.cost_usd == sum((Decimal(str(cost)) for cost in costs), Decimal(0))
    assert meter.as_usage() == {
        "model": "m",
        "prompt_tokens": 10 * len(costs),
        "completion_tokens": 5 * len(costs),
        "provider_requests": len(costs),
        "cost_usd": float(meter.cost_usd),
    }


def test_failed_requests_count_but_report_nothing_and_no_meter_is_no_op() -> None:
    assert add_request(model="m", ok=True, prompt_tokens=1, completion_tokens=1, cost_usd=1.0) is None
    with metered() as meter:
        add_request(model="m", ok=False, prompt_tokens=None, completion_tokens=None, cost_usd=None)

    assert meter.as_usage() == {
        "model": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "provider_requests": 1,
        "cost_usd": None,
    }
    assert current_meter() is None, "the meter closes with its block"


def test_the_provider_call_line_carries_its_cost_and_the_invocations_total(log_output: io.StringIO) -> None:
    with metered():
        for cost in (0.25, 0.5):
            meter_and_record(
                AttemptRecord(provider="openrouter", operation="chat", model="m", attempt=1, cost_usd=cost)
            )

    lines = [line for line in log_records(log_output) if line["message"] == "provider call"]
    assert [(line["cost_usd"], line["invocation_cost_usd"]) for line in lines] == [(0.25, 0.25), (0.5, 0.75)]
