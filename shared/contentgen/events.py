"""The adapter for queue-fed functions: SQS batches through Powertools' batch utility.

Each record is handled alone: a record that raises is reported in `batchItemFailures` (so SQS
retries only it, then moves it to the dead-letter queue) while the others succeed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from contentgen.core.deadline import Deadline, deadline_scope
from contentgen.observability import logger, metrics, traced_handler

Handler = Callable[[Any, LambdaContext], Any]


def sqs_entrypoint(record_handler: Callable[[SQSRecord], None]) -> Handler:
    """The function's `lambda_handler` for an SQS event source with ReportBatchItemFailures."""
    processor = BatchProcessor(event_type=EventType.SQS)

    def handle(record: SQSRecord) -> None:
        logger.append_keys(message_id=record.message_id)
        try:
            record_handler(record)
        finally:
            logger.remove_keys(["message_id"])

    @logger.inject_lambda_context(clear_state=True)
    @traced_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        logger.set_correlation_id(getattr(context, "aws_request_id", None))
        with deadline_scope(Deadline.from_context(context)):
            result = process_partial_response(
                event=event, record_handler=handle, processor=processor, context=context
            )
        failures = len(result.get("batchItemFailures", []))
        metrics.add_metric(
            name="RecordsProcessed", unit=MetricUnit.Count, value=len(event.get("Records", []))
        )
        if failures:
            metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failures)
        return cast(dict[str, Any], result)

    return cast(Handler, handler)
