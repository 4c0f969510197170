"""The durable video job: one execution per job, started by POST /videos (and its event entry).

Steps (checkpointed; replays skip finished ones): deadline, the paid Veo start (at most once),
charge, wait for the operation (wait_for_condition with backoff), store in S3, finish (job row +
one outcome event). See `contentgen.services.videos` and `contentgen.entrypoints.durable`.
"""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from contentgen.entrypoints.durable import durable_job
from contentgen.services.videos import run_video_job

lambda_handler = durable_job("video")(run_video_job)
