"""POST /videos starts a video job (202); GET /videos/{job_id} reports it."""

import contentgen.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.api import create_app, lambda_entrypoint
from contentgen.models.media import VideoJobStatus, VideoRequest
from contentgen.services.videos import start_video_job, video_job_status

app = create_app()


@app.post("/videos")
def start(request: Annotated[VideoRequest, Body(embed=False)]) -> Response[str]:
    accepted = start_video_job(request)
    return Response(
        status_code=202, content_type=content_types.APPLICATION_JSON, body=accepted.model_dump_json()
    )


@app.get("/videos/<job_id>")
def status(job_id: str) -> VideoJobStatus:
    return video_job_status(job_id)


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/videos"))
