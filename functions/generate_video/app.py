"""POST /videos starts a video job (202); GET /videos/{job_id} reports it."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.api import create_app, lambda_entrypoint
from contentgen.models.media import VideoJobAccepted, VideoJobStatus, VideoRequest
from contentgen.services.videos import start_video_job, video_job_status

app = create_app()


@app.post("/videos", status_code=202, response_description="The job was started")
def start(request: Annotated[VideoRequest, Body(embed=False)]) -> VideoJobAccepted:
    return start_video_job(request)


@app.get("/videos/<job_id>")
def status(job_id: str) -> VideoJobStatus:
    return video_job_status(job_id)


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/videos"))
