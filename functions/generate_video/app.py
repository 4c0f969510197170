"""POST /videos starts a durable video job (202); GET /videos/{job_id} reports it to the key that paid.

Requests that arrive by SQS or EventBridge (`request_id` + request) come through the same route
(`contentgen.entrypoints.events`): this function is their dispatcher, starting the execution by
name (an event source mapping would start one execution per delivery: it does not dedupe).
"""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.entrypoints.spend import api_key_id_of, charged_keys
from contentgen.entrypoints.starts import base_path, start_key
from contentgen.models.media import VideoJobAccepted, VideoJobStatus, VideoRequest
from contentgen.services.videos import start_video_job, video_job_status

app = create_app()


@app.post("/videos", status_code=202, response_description="The job was started")
def start(request: Annotated[VideoRequest, Body(embed=False)]) -> Response[VideoJobAccepted]:
    """202 with the job and, in `Location` and `status_url`, where to follow it; 429
    `budget_exceeded` (nothing started) when the video's most does not fit in a payer's budget."""
    scope, key = start_key(app.current_event)
    # Who pays: the caller's key; for a queued/bus request the key it names and the pipeline key.
    payers = charged_keys(app.current_event)
    accepted = start_video_job(
        request, owner=payers[0], payers=payers, scope=scope, key=key, base_path=base_path(app.current_event)
    )
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=accepted,
        headers={"Location": accepted.status_url},
    )


@app.get("/videos/<job_id>")
def status(job_id: str) -> VideoJobStatus:
    """The job, for the API key that paid for it; 404 for any other key, as for an unknown id."""
    return video_job_status(job_id, api_key_id_of(app.current_event))


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/videos"))
