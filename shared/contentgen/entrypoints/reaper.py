"""`reaper_handler`: the consumer of a durable job function's dead-letter queue.

Each SQS message's body is the start payload of an execution that ended FAILED, TIMED_OUT or
STOPPED (Lambda sends the failed asynchronous invocation's event to the function's DLQ:
durable-best-practices.html, Error handling). Its job is finished `failed` with one `JobFailed`
(or its missing outcome event published): `contentgen.services.jobs.reap_failed_execution`.
A message whose job could not be settled is reported as a partial batch failure (redelivered).
"""

from __future__ import annotations

import json
from typing import Any

from contentgen.observability import logger
from contentgen.services.jobs import reap_failed_execution


def reaper_handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """SQS batch -> `{"batchItemFailures": [...]}` (ReportBatchItemFailures)."""
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            payload = json.loads(record["body"])
            if isinstance(payload, dict) and isinstance(payload.get("requestPayload"), dict):
                payload = payload["requestPayload"]  # an OnFailure destination's invocation record
            reap_failed_execution(payload if isinstance(payload, dict) else {})
        except json.JSONDecodeError:
            logger.error("reaper: unreadable message dropped", extra={"message_id": record.get("messageId")})
        except Exception:
            logger.exception("reaper: job not settled", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": str(record.get("messageId"))})
    return {"batchItemFailures": failures}
