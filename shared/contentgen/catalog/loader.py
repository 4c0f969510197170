"""Load the model catalog (`models.json` beside this module) once per container, and answer
questions about it: is this id known, is it live on a date, what does it cost, what can it make.

Nothing is read at import: the first call reads and validates the file (a few kB) and caches it.
A catalog that does not validate is a bug in the package, raised as `ConfigurationError` (503).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from contentgen.catalog.schema import Backend, Catalog, Kind, ModelEntry, Status
from contentgen.errors import ConfigurationError

CATALOG_PATH = Path(__file__).with_name("models.json")
# A default or fallback whose announced shutdown is this close fails the lifecycle guard.
SHUTDOWN_HORIZON_DAYS = 60

V = TypeVar("V")


def today() -> date:
    """Today's date in UTC (the date lifecycle questions are asked on unless told otherwise)."""
    return datetime.now(UTC).date()


def parse_catalog(text: str) -> Catalog:
    """Validate catalog JSON (`ValueError` naming the problem when it does not validate)."""
    try:
        return Catalog.model_validate(json.loads(text))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "catalog"
        raise ValueError(f"{where}: {first['msg']}") from None


@cache
def load_catalog() -> Catalog:
    """The packaged catalog, read and validated on first use (cached for the container)."""
    try:
        return parse_catalog(CATALOG_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"service misconfigured: model catalog {CATALOG_PATH.name}: {exc}") from None


@cache
def _index() -> dict[str, ModelEntry]:
    return {entry.id: entry for entry in load_catalog().models}


def bare_model_id(model: str) -> str:
    """`models/X`, `publishers/google/models/X` or `projects/.../models/X` -> `X`; OpenRouter ids
    (`vendor/name`) are kept whole."""
    if "/models/" in model or model.startswith("models/"):
        return model.rsplit("/", 1)[-1]
    return model


def find_model(model: str) -> ModelEntry | None:
    """The catalog entry of `model` (any of Google's resource-name forms), or None when unknown."""
    return _index().get(bare_model_id(model))


class UnknownModelError(ConfigurationError):
    """A configured model id that the catalog does not list (503 naming it)."""


def get_model(model: str) -> ModelEntry:
    """The catalog entry of `model`; `UnknownModelError` when the catalog does not list it."""
    entry = find_model(model)
    if entry is None:
        raise UnknownModelError(f"service misconfigured: model {model} is not in the model catalog")
    return entry


def status(model: str, day: date | None = None, horizon_days: int = SHUTDOWN_HORIZON_DAYS) -> Status | None:
    """`live`, `deprecated`, `retiring` (shutdown within the horizon), `shut_down`; None if unknown."""
    entry = find_model(model)
    return None if entry is None else entry.lifecycle.status_on(day or today(), horizon_days)


def is_available(model: str, day: date | None = None) -> bool:
    """Whether the provider still serves `model` on `day` (known and not shut down)."""
    return status(model, day) not in (None, "shut_down")


def successor(model: str, day: date | None = None) -> str | None:
    """The first model down the successor chain that is available on `day` (None: no successor)."""
    seen: set[str] = set()
    entry = find_model(model)
    while entry is not None and entry.lifecycle.successor and entry.lifecycle.successor not in seen:
        seen.add(entry.lifecycle.successor)
        entry = find_model(entry.lifecycle.successor)
        if entry is not None and is_available(entry.id, day):
            return entry.id
    return None


@dataclass(frozen=True)
class LifecycleProblem:
    """Why a configured model fails the lifecycle guard, with what to move to."""

    model: str
    where: str
    problem: str
    successor: str | None

    def __str__(self) -> str:
        move = f"; move to {self.successor}" if self.successor else ""
        return f"{self.where}: {self.model} {self.problem}{move}"


def lifecycle_problem(
    model: str, *, where: str, day: date | None = None, horizon_days: int = SHUTDOWN_HORIZON_DAYS
) -> LifecycleProblem | None:
    """None when `model` is in the catalog, available on `day` and not announced to shut down
    within `horizon_days`; else what is wrong (unknown, shut down, or its shutdown date)."""
    day = day or today()
    entry = find_model(model)
    if entry is None:
        return LifecycleProblem(model, where, "is not in the model catalog", None)
    state = entry.lifecycle.status_on(day, horizon_days)
    when = entry.lifecycle.shutdown
    if state == "shut_down":
        text = f"was shut down on {when}" if when else "is shut down"
        return LifecycleProblem(model, where, text, successor(model, day))
    if state == "retiring":
        days = (when - day).days if when else 0
        return LifecycleProblem(
            model, where, f"shuts down on {when} ({days} days after {day})", successor(model, day)
        )
    return None


def check_models(
    configured: Iterable[tuple[str, str]],
    *,
    day: date | None = None,
    horizon_days: int = SHUTDOWN_HORIZON_DAYS,
) -> list[LifecycleProblem]:
    """The lifecycle problems of `(where, model)` pairs (e.g. `("template.yaml TextModel",
    <its default>)`), in order; empty when all are fine."""
    problems = (
        lifecycle_problem(model, where=where, day=day, horizon_days=horizon_days)
        for where, model in configured
    )
    return [problem for problem in problems if problem is not None]


def models_of(kind: Kind, *, backend: Backend | None = None, day: date | None = None) -> list[ModelEntry]:
    """The catalog's available models of `kind` (optionally on `backend`), in catalog order."""
    return [
        entry
        for entry in load_catalog().models
        if kind in entry.kinds
        and (backend is None or backend in entry.backends)
        and is_available(entry.id, day)
    ]


def default_chain(use: str) -> tuple[str, ...]:
    """The recommended model then its fallbacks for `use` (`text`, `vision`, `image`, `video`,
    `video_gemini_api`, `speech`, `transcription`); `KeyError` for another use."""
    chain = load_catalog().defaults[use]
    return (chain.model, *chain.fallbacks)


def image_price_usd(model: str, *, size: str | None = None, day: date | None = None) -> Decimal | None:
    """USD for one image from `model` at `size` (`1K` ... ; None: its default), or None when the
    catalog has no price for it."""
    entry = find_model(model)
    price = entry.price_on(day or today()) if entry is not None else None
    if price is None:
        return None
    if size is not None and size in price.per_image_by_size:
        return price.per_image_by_size[size]
    return price.per_image


def video_price_usd(model: str, *, resolution: str | None = None, day: date | None = None) -> Decimal | None:
    """USD per second of video from `model` at `resolution` (None: its default), or None when the
    catalog has no price for it."""
    entry = find_model(model)
    price = entry.price_on(day or today()) if entry is not None else None
    if price is None:
        return None
    if resolution is not None and resolution in price.per_second_by_resolution:
        return price.per_second_by_resolution[resolution]
    return price.per_second


def media_price_table(day: date | None = None) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    """`{model: (per_image, per_second)}` for every model with a media price on `day` (the
    defaults of `contentgen.billing.prices`, which `MEDIA_PRICES_JSON` overrides)."""
    table: dict[str, tuple[Decimal | None, Decimal | None]] = {}
    for entry in load_catalog().models:
        price = entry.price_on(day or today())
        if price is not None and (price.per_image is not None or price.per_second is not None):
            table[entry.id] = (price.per_image, price.per_second)
    return table


@dataclass(frozen=True)
class CapabilityViolation:
    """A requested value the model cannot make: the request field, and the values it allows."""

    field: str
    value: object
    allowed: tuple[object, ...]

    def __str__(self) -> str:
        allowed = ", ".join(str(value) for value in self.allowed)
        return f"{self.field}: {self.value} is not supported; allowed: {allowed}"


def video_violations(
    model: str,
    *,
    duration_seconds: int | None = None,
    aspect_ratio: str | None = None,
    resolution: str | None = None,
    reference_images: int = 0,
) -> list[CapabilityViolation]:
    """What `model` cannot make of this video request (empty: all fine, or no video capabilities
    known). Constraints (e.g. Veo: 8 s only at 1080p/4k or with reference images) narrow the
    allowed durations."""
    entry = find_model(model)
    caps = entry.video if entry is not None else None
    if caps is None:
        return []
    found: list[CapabilityViolation] = []
    if aspect_ratio is not None and aspect_ratio not in caps.aspect_ratios:
        found.append(CapabilityViolation("aspect_ratio", aspect_ratio, tuple(caps.aspect_ratios)))
    if resolution is not None and resolution not in caps.resolutions:
        found.append(CapabilityViolation("resolution", resolution, tuple(caps.resolutions)))
    if reference_images > caps.max_reference_images:
        found.append(CapabilityViolation("reference_images", reference_images, (caps.max_reference_images,)))
    if duration_seconds is not None:
        allowed = list(caps.durations)
        for rule in caps.constraints:
            applies = (resolution is not None and resolution in rule.resolutions) or (
                rule.with_reference_images and reference_images > 0
            )
            if applies:
                allowed = [d for d in allowed if d in rule.durations]
        if duration_seconds not in allowed:
            found.append(CapabilityViolation("duration_seconds", duration_seconds, tuple(allowed)))
    return found


def image_violations(
    model: str, *, aspect_ratio: str | None = None, size: str | None = None
) -> list[CapabilityViolation]:
    """What `model` cannot make of this image request (empty: fine, or no image capabilities known)."""
    entry = find_model(model)
    caps = entry.image if entry is not None else None
    if caps is None:
        return []
    found: list[CapabilityViolation] = []
    if aspect_ratio is not None and aspect_ratio not in caps.aspect_ratios:
        found.append(CapabilityViolation("aspect_ratio", aspect_ratio, tuple(caps.aspect_ratios)))
    if size is not None and size not in caps.sizes:
        found.append(CapabilityViolation("size", size, tuple(caps.sizes)))
    return found


def accepted_parameters(models: str | Iterable[str], parameters: Mapping[str, V]) -> dict[str, V]:
    """The `parameters` (request field names as the catalog writes them: OpenRouter
    `supported_parameters` names, Google request fields) that every model of `models` accepts
    (`ModelEntry.accepts`), the others dropped; values that are None are dropped too. A model the
    catalog does not describe, or lists without parameters (a retired id), drops nothing. This is
    how each request carries only what its model takes (OpenRouter's `require_parameters` would
    otherwise turn an unsupported `temperature` into "No endpoints found")."""
    ids = [models] if isinstance(models, str) else list(models)
    entries = [
        entry for entry in (find_model(model) for model in ids) if entry is not None and entry.parameters
    ]
    return {
        name: value
        for name, value in parameters.items()
        if value is not None and all(entry.accepts(name) for entry in entries)
    }
