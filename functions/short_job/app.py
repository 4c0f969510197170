"""The durable short pipeline: one execution per short, started by POST /shorts (and its event entry).

Steps (checkpointed; replays skip finished ones): story, per segment image + narration (bounded
parallel map), assembly with ffmpeg (FfmpegLayer), charge, finish (job row + one outcome event),
then the signed webhook when a `callback_url` was given. See `contentgen.services.shorts`.
"""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from contentgen.entrypoints.durable import durable_job
from contentgen.services.short_pipeline import notify, run_short

lambda_handler = durable_job("short", after=notify)(run_short)
