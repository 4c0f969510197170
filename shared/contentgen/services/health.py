"""A shallow health report: no provider, no SSM, just what this container is and has."""

from __future__ import annotations

import os
from typing import Any

from contentgen import __version__
from contentgen.config import get_settings


def health_report() -> dict[str, Any]:
    settings = get_settings()
    return {
        "status": "ok",
        "service": os.environ.get("POWERTOOLS_SERVICE_NAME", "contentgen"),
        "version": __version__,
        "function_version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "local"),
        "configured": settings.configured(),
        "models": {
            "text": settings.text_model,
            "vision": settings.vision_model,
            "image": settings.image_model,
            "video": settings.video_model,
        },
    }
