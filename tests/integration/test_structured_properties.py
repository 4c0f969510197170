"""Property: every reply that satisfies the strict JSON schema contentgen sent is accepted at once.

For each reply model, the schema is read from the request the function really sent to the
emulator (pinned array sizes included); hypothesis-jsonschema generates instances of exactly that
schema, and each is replayed through the emulator as the model's reply (fault `reply`). The
function must answer 200 after ONE request with that schema: no re-ask, no 502. Strings past a
soft limit come back trimmed at a word boundary, never refused.

Seeded (`derandomize=True`) and bounded (`MAX_EXAMPLES` per model), so a failure reproduces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema

from contentgen.models.memes import CAPTION_MAX
from contentgen.models.schema import trim_at_word
from tests.integration.conftest import Invoke, Stack

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 12


@dataclass(frozen=True)
class Case:
    function: str
    body: dict[str, Any]
    schema_name: str
    # Requests answered normally before the one replayed (the outline before the first chunk).
    skip: int = 0


CASES = [
    Case(
        "StorySegmentsFunction",
        {"prompt": "A lighthouse keeper's last night", "segment_count": 3},
        "StoryReply",
    ),
    Case(
        "StorySegmentsInSetsFunction",
        {"prompt": "A lighthouse keeper's last night", "set_count": 1, "segments_per_set": 2},
        "StoryReply",
    ),
    Case(
        "StorySegmentsChunkedFunction",
        {"prompt": "A heist in a floating city", "segment_count": 2, "chunk_size": 1},
        "StoryOutline",
    ),
    Case(
        "StorySegmentsChunkedFunction",
        {"prompt": "A heist in a floating city", "segment_count": 2, "chunk_size": 1},
        "ChunkReply",
        skip=1,
    ),
    Case(
        "MemeSegmentsFunction",
        {"prompt": "When the code works on the first try", "segment_count": 3},
        "MemeReply",
    ),
    Case("TrendingIdeasFunction", {"niche": "budget cooking", "idea_count": 3}, "IdeasReply"),
    Case("AnalyzeCharacterFunction", {"image_url": "https://images.example.com/hero.png"}, "CharacterReply"),
]


def _schema_name(request: dict[str, Any]) -> str | None:
    response_format = request["body"].get("response_format") or {}
    name = (response_format.get("json_schema") or {}).get("name")
    return str(name) if name is not None else None


def _sent(stack: Stack, since: int, name: str) -> list[dict[str, Any]]:
    return [request for request in stack.provider.requests()[since:] if _schema_name(request) == name]


def _soft(value: str, limit: int) -> str:
    return value if len(value) <= limit else trim_at_word(value, limit)


def _expected_segments(instance: dict[str, Any], case: Case) -> list[dict[str, str]] | None:
    """What the caller must see of the replayed segments: the model's strings, trimmed if long."""
    if case.schema_name not in ("StoryReply", "ChunkReply"):
        return None
    return [
        {"text": _soft(segment["text"], 400), "visual_prompt": _soft(segment["visual_prompt"], 1200)}
        for segment in instance["segments"]
    ]


@pytest.mark.slow  # generated replies per schema
@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.function}-{case.schema_name}")
def test_every_reply_the_schema_allows_is_accepted_with_one_request(
    stack: Stack, invoke: Invoke, case: Case
) -> None:
    status, answer = invoke(case.function, case.body)
    assert status == 200, answer
    baseline = len(stack.provider.requests())
    (schema_request, *_) = _sent(stack, 0, case.schema_name)
    schema = schema_request["body"]["response_format"]["json_schema"]["schema"]
    assert schema_request["body"]["response_format"]["json_schema"]["strict"] is True

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(instance=from_schema(schema))
    def replayed(instance: dict[str, Any]) -> None:
        since = len(stack.provider.requests())
        stack.provider.faults(
            *[{"kind": "latency", "ms": 0}] * case.skip, {"kind": "reply", "content": json.dumps(instance)}
        )

        status, answer = invoke(case.function, case.body)

        assert status == 200, answer
        assert len(stack.provider.requests()) - since == baseline, "one request per reply: no re-ask"
        expected = _expected_segments(instance, case)
        if expected is not None:
            segments = answer["sets"][0]["segments"] if "sets" in answer else answer["segments"]
            got = [{"text": s["text"], "visual_prompt": s["visual_prompt"]} for s in segments]
            assert got[: len(expected)] == expected
        if case.schema_name == "MemeReply":
            assert all(len(segment["caption"]) <= CAPTION_MAX for segment in answer["segments"])
            assert answer["segments"][-1]["beat"] == "punchline"

    replayed()
