"""Local SQS event source mappings: deliver queue messages to the template's functions the way
Lambda does, against moto's queues.

Per mapping a thread long-polls the queue, hands a batch (SQS event shape) to the same handler
Lambda would call, deletes the records the handler did not report in `batchItemFailures`, and
leaves the others to reappear after the queue's visibility timeout, where the queue's own redrive
policy moves them to the dead-letter queue after `maxReceiveCount` receives.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from typing import Any, TextIO

from local.aws import client
from local.runtime import LocalRuntime
from local.template import ACCOUNT, REGION, QueueSource, bus_rules, physical_name, queue_sources


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An SQS message attribute as Lambda's SQS event holds it: a binary value base64-encoded.

    Source: Lambda Developer Guide, "Using Lambda with Amazon SQS", example SQS message event."""
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType"),
    }
    if value.get("StringValue") is not None:
        attribute["stringValue"] = value["StringValue"]
    if value.get("BinaryValue") is not None:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                # Lambda's shape: lowerCamel keys, as in the SQS event of a real event source mapping.
                "messageAttributes": {
                    name: _lambda_message_attribute(value)
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


def malformed_reason(body: str) -> str | None:
    """Why a request message cannot be a generation request (None when it may be): not JSON, not
    an object, or no `request_id` (in the message, or in `detail` of an event the bus rule put)."""
    try:
        data = json.loads(body)
    except ValueError:
        return "not JSON"
    if not isinstance(data, dict):
        return "not a JSON object"
    message = data.get("detail") if {"detail-type", "detail", "source"} <= set(data) else data
    if not isinstance(message, dict) or not message.get("request_id"):
        return "no request_id"
    return None


class _Poller:
    """A delivery loop on a thread of its own; `poll_once` is the unit tests drive directly."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.thread: threading.Thread | None = None

    def poll_once(self, wait_seconds: int = 1) -> int:
        raise NotImplementedError

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # keep polling, as the event source mapping does
                self.errors.append(repr(exc))
                self.stop.wait(0.5)

    def start(self) -> None:
        """Run the delivery loop on a daemon thread of its own."""
        self.thread = threading.Thread(target=self.run, name=f"poller-{id(self)}", daemon=True)
        self.thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the loop and wait for the receive in flight (up to one long poll) to finish.

        Without the wait, a loop still inside `ReceiveMessage` takes a message sent after
        `close` returned, from a queue someone else now reads."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)


class QueuePoller(_Poller):
    def __init__(
        self,
        source: QueueSource,
        runtime: LocalRuntime,
        endpoint_url: str,
        console: TextIO | None = None,
        *,
        queue_name: str | None = None,
    ) -> None:
        """Deliver `source`'s queue to its function; `queue_name` reads another queue instead (a
        test's own copy of the template's queue, so no other test's message reaches it)."""
        super().__init__()
        self.console = console  # one line per batch, and one per malformed message, when set
        self.source = source
        # Request queues (the bus rules' targets) carry generation requests, which need a request_id.
        self.request_queue = source.queue in {rule.queue for rule in bus_rules()}
        self.runtime = runtime
        self.sqs = client("sqs", endpoint_url)
        self.queue_name = queue_name or physical_name(source.queue)
        self.queue_url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        self.queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.queue_name}"
        self.batches = 0

    def poll_once(self, wait_seconds: int = 1) -> int:
        """Deliver one batch (if any); returns how many messages it held."""
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.source.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages", [])
        if not messages:
            return 0
        self.batches += 1
        queue = self.queue_name
        for message in messages:
            reason = malformed_reason(message["Body"]) if self.request_queue else None
            if reason is not None:
                receives = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
                self._say(
                    f"SQS    {queue}: malformed message {message['MessageId']} ({reason}, receive {receives}); "
                    "it fails and goes to the dead-letter queue after the last receive"
                )
        started = time.perf_counter()
        try:
            result, _ = self.runtime.invoke(self.source.function, sqs_event(messages, self.queue_arn))
        except Exception as exc:  # the whole batch fails and comes back after the visibility timeout
            self.errors.append(repr(exc))
            self._say(f"SQS    {queue} -> {self.source.function}: batch of {len(messages)} raised {exc!r}")
            return len(messages)
        failed = {
            item["itemIdentifier"]
            for item in ((result or {}).get("batchItemFailures") or [])
            if self.source.report_batch_item_failures
        }
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        self._say(
            f"SQS    {queue} -> {self.source.function}: {len(messages)} message(s), "
            f"{len(failed)} failed, {(time.perf_counter() - started) * 1000:.0f} ms"
        )
        return len(messages)

    def _say(self, line: str) -> None:
        if self.console is not None:
            print(f"{time.strftime('%H:%M:%S')} {line}", file=self.console, flush=True)


Poller = _Poller


def start_pollers(runtime: LocalRuntime, endpoint_url: str, console: TextIO | None = None) -> list[Poller]:
    pollers: list[Poller] = [
        QueuePoller(source, runtime, endpoint_url, console) for source in queue_sources()
    ]
    for poller in pollers:
        poller.start()
    return pollers
