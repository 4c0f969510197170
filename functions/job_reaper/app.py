"""Finishes the jobs of durable executions that ended FAILED / TIMED_OUT / STOPPED: the consumer of
the durable job functions' dead-letter queue (`contentgen.entrypoints.reaper`)."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from contentgen.entrypoints import coldstart
from contentgen.entrypoints.reaper import reaper_handler

lambda_handler = reaper_handler
coldstart.init_done()
