"""Handing a queue message back for later, without spending its receives.

A generation that meets an open circuit breaker was never tried, and one the provider answered
with `Retry-After` was told when to come back. Failing such a record would spend an SQS receive
each time (`ChangeMessageVisibility` does not reset `ApproximateReceiveCount`), so a 20-second
outage could walk every message to the dead-letter queue. Instead the message is sent again to its
own queue with `DelaySeconds` until the breaker's half-open time (at most 900 s, SQS's limit) and
the original is deleted (the record is reported successful). The new message carries the number
of real attempts made so far in the `contentgen-attempts` message attribute, so the attempt
budget (`MAX_RECEIVE_COUNT`) counts tries, not deliveries.

Sources: SQS `SendMessage` DelaySeconds 0-900
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html);
`ApproximateReceiveCount` and redrive (SQS Developer Guide, "Using dead-letter queues").
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contentgen.clients.aws import get_sqs_client

ATTEMPTS_ATTRIBUTE = "contentgen-attempts"
MAX_DELAY_SECONDS = 900
# SQS quota: "A message can contain up to 10 metadata attributes" (SQS Developer Guide, "Amazon SQS
# message quotas"); the copy needs one for its attempts.
MAX_MESSAGE_ATTRIBUTES = 10
# Answers whose request may simply be run later: the breaker was open (nothing was called), or
# the provider said when to come back: a 429, or a 5xx naming a wait (`ProviderBusyError`, e.g.
# OpenRouter's 503 "No available model provider" with `Retry-After`).
# A used-up per-day quota (`provider_quota_exhausted`) is not a try of the request either: the
# provider refused it before doing any work, and only its reset can help.
_NOT_TRIED = frozenset({"provider_circuit_open", "provider_quota_exhausted"})
_COME_BACK_LATER = frozenset(
    {"provider_circuit_open", "provider_rate_limited", "provider_unavailable", "provider_quota_exhausted"}
)


def _message_attributes(record: SQSRecord) -> dict[str, dict[str, Any]]:
    """The record's message attributes as Lambda delivers them (`stringValue`, `dataType`)."""
    found = record.raw_event.get("messageAttributes") or {}
    return {str(name): dict(value) for name, value in found.items() if isinstance(value, dict)}


def prior_attempts(record: SQSRecord) -> int:
    """Real attempts made on earlier copies of this message (0 for an original message)."""
    attribute = _message_attributes(record).get(ATTEMPTS_ATTRIBUTE) or {}
    value = attribute.get("stringValue")
    try:
        return max(0, int(value)) if value is not None else 0
    except ValueError:
        return 0


def attempts_so_far(record: SQSRecord) -> int:
    """Attempts including this delivery: earlier copies' plus this message's receives."""
    # Read from the raw record: Powertools' accessor raises KeyError when a hand-made event
    # (a direct invocation) leaves the attribute out; SQS itself always sends it.
    count = (record.raw_event.get("attributes") or {}).get("ApproximateReceiveCount")
    try:
        return prior_attempts(record) + max(1, int(count or 1))
    except (TypeError, ValueError):
        return prior_attempts(record) + 1


@dataclass(frozen=True)
class HandBack:
    """Send the message again after `delay_seconds`, carrying `attempts` real attempts."""

    delay_seconds: int
    attempts: int


def hand_back_for(record: SQSRecord, outcome: dict[str, Any]) -> HandBack | None:
    """The hand-back for an outcome that should be run later, else None (fail or store it).

    None too when the copy could not carry its attempts: a message already holding SQS's
    maximum of 10 message attributes (`MAX_MESSAGE_ATTRIBUTES`) fails as an ordinary attempt."""
    if len(_carried_attributes(record)) >= MAX_MESSAGE_ATTRIBUTES:
        return None
    body = outcome.get("body")
    code = body.get("code") if isinstance(body, dict) else None
    retry_after = outcome.get("retry_after")
    if code not in _COME_BACK_LATER or retry_after is None:
        return None
    # This delivery counts as an attempt only when the provider was actually called.
    attempts = attempts_so_far(record) - (1 if code in _NOT_TRIED else 0)
    delay = min(MAX_DELAY_SECONDS, max(1, math.ceil(float(retry_after))))
    return HandBack(delay_seconds=delay, attempts=attempts)


def not_reached(record: SQSRecord) -> HandBack | None:
    """The hand-back of a record the invocation had no time left to start: sent again at once,
    carrying the attempts made before this delivery (this one made none), so a batch that needs
    more time than the function has spends no attempt of its later records (Powertools #1242:
    "if the function just times out, everything is put back"). None when the copy could not
    carry its attempts (`MAX_MESSAGE_ATTRIBUTES`): the record then fails untouched, and SQS
    delivers it again after the visibility timeout."""
    if len(_carried_attributes(record)) >= MAX_MESSAGE_ATTRIBUTES:
        return None
    return HandBack(delay_seconds=0, attempts=max(0, attempts_so_far(record) - 1))


# A completion event EventBridge kept failing is announced again this much later (seconds).
UNPUBLISHED_RETRY_SECONDS = 2


def announce_later(record: SQSRecord) -> HandBack | None:
    """The hand-back of a record whose outcome is stored but whose completion event EventBridge
    kept failing (a transient entry error): sent again after `UNPUBLISHED_RETRY_SECONDS`; the
    copy replays the stored outcome (no provider call) and publishes the event. This delivery
    COUNTS as an attempt, so the attempt budget (`MAX_RECEIVE_COUNT`) bounds the hand-backs: a
    publish that keeps failing ends in the dead-letter queue with its result stored, never a
    message sent again forever. None when the copy could not carry its attempts."""
    if len(_carried_attributes(record)) >= MAX_MESSAGE_ATTRIBUTES:
        return None
    return HandBack(delay_seconds=UNPUBLISHED_RETRY_SECONDS, attempts=attempts_so_far(record))


def queue_url_from_arn(arn: str) -> str:
    """`arn:aws:sqs:<region>:<account>:<name>` -> the queue URL (the documented format)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {arn}")
    _, partition, _, region, account, name = parts
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{suffix}/{account}/{name}"


def _carried_attributes(record: SQSRecord) -> dict[str, Any]:
    """The record's own message attributes (all but ours) in `SendMessage`'s shape."""
    attributes: dict[str, Any] = {}
    for name, value in _message_attributes(record).items():
        if name == ATTEMPTS_ATTRIBUTE:
            continue
        data_type = value.get("dataType", "String")
        if value.get("stringValue") is not None:
            attributes[name] = {"DataType": data_type, "StringValue": value["stringValue"]}
        elif value.get("binaryValue") is not None:  # Lambda delivers binary values base64-encoded
            attributes[name] = {"DataType": data_type, "BinaryValue": base64.b64decode(value["binaryValue"])}
    return attributes


def send_back(record: SQSRecord, hand_back: HandBack) -> None:
    """Send a copy of the record to its own queue, delayed, with the attempts it carries.

    The caller then reports the record successful, so the original is deleted. Raises botocore's
    ClientError when SQS refuses (the record then fails and SQS redelivers it).
    """
    attributes = _carried_attributes(record)
    attributes[ATTEMPTS_ATTRIBUTE] = {"DataType": "Number", "StringValue": str(hand_back.attempts)}
    get_sqs_client().send_message(
        QueueUrl=queue_url_from_arn(record.event_source_arn),
        MessageBody=record.body,
        DelaySeconds=hand_back.delay_seconds,
        MessageAttributes=attributes,
    )
