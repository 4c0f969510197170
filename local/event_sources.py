"""Local SQS event source mappings: deliver queue messages to the template's functions the way
Lambda does, against moto's queues.

Per mapping a thread long-polls the queue, hands a batch (SQS event shape) to the same handler
Lambda would call, deletes the records the handler did not report in `batchItemFailures`, and
leaves the others to reappear after the queue's visibility timeout, where the queue's own redrive
policy moves them to the dead-letter queue after `maxReceiveCount` receives.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from local.aws import client
from local.runtime import LocalRuntime
from local.template import ACCOUNT, REGION, QueueSource, physical_name, queue_sources


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
                    name: {"stringValue": value.get("StringValue"), "dataType": value.get("DataType")}
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


class _Poller:
    """A delivery loop on a thread of its own; `poll_once` is the unit tests drive directly."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.errors: list[str] = []

    def poll_once(self, wait_seconds: int = 1) -> int:
        raise NotImplementedError

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # keep polling, as the event source mapping does
                self.errors.append(repr(exc))
                self.stop.wait(0.5)


class QueuePoller(_Poller):
    def __init__(self, source: QueueSource, runtime: LocalRuntime, endpoint_url: str) -> None:
        super().__init__()
        self.source = source
        self.runtime = runtime
        self.sqs = client("sqs", endpoint_url)
        self.queue_url = self.sqs.get_queue_url(QueueName=physical_name(source.queue))["QueueUrl"]
        self.queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical_name(source.queue)}"
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
        try:
            result, _ = self.runtime.invoke(self.source.function, sqs_event(messages, self.queue_arn))
        except Exception as exc:  # the whole batch fails and comes back after the visibility timeout
            self.errors.append(repr(exc))
            return len(messages)
        failed = {
            item["itemIdentifier"]
            for item in ((result or {}).get("batchItemFailures") or [])
            if self.source.report_batch_item_failures
        }
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)


Poller = _Poller


def start_pollers(runtime: LocalRuntime, endpoint_url: str) -> list[Poller]:
    pollers: list[Poller] = [QueuePoller(source, runtime, endpoint_url) for source in queue_sources()]
    for poller in pollers:
        threading.Thread(target=poller.run, name=f"poller-{id(poller)}", daemon=True).start()
    return pollers
