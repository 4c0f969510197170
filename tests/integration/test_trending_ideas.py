"""POST /ideas/trending over the wire."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.conftest import Invoke, Stack, assert_refused

pytestmark = pytest.mark.integration

FUNCTION = "TrendingIdeasFunction"


def ideas(*titles: str) -> str:
    return json.dumps(
        {"ideas": [{"title": t, "hook": "h", "why_now": "w", "format": "story"} for t in titles]}
    )


def test_distinct_actionable_ideas_for_a_niche(stack: Stack, invoke: Invoke) -> None:
    status, answer = invoke(FUNCTION, {"niche": "budget cooking", "idea_count": 6, "region": "Brazil"})

    assert status == 200
    assert len(answer["ideas"]) == 6
    assert len({idea["title"].casefold() for idea in answer["ideas"]}) == 6
    assert all(idea["hook"] and idea["why_now"] and idea["format"] for idea in answer["ideas"])
    user = stack.provider.requests()[0]["body"]["messages"][-1]["content"]
    assert "budget cooking" in user
    assert "Brazil" in user
    assert datetime.now(UTC).date().isoformat() in user


def test_duplicate_idea_titles_are_kept_not_reasked(stack: Stack, invoke: Invoke) -> None:
    titles = ["Five-Euro Dinners", "five euro dinners!", "Pantry Raid"]
    stack.provider.faults({"kind": "reply", "content": ideas(*titles)})

    status, answer = invoke(FUNCTION, {"niche": "budget cooking", "idea_count": 3})

    assert status == 200
    assert [idea["title"] for idea in answer["ideas"]] == titles, (
        "paid for: logged and counted, not thrown away"
    )
    assert len(stack.provider.requests()) == 1


def test_wrong_size_twice_is_502(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults({"kind": "wrong_size", "count": 2})

    status, answer = invoke(FUNCTION, {"niche": "x", "idea_count": 2})

    assert status == 502
    assert "expected exactly 2 items" in answer["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "niche"),
        ({"niche": "   "}, "niche"),
        ({"niche": "n" * 201}, "niche"),
        ({"niche": "x", "idea_count": 0}, "idea_count"),
        ({"niche": "x", "idea_count": 21}, "idea_count"),
        ({"niche": "x", "region": "r" * 201}, "region"),
        ({"niche": "x", "prompt": "y"}, "prompt"),
    ],
)
def test_invalid_input_names_the_field(
    stack: Stack, invoke: Invoke, body: dict[str, Any], field: str
) -> None:
    assert_refused(invoke, stack, FUNCTION, body, field)
