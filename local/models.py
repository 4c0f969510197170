"""`make models`: the model catalog as a table, the lifecycle guard, and (given keys) a comparison
with the providers' live model lists.

    python -m local.models                 # the table and the guard on today's date (exit 1: a problem)
    python -m local.models --date 2027-01-01
    make models | grep shut_down           # piped: one plain line per model (--plain forces it)
    OPENROUTER_API_KEY=... GOOGLE_API_KEY=... python -m local.models   # also compare with the providers

The comparison calls OpenRouter `GET /api/v1/models` (https://openrouter.ai/docs/api-reference/list-available-models)
and the Gemini API `GET /v1beta/models` (`models.list`, https://ai.google.dev/api/models#method:-models.list):
real network, so it runs only here, never in tests or CI (the tests check `compare_openrouter` and
`compare_gemini` on canned lists).

The guard (`guard`, also run by `make test` in tests/unit/test_model_catalog.py) reads every model
named by template.yaml (Parameters defaults, literal function environment values), the
`parameter_overrides` of every samconfig*.toml beside it (what `sam deploy` really deploys), the layer's
settings defaults (`contentgen.config.Settings`), the local stack (env.json) and the catalog's own
recommended chains, and fails when one is unknown to the catalog, shut down, or announced to shut
down within 60 days of the given day.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tomllib
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from local.runtime import SHARED
from local.template import ROOT, TEMPLATE, load_template

if SHARED not in sys.path:
    sys.path.insert(0, SHARED)

from contentgen.catalog import (
    SHUTDOWN_HORIZON_DAYS,
    LifecycleProblem,
    ModelEntry,
    check_models,
    load_catalog,
    today,
)

ENV_JSON = ROOT / "env.json"
OPENROUTER_MODELS_URL = "https://openrouter.ai/api/v1/models"
GEMINI_MODELS_URL = "https://generativelanguage.googleapis.com/v1beta/models"


def _split(value: object) -> list[str]:
    return (
        [model.strip() for model in str(value).split(",") if model.strip()] if isinstance(value, str) else []
    )


def _is_model_setting(name: str) -> bool:
    upper = name.upper()
    return upper.endswith(("_MODEL", "_MODELS")) or name.endswith(("Model", "Models"))


def _template_models(template: Path) -> Iterator[tuple[str, str]]:
    document = load_template(template)
    for name, parameter in (document.get("Parameters") or {}).items():
        if _is_model_setting(name):
            for model in _split((parameter or {}).get("Default")):
                yield f"{template.name} Parameters.{name}", model
    environments: list[tuple[str, Mapping[str, Any]]] = [
        ("Globals", ((document.get("Globals") or {}).get("Function") or {}).get("Environment") or {})
    ]
    for logical_id, resource in (document.get("Resources") or {}).items():
        environments.append((logical_id, ((resource or {}).get("Properties") or {}).get("Environment") or {}))
    for owner, environment in environments:
        for name, value in (environment.get("Variables") or {}).items():
            if _is_model_setting(name):  # a !Ref names a parameter, checked above; literals here
                for model in _split(value):
                    yield f"{template.name} {owner}.{name}", model


def _settings_models() -> Iterator[tuple[str, str]]:
    from contentgen.config import Settings

    settings = Settings.model_validate({})
    for field_name in Settings.model_fields:
        if field_name.endswith(("_model", "_models")):
            for model in _split(getattr(settings, field_name)):
                yield f"contentgen.config.Settings.{field_name}", model


def _env_json_models(env_json: Path) -> Iterator[tuple[str, str]]:
    if not env_json.exists():
        return
    document = json.loads(env_json.read_text())
    for scope, variables in document.items():
        for name, value in (variables or {}).items():
            if _is_model_setting(name):
                for model in _split(value):
                    yield f"{env_json.name} {scope}.{name}", model


def _overrides(value: object) -> list[str]:
    """`parameter_overrides` as SAM CLI config files hold it: one string `Key=Value Key="v w"`, or a
    list of such strings (AWS SAM CLI docs, "AWS SAM CLI configuration file", read 2026-12-07)."""
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if isinstance(item, str):
            found.extend(shlex.split(item))
    return found


def _samconfig_models(directory: Path) -> Iterator[tuple[str, str]]:
    """The model parameters `sam deploy` passes from a config file: `sam deploy --guided` saves every
    parameter it asked about as `parameter_overrides` in samconfig.toml, and every later deploy (of
    any `--config-env`, any `--config-file samconfig*.toml`) passes them again, whatever
    template.yaml's defaults now say."""
    for config in sorted(directory.glob("samconfig*.toml")):
        document = tomllib.loads(config.read_text())
        for env, commands in document.items():
            if not isinstance(commands, dict):
                continue
            for command, section in commands.items():
                parameters = (section or {}).get("parameters") if isinstance(section, dict) else None
                if not isinstance(parameters, dict):
                    continue
                for override in _overrides(parameters.get("parameter_overrides")):
                    name, _, value = override.partition("=")
                    if _is_model_setting(name):
                        for model in _split(value):
                            yield f"{config.name} [{env}.{command}.parameters] {name}", model


def _catalog_defaults() -> Iterator[tuple[str, str]]:
    for use, chain in load_catalog().defaults.items():
        for model in (chain.model, *chain.fallbacks):
            yield f"models.json defaults.{use}", model


def configured_models(template: Path = TEMPLATE, env_json: Path = ENV_JSON) -> list[tuple[str, str]]:
    """Every `(where, model)` the template, the SAM CLI config files beside it (samconfig*.toml
    `parameter_overrides`), the settings defaults, env.json and the catalog's own recommended
    chains configure."""
    return [
        *_template_models(template),
        *_samconfig_models(template.parent),
        *_settings_models(),
        *_env_json_models(env_json),
        *_catalog_defaults(),
    ]


def guard(
    day: date | None = None, *, template: Path = TEMPLATE, env_json: Path = ENV_JSON
) -> list[LifecycleProblem]:
    """The lifecycle problems of every configured model on `day` (default: today, UTC)."""
    return check_models(configured_models(template, env_json), day=day, horizon_days=SHUTDOWN_HORIZON_DAYS)


# -- the table ---------------------------------------------------------------------------------


def _price_text(entry: ModelEntry, day: date) -> str:
    price = entry.price_on(day)
    if price is None:
        return "returned by OpenRouter" if entry.provider == "openrouter" else "-"
    parts: list[str] = []
    if price.per_image is not None:
        parts.append(f"{price.per_image} /image")
    if price.per_second is not None:
        parts.append(f"{price.per_second} /s")
    if price.input_per_million_tokens is not None:
        parts.append(f"{price.input_per_million_tokens} in")
    if price.output_per_million_tokens is not None:
        parts.append(f"{price.output_per_million_tokens} out /1M")
    if price.audio_output_per_million_tokens is not None:
        parts.append(f"{price.audio_output_per_million_tokens} audio /1M")
    return ", ".join(parts)


def _capabilities_text(entry: ModelEntry) -> str:
    if entry.video is not None:
        video = entry.video
        return (
            f"{','.join(str(d) for d in video.durations)} s; {','.join(video.resolutions)}; "
            f"{','.join(video.aspect_ratios)}; refs {video.max_reference_images}; audio {'yes' if video.audio else 'no'}"
        )
    if entry.image is not None:
        return f"{len(entry.image.aspect_ratios)} ratios; {','.join(entry.image.sizes)}"
    if entry.speech is not None:
        return f"{len(entry.speech.voices)} voices; {entry.speech.output}"
    if entry.transcription is not None:
        return "word timestamps" if entry.transcription.word_timestamps else "transcript"
    return ", ".join(entry.parameters[:4]) + (" ..." if len(entry.parameters) > 4 else "")


def catalog_rows(day: date) -> list[dict[str, str]]:
    """One row per catalog model: id, kinds, surface, status on `day`, lifecycle dates, price."""
    rows = []
    for entry in load_catalog().models:
        life = entry.lifecycle
        rows.append(
            {
                "model": entry.id,
                "kinds": ",".join(entry.kinds),
                "surface": f"{entry.surface} ({','.join(entry.backends)})",
                "status": life.status_on(day, SHUTDOWN_HORIZON_DAYS),
                "released": str(life.released or "-"),
                "shutdown": str(life.shutdown or "-"),
                "successor": life.successor or "-",
                "price_usd": _price_text(entry, day),
                "capabilities": _capabilities_text(entry),
                "sources": ", ".join(life.sources),
            }
        )
    return rows


TABLE_COLUMNS = (
    "model",
    "kinds",
    "surface",
    "status",
    "released",
    "shutdown",
    "successor",
    "price_usd",
    "capabilities",
)


def plain_table(day: date) -> str:
    """The table for a pipe or a file: a header and ONE line per model, columns padded to their
    widest cell and parted by two spaces, no colour and no wrapping, so `grep`, `sort`, `cut -c`
    and `less -S` read it whatever the terminal's width (a Rich table without a terminal is 80
    columns wide and folds every cell over several lines)."""
    catalog = load_catalog()
    rows = [dict(zip(TABLE_COLUMNS, TABLE_COLUMNS, strict=True)), *catalog_rows(day)]
    widths = {column: max(len(row[column]) for row in rows) for column in TABLE_COLUMNS}
    lines = [f"Model catalog (read {catalog.read_on}), status on {day}"]
    for row in rows:
        lines.append("  ".join(row[column].ljust(widths[column]) for column in TABLE_COLUMNS).rstrip())
    return "\n".join(lines)


def print_table(day: date, *, plain: bool | None = None) -> None:
    """The catalog's table on stdout: a Rich table on a terminal; `plain_table` when stdout is not
    a terminal (a pipe, a file) or `plain` is True."""
    if plain is None:
        plain = not sys.stdout.isatty()
    if plain:
        print(plain_table(day))
        return
    from rich.console import Console
    from rich.table import Table

    catalog = load_catalog()
    table = Table(title=f"Model catalog (read {catalog.read_on}), status on {day}")
    for column in TABLE_COLUMNS:
        table.add_column(column, overflow="fold")
    colours = {"live": "green", "deprecated": "yellow", "retiring": "red", "shut_down": "dim"}
    for row in catalog_rows(day):
        table.add_row(*(row[column] for column in TABLE_COLUMNS), style=colours.get(row["status"]))
    Console().print(table)


# -- the live comparison -----------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One way the catalog and a provider's live list disagree."""

    provider: str
    model: str
    problem: str

    def __str__(self) -> str:
        return f"{self.provider} {self.model}: {self.problem}"


def _per_million(per_token: object) -> Decimal | None:
    try:
        return Decimal(str(per_token)) * 1_000_000
    except (ArithmeticError, ValueError):
        return None


def compare_openrouter(listing: Mapping[str, Any], day: date) -> list[Difference]:
    """Compare the catalog's OpenRouter models with `GET /api/v1/models` (`{"data": [{"id",
    "supported_parameters", "pricing": {"prompt", "completion"}}, ...]}`, prices per token)."""
    live = {str(item.get("id")): item for item in listing.get("data") or [] if isinstance(item, Mapping)}
    found: list[Difference] = []
    for entry in load_catalog().models:
        if entry.provider != "openrouter":
            continue
        state = entry.lifecycle.status_on(day, SHUTDOWN_HORIZON_DAYS)
        item = live.get(entry.id)
        if item is None:
            if state != "shut_down":
                found.append(Difference("openrouter", entry.id, f"not listed, but the catalog says {state}"))
            continue
        if state == "shut_down":
            found.append(Difference("openrouter", entry.id, "listed, but the catalog says shut down"))
            continue
        supported = set(item.get("supported_parameters") or [])
        if entry.parameters and supported and set(entry.parameters) != supported:
            missing, extra = set(entry.parameters) - supported, supported - set(entry.parameters)
            text = "; ".join(
                part
                for part in (
                    f"catalog only: {', '.join(sorted(missing))}" if missing else "",
                    f"live only: {', '.join(sorted(extra))}" if extra else "",
                )
                if part
            )
            found.append(Difference("openrouter", entry.id, f"supported_parameters differ ({text})"))
        price, pricing = entry.price_on(day), item.get("pricing") or {}
        if price is not None:
            for side, ours in (
                ("prompt", price.input_per_million_tokens),
                ("completion", price.output_per_million_tokens),
            ):
                theirs = _per_million(pricing.get(side))
                if ours is not None and theirs is not None and theirs != ours:
                    found.append(
                        Difference(
                            "openrouter", entry.id, f"{side} price {theirs} /1M live, {ours} in the catalog"
                        )
                    )
    return found


def compare_gemini(listing: Mapping[str, Any], day: date) -> list[Difference]:
    """Compare the catalog's Gemini API models with `models.list` (`{"models": [{"name":
    "models/X", "supportedGenerationMethods": [...]}, ...]}`)."""
    live = {
        str(item.get("name", "")).rsplit("/", 1)[-1]: item
        for item in listing.get("models") or []
        if isinstance(item, Mapping)
    }
    found: list[Difference] = []
    catalog_ids = set()
    for entry in load_catalog().models:
        if entry.provider != "google" or "gemini_api" not in entry.backends:
            continue
        catalog_ids.add(entry.id)
        state = entry.lifecycle.status_on(day, SHUTDOWN_HORIZON_DAYS)
        if entry.id not in live and state != "shut_down":
            found.append(Difference("gemini", entry.id, f"not listed, but the catalog says {state}"))
        elif entry.id in live and state == "shut_down":
            found.append(Difference("gemini", entry.id, "listed, but the catalog says shut down"))
    for model in sorted(set(live) - catalog_ids):
        found.append(Difference("gemini", model, "listed live, not in the catalog"))
    return found


def _get_json(url: str, headers: Mapping[str, str]) -> Any:
    request = urllib.request.Request(url, headers=dict(headers))
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _gemini_listing(key: str) -> dict[str, Any]:
    models: list[Any] = []
    token = ""
    while True:
        page = _get_json(
            f"{GEMINI_MODELS_URL}?pageSize=1000" + (f"&pageToken={token}" if token else ""),
            {"x-goog-api-key": key},
        )
        models.extend(page.get("models") or [])
        token = page.get("nextPageToken") or ""
        if not token:
            return {"models": models}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="The model catalog, its lifecycle guard and a live comparison."
    )
    parser.add_argument(
        "--date", type=date.fromisoformat, default=None, help="the day to judge (default: today)"
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="one line per model, no colour (the default when stdout is not a terminal)",
    )
    args = parser.parse_args(argv)
    day: date = args.date or today()
    print_table(day, plain=True if args.plain else None)
    problems = guard(day)
    for problem in problems:
        print(f"GUARD: {problem}")
    if not problems:
        print(
            f"guard: every default and fallback is live and not shutting down within {SHUTDOWN_HORIZON_DAYS} days"
        )
    differences: list[Difference] = []
    if key := os.environ.get("OPENROUTER_API_KEY"):
        differences += compare_openrouter(
            _get_json(OPENROUTER_MODELS_URL, {"Authorization": f"Bearer {key}"}), day
        )
    if key := os.environ.get("GOOGLE_API_KEY"):
        differences += compare_gemini(_gemini_listing(key), day)
    for difference in differences:
        print(f"LIVE: {difference}")
    if not (os.environ.get("OPENROUTER_API_KEY") or os.environ.get("GOOGLE_API_KEY")):
        print("no OPENROUTER_API_KEY / GOOGLE_API_KEY: the live comparison was skipped")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
