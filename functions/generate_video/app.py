"""POST /videos starts a durable video job (202); GET /videos/{job_id} reports it to the key that paid.

Requests that arrive by SQS or EventBridge (`request_id` + request) come through the same route
(`contentgen.entrypoints.events`): this function is their dispatcher, starting the execution by
name (an event source mapping would start one execution per delivery: it does not dedupe).
"""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from functools import partial
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.entrypoints.spend import api_key_id_of
from contentgen.entrypoints.starts import started
from contentgen.models.media import VideoJobAccepted, VideoJobStatus, VideoRequest
from contentgen.services.videos import start_video_job, video_job_status

app = create_app()


@app.post("/videos", status_code=202, response_description="The job was started")
def start(request: Annotated[VideoRequest, Body(embed=False)]) -> Response[VideoJobAccepted]:
    """202 with the job and, in `Location` and `status_url`, where to follow it; 429
    `budget_exceeded` (nothing started) when the video's most does not fit in a payer's budget."""
    return started(app.current_event, partial(start_video_job, request))


@app.get("/videos/<job_id>")
def status(job_id: str) -> VideoJobStatus:
    """The job, for the API key that paid for it; 404 for any other key, as for an unknown id."""
    return video_job_status(job_id, api_key_id_of(app.current_event))


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/videos"))
