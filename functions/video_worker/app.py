"""The video job worker, fed by the job queue: checks each job's Veo operation once."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contentgen.entrypoints.events import sqs_entrypoint
from contentgen.models.media import VideoCheckMessage
from contentgen.services.videos import advance_video_job


def check_job(record: SQSRecord) -> None:
    message = VideoCheckMessage.model_validate_json(record.body)
    advance_video_job(message.job_id, operation_name=message.operation_name, model=message.model)


lambda_handler = sqs_entrypoint(check_job)
