"""Two API keys over the wire (real SDKs to the emulator, the tables in moto): what key A paid for,
key B can neither read (`GET /results/{id}`, `GET /usage`) nor replay (`Idempotency-Key`).

Request ids are often guessable (`order-42`): B asking for A's result gets exactly the 404 of an
id nobody used. A's usage is never in B's answer. B sending A's `Idempotency-Key` is a fresh
request in B's own key space (run, paid and charged to B), never A's stored answer, and a
different request under it is no 409 (A's use of the key is not revealed).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.conftest import Invoke, Stack
from tests.integration.test_event_sources import Pipes, pipes, result  # noqa: F401 (fixture)
from tests.integration.test_idempotency_keys import post, provider_calls
from tests.integration.test_spend import STORY, fixed_clock, new_key, story, usage_of  # noqa: F401

pytestmark = pytest.mark.integration


def test_key_b_cannot_read_key_as_result_usage_or_idempotent_answer(
    stack: Stack,
    invoke: Invoke,
    pipes: Pipes,  # noqa: F811 (the fixture imported above)
    api_event: Callable[..., dict[str, Any]],
    fixed_clock: list[float],  # noqa: F811
) -> None:
    key_a, key_b = new_key(), new_key()
    request_id = f"order-{uuid.uuid4().hex[:6]}"
    body = {"request_id": request_id, "api_key_id": key_a, "request": STORY}
    pipes.sqs.send_message(QueueUrl=pipes.queue.queue_url, MessageBody=json.dumps(body))
    while pipes.queue.poll_once(wait_seconds=0):
        pass

    # Results: A reads its own; B gets the very 404 of an id never used.
    status, mine = result(invoke, request_id, api_key_id=key_a)
    assert (status, mine["status"]) == (200, "succeeded"), mine
    status, theirs = result(invoke, request_id, api_key_id=key_b)
    unknown_id = f"order-{uuid.uuid4().hex[:6]}"
    unknown_status, unknown = result(invoke, unknown_id, api_key_id=key_b)
    assert (status, unknown_status) == (404, 404)
    assert theirs == {**unknown, "message": unknown["message"].replace(unknown_id, request_id)}
    assert "segments" not in json.dumps(theirs)

    # Usage: A's spend is A's; B's answer has none of it.
    paid = mine["result"]["usage"]["cost_usd"]
    assert usage_of(api_event, key_a)["today"]["cost_usd"] == paid
    report_b = usage_of(api_event, key_b, api_key_id=key_a)
    assert report_b["api_key_id"] == key_b
    assert report_b["today"]["requests"] == 0
    assert report_b["today"]["cost_usd"] == 0

    # Idempotency: B's use of A's key runs afresh, charged to B; a different request is no 409.
    idempotency_key = f"order-{uuid.uuid4().hex[:6]}"
    status_a, answer_a, _ = post(
        api_event, "/stories/segments", STORY, idempotency_key=idempotency_key, api_key_id=key_a
    )
    before = provider_calls(stack, "/chat/completions")
    status_b, answer_b, _ = post(
        api_event, "/stories/segments", STORY, idempotency_key=idempotency_key, api_key_id=key_b
    )
    assert (status_a, status_b) == (200, 200), (answer_a, answer_b)
    assert provider_calls(stack, "/chat/completions") == before + 1, "B's request ran: not A's stored answer"
    assert usage_of(api_event, key_b)["today"]["requests"] == 1, "and B paid for it"
    other = {**STORY, "prompt": "Another request entirely"}
    status_c, answer_c, _ = post(
        api_event, "/stories/segments", other, idempotency_key=idempotency_key, api_key_id=new_key()
    )
    assert status_c == 200
    assert "already used" not in json.dumps(answer_c)
    assert story(api_event, key_a)[0] == 200
