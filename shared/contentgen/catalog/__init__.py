"""The model catalog: every model contentgen may be configured with, as data (`models.json`),
its schema (`contentgen.catalog.schema`) and its loader (`contentgen.catalog.loader`).

Nothing else in the layer names a model id: defaults, prices, capabilities and lifecycles come
from here. Imports only `contentgen.errors` (and pydantic); nothing is read at import.
"""

from __future__ import annotations

from contentgen.catalog.loader import (
    SHUTDOWN_HORIZON_DAYS,
    CapabilityViolation,
    LifecycleProblem,
    UnknownModelError,
    accepted_parameters,
    bare_model_id,
    check_models,
    default_chain,
    find_model,
    get_model,
    image_price_usd,
    image_violations,
    is_available,
    lifecycle_problem,
    load_catalog,
    media_price_table,
    models_of,
    parse_catalog,
    status,
    successor,
    today,
    video_price_usd,
    video_violations,
)
from contentgen.catalog.schema import Catalog, ModelEntry

__all__ = [
    "SHUTDOWN_HORIZON_DAYS",
    "CapabilityViolation",
    "Catalog",
    "LifecycleProblem",
    "ModelEntry",
    "UnknownModelError",
    "accepted_parameters",
    "bare_model_id",
    "check_models",
    "default_chain",
    "find_model",
    "get_model",
    "image_price_usd",
    "image_violations",
    "is_available",
    "lifecycle_problem",
    "load_catalog",
    "media_price_table",
    "models_of",
    "parse_catalog",
    "status",
    "successor",
    "today",
    "video_price_usd",
    "video_violations",
]
