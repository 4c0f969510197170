"""Paid parts are paid once (contentgen.stores.partials): a request that fans out and fails half-way is
run again (a handed-back queue message, an HTTP retry with the same Idempotency-Key) without
paying again for the sets or chunks its earlier attempts already paid.

Over the wire: real openai SDK to the loopback emulator, moto's queues and idempotency table,
messages delivered by the local event source mapping. The emulator answers the first requests
normally, then rate-limits with a `Retry-After` longer than an invocation (the probe of issue 15).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from contentgen.entrypoints import redelivery
from local.emulator import EmulatorServer
from local.event_sources import QueuePoller
from local.lambda_context import LocalLambdaContext
from local.runtime import load_handler
from local.template import functions
from tests.integration import test_role_permissions
from tests.integration.conftest import Invoke, Owned, Stack, _loaded
from tests.integration.test_event_sources import result
from tests.integration.test_role_permissions import Calls, Run, _invoke, assert_allowed

pytestmark = pytest.mark.integration

# The enforced-role fixture of the role tests (each function run with its template role).
as_role = test_role_permissions.as_role

SETS = "StorySegmentsInSetsFunction"
CHUNKED = "StorySegmentsChunkedFunction"
TAKE = re.compile(r"take (\d+) of (\d+)")


def rate_limits_answered(emulator: EmulatorServer, queued: int) -> int:
    """How many of the `queued` rate-limit faults the emulator has answered with a 429."""
    with emulator.state.lock:
        left = sum(fault.count for fault in emulator.state.faults if fault.kind == "rate_limit")
    return queued - left


def set_of(request: dict[str, Any]) -> int:
    """The set (take) a provider request asks for, from its prompt."""
    found = TAKE.search(request["body"]["messages"][-1]["content"])
    assert found is not None
    return int(found.group(1))


def normal_then_rate_limited(stack: Stack, normal: int, limited: int) -> None:
    """`normal` ordinary answers, then `limited` 429s asking to come back in 40 s."""
    stack.provider.faults(
        {"kind": "latency", "ms": 0, "count": normal},
        {"kind": "rate_limit", "retry_after": 40, "count": limited},
    )


@pytest.fixture
def sets_queue(stack: Stack, owned: Owned) -> QueuePoller:
    # This test's own copy of the queue; failed receives come back at once rather than after the
    # visibility timeout.
    return owned.queue(SETS, visibility_timeout=0)


def test_a_handed_back_message_pays_each_set_once(
    stack: Stack,
    emulator: EmulatorServer,
    invoke: Invoke,
    sets_queue: QueuePoller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The probe: 3 sets paid, then 429 Retry-After 40 s. The message is handed back (after 1 s
    here instead of 40) and later attempts ask only for the sets still missing."""
    monkeypatch.setattr(redelivery, "MAX_DELAY_SECONDS", 1)
    monkeypatch.setenv("MAX_PARALLEL_REQUESTS", "5")
    normal_then_rate_limited(stack, normal=3, limited=3)
    request = {"prompt": "A robot learns to paint", "set_count": 5, "segments_per_set": 2}
    sets_queue.sqs.send_message(
        QueueUrl=sets_queue.queue_url,
        MessageBody=json.dumps({"request_id": "req-sets-paid", "request": request}),
    )

    deliveries = 0
    for _ in range(30):
        deliveries += sets_queue.poll_once(wait_seconds=1)
        if result(invoke, "req-sets-paid")[0] == 200:
            break

    status, stored = result(invoke, "req-sets-paid")
    assert (status, stored["status"]) == (200, "succeeded"), stored
    assert [story_set["index"] for story_set in stored["result"]["sets"]] == [1, 2, 3, 4, 5]
    assert deliveries >= 2, "the message was handed back at least once"
    requests = stack.provider.requests()
    limited = rate_limits_answered(emulator, 3)
    assert limited >= 2
    # Every request was either answered (paid) or rate-limited: 5 paid, one per set.
    assert len(requests) == 5 + limited, Counter(set_of(r) for r in requests)
    per_set = Counter(set_of(r) for r in requests)
    assert sorted(per_set) == [1, 2, 3, 4, 5]
    assert sum(count - 1 for count in per_set.values()) == limited, per_set
    assert sets_queue.errors == []


def post_with_key(
    api_event: Callable[..., dict[str, Any]], function: str, path: str, body: dict[str, Any], key: str
) -> tuple[int, dict[str, Any]]:
    handler = _loaded.get(function)
    if handler is None:
        handler = _loaded[function] = load_handler(functions()[function])
    event = api_event("POST", path, body)
    event["headers"]["Idempotency-Key"] = key
    response = handler(event, LocalLambdaContext(function_name=function, timeout_seconds=29))
    return int(response["statusCode"]), json.loads(response["body"])


def test_an_http_retry_with_the_same_key_pays_each_set_once(
    stack: Stack,
    emulator: EmulatorServer,
    api_event: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_PARALLEL_REQUESTS", "5")
    normal_then_rate_limited(stack, normal=3, limited=2)
    body = {"prompt": "A robot learns to paint", "set_count": 5, "segments_per_set": 2}

    first_status, first = post_with_key(api_event, SETS, "/stories/segments/sets", body, "sets-order-7")
    assert first_status >= 500, first
    paid_first = {story_set["index"]: story_set for story_set in first["partial"]["sets"]}
    assert len(paid_first) == 3
    assert len(stack.provider.requests()) == 5

    status, answer = post_with_key(api_event, SETS, "/stories/segments/sets", body, "sets-order-7")

    assert status == 200, answer
    assert [story_set["index"] for story_set in answer["sets"]] == [1, 2, 3, 4, 5]
    for story_set in answer["sets"]:  # the sets paid by the first attempt, as they were
        if story_set["index"] in paid_first:
            assert story_set == paid_first[story_set["index"]]
    retried = stack.provider.requests()[5:]
    assert len(retried) == 2, "only the two sets that were rate-limited are asked again"
    assert {set_of(r) for r in retried} == {1, 2, 3, 4, 5} - set(paid_first)
    assert rate_limits_answered(emulator, 2) == 2


def test_another_key_or_another_request_does_not_reuse_the_parts(
    stack: Stack, api_event: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_PARALLEL_REQUESTS", "1")
    normal_then_rate_limited(stack, normal=1, limited=1)
    body = {"prompt": "A robot learns to paint", "set_count": 2, "segments_per_set": 2}
    assert post_with_key(api_event, SETS, "/stories/segments/sets", body, "sets-a")[0] >= 500

    status, _ = post_with_key(api_event, SETS, "/stories/segments/sets", body, "sets-b")
    assert status == 200
    assert len(stack.provider.requests()) == 2 + 2, "another key is another request: both sets asked"
    status, _ = post_with_key(api_event, SETS, "/stories/segments/sets", body, "sets-c")
    assert status == 200
    assert len(stack.provider.requests()) == 4 + 2


def test_an_http_retry_of_a_chunked_story_continues_it_where_it_stopped(
    stack: Stack, api_event: Callable[..., dict[str, Any]]
) -> None:
    """Outline and chunk 1 paid, chunk 2 rate-limited: the retry asks chunk 2 with exactly the
    prompt the first attempt sent (same outline, summary and last segments), then chunk 3."""
    normal_then_rate_limited(stack, normal=2, limited=1)
    body = {"prompt": "A lighthouse keeper finds a map", "segment_count": 6, "chunk_size": 2}

    first_status, first = post_with_key(api_event, CHUNKED, "/stories/segments/chunked", body, "long-1")
    assert first_status >= 500, first
    assert first["partial"]["completed_chunks"] == 1
    asked_first = stack.provider.requests()
    assert len(asked_first) == 3  # outline, chunk 1, chunk 2 (rate-limited)

    status, answer = post_with_key(api_event, CHUNKED, "/stories/segments/chunked", body, "long-1")

    assert status == 200, answer
    assert [segment["index"] for segment in answer["segments"]] == [1, 2, 3, 4, 5, 6]
    assert answer["segments"][:2] == first["partial"]["segments"]
    assert answer["title"] == first["partial"]["title"]
    asked_again = stack.provider.requests()[3:]
    assert len(asked_again) == 2, "chunks 2 and 3 only: the outline and chunk 1 were paid"
    assert asked_again[0]["body"]["messages"] == asked_first[2]["body"]["messages"]


def test_parts_are_kept_within_the_functions_own_records_under_its_role(
    stack: Stack,
    as_role: tuple[Run, Calls],
    api_event: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run with the sets function's role from template.yaml, IAM and dynamodb:LeadingKeys enforced:
    keeping and reading parts needs no grant beyond its idempotency records."""
    run_as, calls = as_role
    monkeypatch.setenv("MAX_PARALLEL_REQUESTS", "1")
    normal_then_rate_limited(stack, normal=1, limited=1)
    event = api_event(
        "POST", "/stories/segments/sets", {"prompt": "x", "set_count": 2, "segments_per_set": 2}
    )
    event["headers"]["Idempotency-Key"] = f"perm-parts-{uuid.uuid4().hex[:8]}"
    run_as(SETS)

    first = _invoke(SETS, event)
    again = _invoke(SETS, event)

    assert first["statusCode"] >= 500, first["body"]
    assert again["statusCode"] == 200, again["body"]
    assert len(stack.provider.requests()) == 3, "the set paid first is not asked again"
    assert {"dynamodb:GetItem", "dynamodb:UpdateItem"} <= calls.actions
    assert_allowed(SETS, calls)
