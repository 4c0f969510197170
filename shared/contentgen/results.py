"""Results of event-triggered generations, kept under the caller's request_id, and the events
that tell the caller (GenerationCompleted / GenerationFailed on the contentgen bus).

A result larger than fits in a DynamoDB item goes to S3, with a pointer in the item.
"""

from __future__ import annotations

import json
import time
from typing import Any

from contentgen.config import get_settings
from contentgen.connectors.aws import get_dynamodb_client, get_events_client, get_s3_client
from contentgen.errors import ConfigurationError

# DynamoDB items are at most 400 KB; keep room for the other attributes.
MAX_INLINE_BYTES = 350_000
EVENT_SOURCE = "contentgen"


def _required(value: str | None, variable: str) -> str:
    if value is None:
        raise ConfigurationError(f"service misconfigured: environment variable {variable} is not set")
    return value


def store_result(*, request_id: str, route: str, status_code: int, body: Any) -> dict[str, Any]:
    """Store the outcome; returns the summary published with the completion event."""
    settings = get_settings()
    now = int(time.time())
    succeeded = status_code < 400
    payload = json.dumps(body)
    item: dict[str, Any] = {
        "request_id": {"S": request_id},
        "route": {"S": route},
        "status": {"S": "succeeded" if succeeded else "failed"},
        "status_code": {"N": str(status_code)},
        "created_at": {"N": str(now)},
        "expires_at": {"N": str(now + settings.result_retention_days * 86400)},
    }
    if len(payload.encode()) <= MAX_INLINE_BYTES:
        item["body"] = {"S": payload}
    else:
        key = f"results/{request_id}.json"
        bucket = _required(settings.results_bucket, "RESULTS_BUCKET")
        get_s3_client().put_object(
            Bucket=bucket, Key=key, Body=payload.encode(), ContentType="application/json"
        )
        item["body_s3_key"] = {"S": key}
    get_dynamodb_client().put_item(TableName=_required(settings.results_table, "RESULTS_TABLE"), Item=item)
    summary: dict[str, Any] = {"request_id": request_id, "route": route, "status": item["status"]["S"]}
    if not succeeded:
        summary["error"] = body.get("message") if isinstance(body, dict) else str(body)
    return summary


def get_result(request_id: str) -> dict[str, Any] | None:
    settings = get_settings()
    found = (
        get_dynamodb_client()
        .get_item(
            TableName=_required(settings.results_table, "RESULTS_TABLE"),
            Key={"request_id": {"S": request_id}},
        )
        .get("Item")
    )
    if not found:
        return None
    if "body" in found:
        body = json.loads(found["body"]["S"])
    else:
        bucket = _required(settings.results_bucket, "RESULTS_BUCKET")
        obj = get_s3_client().get_object(Bucket=bucket, Key=found["body_s3_key"]["S"])
        body = json.loads(obj["Body"].read())
    return {
        "request_id": request_id,
        "route": found["route"]["S"],
        "status": found["status"]["S"],
        "status_code": int(found["status_code"]["N"]),
        "created_at": int(found["created_at"]["N"]),
        "result" if found["status"]["S"] == "succeeded" else "error": body,
    }


def publish(summary: dict[str, Any]) -> None:
    """GenerationCompleted or GenerationFailed on the contentgen bus."""
    bus = _required(get_settings().event_bus_name, "EVENT_BUS_NAME")
    detail_type = "GenerationCompleted" if summary["status"] == "succeeded" else "GenerationFailed"
    get_events_client().put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(summary),
                "EventBusName": bus,
            }
        ]
    )
