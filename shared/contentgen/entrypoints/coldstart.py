"""A function's init phase: garbage collection off while modules load, SnapStart hooks.

Each `functions/<name>/app.py` imports this module first, which turns the cyclic garbage collector
off: importing the SDKs allocates hundreds of thousands of long-lived objects, and every
collection triggered meanwhile walks them for nothing. `init_done()`, called by the handler
builders (`api.lambda_entrypoint`, `events.sqs_entrypoint`) at the end of app.py, moves what
init built into the permanent generation (`gc.freeze()`, so later collections skip it) and turns
the collector back on (https://docs.python.org/3.13/library/gc.html#gc.freeze). `make bench`
measures the difference.

With SnapStart (template parameter `EnableSnapStart`; Lambda sets
`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start` during such an init), `init_done()` registers the
runtime hooks of `snapshot_restore_py` (provided by the Lambda runtime;
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html):
- before the snapshot, `prime()` runs one synthetic request through `app.resolve()` that fails
  validation (no provider is called, no key is read), so routing, the request models' validators
  and Powertools' event classes are loaded and warmed in the snapshot; then it reads the DynamoDB
  service model, endpoint rules and partitions into the AWS clients' loader
  (`clients.aws.prime_service_models`: botocore imported, models parsed, no client kept and no
  credential resolved), so a botocore DynamoDB client (the idempotency store's, for requests with
  an `Idempotency-Key`) is built in a few ms after a restore, and botocore, which resolves the
  container credentials SnapStart gives the spend ledger's own client (`clients.dynamodb`), is
  already loaded;
- after a restore, `after_restore()` reseeds `random` (every restored copy would otherwise draw
  the same jitter) and drops any client, session, connection or key that got in anyway: AWS
  clients and the OpenAI client are built on first use after the restore, with that copy's own
  credentials, key and connections.
"""

from __future__ import annotations

import gc
import os
import random
import sys
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

gc.disable()

PRIME_REQUEST_ID = "snapstart-prime"


def snapstart_init() -> bool:
    """True during a SnapStart init (the one whose memory becomes the snapshot)."""
    return os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"


def init_done(app: APIGatewayRestResolver | None = None, route: tuple[str, str] | None = None) -> None:
    """End of init: freeze what it built, collector back on; SnapStart hooks when snapshotting."""
    gc.freeze()
    gc.enable()
    if snapstart_init():
        # Cold start: the SnapStart hooks loads on the path that uses it, not at import.
        from snapshot_restore_py import (
            register_after_restore,
            register_before_snapshot,
        )

        register_before_snapshot(prime, app, route)
        register_after_restore(after_restore)


class _PrimeContext:
    """The least of a Lambda context the resolver reads."""

    function_name = "snapstart-prime"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    aws_request_id = PRIME_REQUEST_ID
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:snapstart-prime"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def prime(app: APIGatewayRestResolver | None, route: tuple[str, str] | None) -> dict[str, Any] | None:
    """Resolve one request that fails validation (an empty JSON object for the function's route,
    or an unknown path) and return the resolver's answer; nothing is sent or stored, no metric
    from it is kept. Then read DynamoDB's service model into the AWS clients' loader (no client,
    no credential). Returns None for a function without a resolver (the SQS video worker)."""
    if app is None:
        return None
    # Imported here, not at the top: app.py imports this module first so that garbage collection
    # is off before the SDKs load; a top-level import would load Powertools before that.
    from contentgen.clients.aws import prime_service_models
    from contentgen.entrypoints.answers import proxy_event_for
    from contentgen.observability import metrics

    method, path = route or ("GET", "/snapstart-prime")
    answer: dict[str, Any] = app.resolve(
        proxy_event_for({}, method=method, path=path, request_id=PRIME_REQUEST_ID),
        cast("LambdaContext", _PrimeContext()),
    )
    metrics.clear_metrics()
    prime_service_models(("dynamodb",))  # the idempotency store's client; botocore for credentials
    return answer


def after_restore() -> None:
    """Reseed `random` from os.urandom; forget any client, connection or key made before the snapshot."""
    random.seed()
    resets = {
        "contentgen.connectors.openai_connector": "reset_openai_client",
        "contentgen.connectors.genai_connector": "reset_genai_client",
        "contentgen.clients.aws": "reset_aws_clients",
        "contentgen.clients.secrets": "reset_ssm_provider",
    }
    for module_name, function in resets.items():
        module = sys.modules.get(module_name)  # a module not loaded holds nothing to drop
        if module is not None:
            getattr(module, function)()
