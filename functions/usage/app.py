"""GET /usage: the calling API key's spend today and over the last 30 days, and its budget."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.entrypoints.spend import calling_key
from contentgen.models.usage import UsageReport
from contentgen.stores.ledger import usage_report

app = create_app()


@app.get("/usage")
def usage() -> UsageReport:
    # Only API Gateway's own record of the presented key decides whose spend is read; a key id in
    # the path or query string is never consulted.
    return UsageReport.model_validate(usage_report(calling_key(app.current_event)))


lambda_handler = lambda_entrypoint(app)
