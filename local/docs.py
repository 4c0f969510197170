"""Swagger UI at `/docs` on the local stack (not deployed).

The page and its assets come from the `swagger-ui-bundle` package (no CDN); it reads the API's
document from `/openapi.json`, which the local API serves like the deployed one.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from swagger_ui_bundle import swagger_ui_path

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


def serve(method: str, path: str) -> tuple[int, bytes, dict[str, str]] | None:
    """(status, body, headers) when `method path` is the docs page or one of its assets, else None."""
    if method != "GET" or not (path == PREFIX or path.startswith(f"{PREFIX}/")):
        return None
    name = path.removeprefix(PREFIX).strip("/")
    if not name or name == "index.html":
        return 200, PAGE.encode(), {"Content-Type": "text/html; charset=utf-8"}
    if name not in ASSETS:
        return 404, b'{"message": "Not Found"}', {"Content-Type": "application/json"}
    data = (Path(str(swagger_ui_path)) / name).read_bytes()
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return 200, data, {"Content-Type": content_type, "Cache-Control": "max-age=3600"}
