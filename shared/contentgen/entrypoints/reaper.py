"""`reaper_handler`: the consumer of a durable job function's dead-letter queue.

Each SQS message's body is the start payload of an execution that ended FAILED, TIMED_OUT or
STOPPED (Lambda sends the failed asynchronous invocation's event to the function's DLQ:
durable-best-practices.html, Error handling). Its job is finished `failed` with one `JobFailed`
(or its missing outcome event published): `contentgen.services.jobs.reap_failed_execution`.
Then, for a job whose request named a `callback_url` (a short), its outcome webhook is sent
(`contentgen.services.webhooks.reap_webhook`: claimed on the job row, so once, with the same
`webhook-id` as the execution's attempts); a receiver that is not reached yet keeps the message
failed, so the queue redelivers it after its visibility timeout (180 s) for up to 24 h from the
job's end. A message whose job could not be settled is reported as a partial batch failure
(redelivered).
"""

from __future__ import annotations

import json
from typing import Any

from contentgen.observability import logger, metrics
from contentgen.services.jobs import reap_failed_execution
from contentgen.services.webhooks import reap_webhook


def _time_left_s(context: Any) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else None


@metrics.log_metrics(capture_cold_start_metric=True)
def reaper_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS batch -> `{"batchItemFailures": [...]}` (ReportBatchItemFailures)."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            payload = json.loads(record["body"])
            if isinstance(payload, dict) and isinstance(payload.get("requestPayload"), dict):
                payload = payload["requestPayload"]  # an OnFailure destination's invocation record
            payload = payload if isinstance(payload, dict) else {}
            reap_failed_execution(payload)
            if not reap_webhook(payload, time_left_s=_time_left_s(context)):
                # The receiver was not reached (or another attempt is in flight): redelivered later.
                failures.append({"itemIdentifier": str(record.get("messageId"))})
        except json.JSONDecodeError:
            logger.error("reaper: unreadable message dropped", extra={"message_id": record.get("messageId")})
        except Exception:
            logger.exception("reaper: job not settled", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": str(record.get("messageId"))})
    return {"batchItemFailures": failures}
