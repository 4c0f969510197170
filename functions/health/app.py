"""GET /health: shallow, answers without calling a provider or SSM."""

from typing import Any

from contentgen.api import create_app, lambda_entrypoint
from contentgen.services.health import health_report

app = create_app()


@app.get("/health")
def health() -> dict[str, Any]:
    return health_report()


lambda_handler = lambda_entrypoint(app, direct_route=("GET", "/health"))
