"""Which queue outcomes are handed back for later, and how attempts are counted."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contentgen.entrypoints.redelivery import HandBack, attempts_so_far, hand_back_for


def record(receives: str | None = "1", attempts: str | None = None) -> SQSRecord:
    raw: dict[str, Any] = {"messageId": "m", "body": "{}", "messageAttributes": {}}
    if receives is not None:
        raw["attributes"] = {"ApproximateReceiveCount": receives}
    if attempts is not None:
        raw["messageAttributes"]["contentgen-attempts"] = {"stringValue": attempts, "dataType": "Number"}
    return SQSRecord(raw)


def outcome(code: str, retry_after: float | None) -> dict[str, Any]:
    found: dict[str, Any] = {"status_code": 503, "body": {"code": code, "message": "m"}}
    if retry_after is not None:
        found["retry_after"] = retry_after
    return found


@pytest.mark.parametrize(
    ("code", "retry_after", "expected"),
    [
        ("provider_rate_limited", 30, HandBack(delay_seconds=30, attempts=1)),
        # A 5xx naming a wait (OpenRouter's 503 "No available model provider" with Retry-After).
        ("provider_unavailable", 120, HandBack(delay_seconds=120, attempts=1)),
        # The breaker was open: nothing was called, so this delivery is not an attempt.
        ("provider_circuit_open", 0.2, HandBack(delay_seconds=1, attempts=0)),
        ("provider_rate_limited", 3600, HandBack(delay_seconds=900, attempts=1)),  # SQS's limit
        ("provider_unavailable", None, None),  # no wait named: an ordinary failed attempt
        ("provider_insufficient_credits", None, None),
        ("provider_timeout", None, None),
    ],
)
def test_what_is_handed_back(code: str, retry_after: float | None, expected: HandBack | None) -> None:
    assert hand_back_for(record(), outcome(code, retry_after)) == expected


def test_a_hand_made_record_without_a_receive_count_is_its_first_attempt() -> None:
    """Direct invocations may leave `attributes` out; SQS always sends ApproximateReceiveCount."""
    assert attempts_so_far(record(receives=None)) == 1
    assert attempts_so_far(record(receives="not a number", attempts="2")) == 3
    assert attempts_so_far(record(receives="2", attempts="1")) == 3


def test_a_message_with_no_room_for_its_attempts_is_not_handed_back() -> None:
    """SQS allows 10 message attributes; a copy of a message holding 10 of its own cannot carry
    `contentgen-attempts` (SendMessage would refuse it), so the delivery fails as usual."""
    full = record()
    full.raw_event["messageAttributes"] = {
        f"a{n}": {"stringValue": "v", "dataType": "String"} for n in range(10)
    }
    room = record(attempts="1")
    room.raw_event["messageAttributes"].update(
        {f"a{n}": {"stringValue": "v", "dataType": "String"} for n in range(9)}
    )

    assert hand_back_for(full, outcome("provider_rate_limited", 30)) is None
    assert hand_back_for(room, outcome("provider_rate_limited", 30)) == HandBack(delay_seconds=30, attempts=2)
