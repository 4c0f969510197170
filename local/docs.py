"""Swagger UI at `/docs` on the local stack (not deployed).

The page and its assets come from the `swagger-ui-py` package (Swagger UI 5, which renders OpenAPI
3.1; no CDN); it reads the API's document from `/openapi.json`, which the local API serves like the
deployed one.
"""

from __future__ import annotations

import importlib.util
import mimetypes
from functools import cache
from pathlib import Path

PREFIX = "/docs"
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png")

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>contentgen API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
</script>
</body>
</html>
"""


@cache
def assets_dir() -> Path:
    """swagger-ui-py's static files, found without importing the package (its web-framework glue)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (requirements-dev.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def serve(method: str, path: str) -> tuple[int, bytes, dict[str, str]] | None:
    """(status, body, headers) when `method path` is the docs page or one of its assets, else None."""
    if method != "GET" or not (path == PREFIX or path.startswith(f"{PREFIX}/")):
        return None
    name = path.removeprefix(PREFIX).strip("/")
    if not name or name == "index.html":
        return 200, PAGE.encode(), {"Content-Type": "text/html; charset=utf-8"}
    if name not in ASSETS:
        return 404, b'{"message": "Not Found"}', {"Content-Type": "application/json"}
    data = (assets_dir() / name).read_bytes()
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return 200, data, {"Content-Type": content_type, "Cache-Control": "max-age=3600"}
