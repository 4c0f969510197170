"""Probe 22: a daily budget under concurrency when the text model has no catalog price.

docs/spend.md: "spend <= budget + one request's cost under any concurrency"; a text model without
a price reserves a flat 0.10 USD (`UNPRICED_TEXT_BOUND_USD`). The catalog itself lists models
without a price (`openai/gpt-4o`: 10 USD per million output tokens, 16,384 output tokens), and
`TEXT_MODEL` / `TEXT_FALLBACK_MODELS` take any OpenRouter id (`anthropic/claude-opus-4.1`: 75 USD
per million output tokens). A request to such a model can cost several times
0.10 USD, so concurrent requests each reserve 0.10 and all pass a budget that one of them spends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.conftest import Stack
from tests.integration.test_spend import concurrently, fixed_clock, ledger, new_key, set_budget  # noqa: F401

pytestmark = pytest.mark.integration

# One answer of 40,000 output tokens at 10 USD per million: 0.40 USD, as
# OpenRouter reports it in `usage.cost`.
ONE_ANSWER_USD = 0.40


def completion(model: str) -> dict[str, Any]:
    return {
        "id": "gen-probe22",
        "object": "chat.completion",
        "created": 1764500000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "A long essay."},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 20,
            "completion_tokens": 40000,
            "total_tokens": 40020,
            "cost": ONE_ANSWER_USD,
        },
    }


@pytest.mark.parametrize("model", ["openai/gpt-4o", "anthropic/claude-opus-4.1"])
def test_an_unpriced_catalog_model_keeps_spend_within_one_request_past_the_budget(
    stack: Stack,
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    model: str,
) -> None:
    monkeypatch.setenv("TEXT_MODEL", model)
    stack.provider.faults(
        {"kind": "raw", "target": "openai", "status": 200, "body": completion(model), "count": 10}
    )
    key = new_key()
    budget = Decimal("0.5")
    set_budget(stack, key, str(budget))

    answers = concurrently(api_event, "FreeContentFunction", "/content", {"prompt": "write"}, key, 10)

    statuses = [status for status, _, _ in answers]
    spent = Decimal(ledger(stack, key, "2026-11-30").get("cost_usd", {"N": "0"})["N"])
    assert spent <= budget + Decimal(str(ONE_ANSWER_USD)), (
        f"{statuses.count(200)} of 10 ran: {spent} USD spent on a {budget} USD budget "
        f"(each reserved {json.dumps('0.10')} USD); statuses {sorted(statuses)}"
    )
