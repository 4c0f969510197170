"""Probe 22 (issue 22 item 8 and "N sent = stored + dead-lettered"): a PutEvents entry that
EventBridge fails for good.

EventBridge fails an entry for reasons that no retry fixes as well as for transient ones: its
per-entry `ErrorCode`s include `NotAuthorizedForSourceException`, `MalformedDetail`,
`InvalidArgument` and `AccessDeniedException` (e.g. a bus encrypted with a customer managed KMS
key the role may not use) beside `InternalFailure` and `ThrottlingException` (EventBridge API
Reference, PutEvents / PutEventsResultEntry; "Handling failures with PutEvents", EventBridge User
Guide). Every failed publish hands the record back "not counted as an attempt"
(`redelivery.announce_later`), as a NEW message (a fresh `ApproximateReceiveCount`, a fresh
retention period), so a permanent entry failure is delivered every 2 s forever: never stored as
notified, never dead-lettered, an invocation every 2 s per request, until someone notices the
alarm. The attempt budget (`MAX_RECEIVE_COUNT`) should end it in the DLQ like any other failure.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from contentgen.clients.aws import get_events_client
from tests.integration import test_event_sources
from tests.integration.conftest import Stack
from tests.integration.test_delivery_semantics import _Http200
from tests.integration.test_event_sources import Pipes

pytestmark = pytest.mark.integration
pipes = test_event_sources.pipes


def always_denied(params: Any, model: Any, **_: Any) -> Any:
    if model.name != "PutEvents":
        return None
    return (
        _Http200(),
        {
            "FailedEntryCount": 1,
            "Entries": [
                {
                    "ErrorCode": "NotAuthorizedForSourceException",
                    "ErrorMessage": "Not authorized for the source.",
                }
            ],
            "ResponseMetadata": {"HTTPStatusCode": 200},
        },
    )


def test_a_permanently_failed_completion_event_ends_in_the_dlq_within_the_attempt_budget(
    stack: Stack, pipes: Pipes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")
    events = get_events_client()
    events.meta.events.register("before-call.eventbridge.PutEvents", always_denied)
    rid = f"req-denied-{uuid.uuid4().hex[:8]}"
    deliveries = 0
    try:
        pipes.send(rid, {"prompt": "A robot", "segment_count": 1})
        for _ in range(40):  # each copy is delayed by UNPUBLISHED_RETRY_SECONDS (2 s)
            if pipes.queue.poll_once(wait_seconds=1):
                deliveries += 1
            if deliveries > 6:
                break
    finally:
        events.meta.events.unregister("before-call.eventbridge.PutEvents", always_denied)

    assert deliveries <= 3, f"delivered {deliveries} times and still coming back (never dead-lettered)"
