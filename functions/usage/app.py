"""GET /usage: the calling API key's spend today and over the last 30 days, and its budget."""

from contentgen.api import create_app, lambda_entrypoint
from contentgen.models.usage import UsageReport
from contentgen.spend import calling_key, usage_report

app = create_app()


@app.get("/usage")
def usage() -> UsageReport:
    # Only API Gateway's own record of the presented key decides whose spend is read; a key id in
    # the path or query string is never consulted.
    return UsageReport.model_validate(usage_report(calling_key(app.current_event)))


lambda_handler = lambda_entrypoint(app)
