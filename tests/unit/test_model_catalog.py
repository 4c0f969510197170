"""The model catalog (contentgen.catalog): it loads and is consistent, the lifecycle guard passes on
today's date and fails on a retired default, `make models` compares with canned provider lists,
and nothing outside the catalog names a model id."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from contentgen.catalog import (
    SHUTDOWN_HORIZON_DAYS,
    accepted_parameters,
    default_chain,
    find_model,
    get_model,
    lifecycle_problem,
    load_catalog,
    parse_catalog,
    successor,
    today,
    video_violations,
)
from contentgen.catalog.loader import CATALOG_PATH, UnknownModelError
from local.models import (
    catalog_rows,
    compare_gemini,
    compare_openrouter,
    configured_models,
    guard,
    main,
)
from local.template import ROOT, TEMPLATE

DAY = date(2026, 12, 6)  # the day the catalog was read
RETIRED = "imagen-4.0-generate-001"  # shut down 2026-08-17 (Gemini API changelog)


# -- the catalog itself --------------------------------------------------------------------------


def test_the_catalog_loads_and_names_a_source_for_every_fact() -> None:
    catalog = load_catalog()
    assert catalog.read_on == DAY
    assert len(catalog.models) >= 30
    for entry in catalog.models:
        assert entry.lifecycle.sources, entry.id
        for price in entry.prices:
            assert price.sources, entry.id
    by_kind = {
        kind: [m.id for m in catalog.models if kind in m.kinds]
        for kind in ("text", "image", "video", "speech")
    }
    assert all(by_kind.values()), by_kind


def test_a_catalog_that_cites_an_unknown_source_or_successor_is_refused() -> None:
    document = json.loads(CATALOG_PATH.read_text())
    bad_source = json.loads(json.dumps(document))
    bad_source["models"][0]["lifecycle"]["sources"] = ["nowhere"]
    with pytest.raises(ValueError, match="unknown sources nowhere"):
        parse_catalog(json.dumps(bad_source))
    bad_successor = json.loads(json.dumps(document))
    bad_successor["models"][0]["lifecycle"]["successor"] = "model-that-is-not-listed"
    with pytest.raises(ValueError, match="successor model-that-is-not-listed"):
        parse_catalog(json.dumps(bad_successor))
    duplicate = json.loads(json.dumps(document))
    duplicate["models"].append(duplicate["models"][0])
    with pytest.raises(ValueError, match="duplicate model ids"):
        parse_catalog(json.dumps(duplicate))


def test_resource_names_resolve_and_unknown_ids_are_named() -> None:
    image = default_chain("image")[0]
    assert find_model(f"models/{image}") is find_model(image)
    assert find_model(f"projects/p/locations/us-central1/publishers/google/models/{image}") is find_model(
        image
    )
    assert find_model("no-such-model") is None
    with pytest.raises(UnknownModelError, match="no-such-model"):
        get_model("no-such-model")


def test_retired_ids_are_known_and_point_to_a_live_successor() -> None:
    for retired in (RETIRED, "gemini-2.5-flash-image", "veo-3.0-generate-001", "google/gemini-2.5-flash"):
        entry = get_model(retired)
        assert entry.lifecycle.status_on(DAY) == "shut_down", retired
        nxt = successor(retired, DAY)
        assert nxt is not None
        assert get_model(nxt).lifecycle.status_on(DAY) == "live"


def test_veo_durations_and_their_constraints() -> None:
    video = default_chain("video")[0]
    assert video_violations(video, duration_seconds=6, aspect_ratio="9:16") == []
    [wrong] = video_violations(video, duration_seconds=5)
    assert (wrong.field, wrong.allowed) == ("duration_seconds", (4, 6, 8))
    [at_1080p] = video_violations(video, duration_seconds=6, resolution="1080p")
    assert at_1080p.allowed == (8,)
    assert [v.field for v in video_violations(video, aspect_ratio="1:1")] == ["aspect_ratio"]


# -- the lifecycle guard -------------------------------------------------------------------------


def test_every_default_and_fallback_is_live_today() -> None:
    """The guard of `make test`: on the real date, no configured model is unknown, shut down or
    announced to shut down within 60 days."""
    configured = configured_models()
    wheres = [where for where, _ in configured]
    assert any(where.startswith("template.yaml Parameters.ImageModel") for where in wheres)
    assert any(where.startswith("template.yaml Parameters.TextFallbackModels") for where in wheres)
    assert "contentgen.config.Settings.video_model" in wheres
    assert any(where.startswith("models.json defaults.speech") for where in wheres)
    problems = guard(today())
    assert problems == [], "\n".join(str(problem) for problem in problems)


def test_the_guard_fails_on_a_template_naming_a_retired_model(tmp_path: Path) -> None:
    copy = tmp_path / "template.yaml"
    shutil.copy(TEMPLATE, copy)
    text = copy.read_text()
    current = default_chain("image")[0]
    marker = "  ImageModel:\n    Type: String\n"
    assert marker in text
    start = text.index("Default:", text.index(marker))
    end = text.index("\n", start)
    copy.write_text(text[:start] + f"Default: {RETIRED}" + text[end:])

    problems = guard(DAY, template=copy, env_json=ROOT / "env.json")

    assert [str(p) for p in problems] == [
        f"template.yaml Parameters.ImageModel: {RETIRED} was shut down on 2026-08-17; move to {current}"
    ]


def test_the_guard_fails_within_60_days_of_an_announced_shutdown() -> None:
    deprecated = next(
        m for m in load_catalog().models if m.lifecycle.stage == "deprecated" and m.lifecycle.shutdown
    )
    shutdown = deprecated.lifecycle.shutdown
    assert shutdown is not None
    early = shutdown - timedelta(days=SHUTDOWN_HORIZON_DAYS + 1)
    assert lifecycle_problem(deprecated.id, where="x", day=early) is None
    close = lifecycle_problem(deprecated.id, where="x", day=shutdown - timedelta(days=SHUTDOWN_HORIZON_DAYS))
    assert close is not None
    assert f"shuts down on {shutdown}" in str(close)
    gone = lifecycle_problem(deprecated.id, where="x", day=shutdown)
    assert gone is not None
    assert "was shut down" in str(gone)
    unknown = lifecycle_problem("no-such-model", where="x", day=DAY)
    assert unknown is not None
    assert "not in the model catalog" in str(unknown)


def test_make_models_prints_the_table_offline(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "300")

    assert main(["--date", DAY.isoformat()]) == 0

    out = capsys.readouterr().out
    assert RETIRED in out
    assert "the live comparison was skipped" in out
    rows = {row["model"]: row for row in catalog_rows(DAY)}
    assert rows[RETIRED]["status"] == "shut_down"
    assert rows[default_chain("text")[0]]["status"] == "live"


def test_make_models_piped_prints_one_readable_line_per_model() -> None:
    """`make models | less` (no terminal, no COLUMNS): one line per model, nothing folded."""
    import os
    import subprocess
    import sys

    environment = {
        k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "TERM")
    }
    environment.pop("OPENROUTER_API_KEY", None)
    environment.pop("GOOGLE_API_KEY", None)
    piped = subprocess.run(
        [sys.executable, "-m", "local.models", "--date", DAY.isoformat()],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert not any(mark in piped.stdout for mark in ("\x1b[", "│", "┃", "━")), "no colour, no box"
    header = next(line for line in lines if line.startswith("model "))
    assert header.split() == [
        "model",
        "kinds",
        "surface",
        "status",
        "released",
        "shutdown",
        "successor",
        "price_usd",
        "capabilities",
    ]
    for row in catalog_rows(DAY):
        found = [line for line in lines if line.startswith(row["model"] + " ")]
        assert len(found) == 1, (row["model"], found)
        assert f" {row['status']} " in found[0]
        assert f" {row['shutdown']} " in found[0]


# -- the live comparison, on canned lists --------------------------------------------------------


def test_compare_openrouter_reports_missing_retired_and_differing_models() -> None:
    text, fallback = default_chain("text")[:2]
    entry = get_model(text)
    listing = {
        "data": [
            {
                "id": text,
                "supported_parameters": [*entry.parameters, "temperature"],
                "pricing": {"prompt": "0.0000001", "completion": "0.0000009"},
            },
            {"id": "google/gemini-2.5-flash", "supported_parameters": [], "pricing": {}},
        ]
    }
    found = {(d.model, d.problem) for d in compare_openrouter(listing, DAY)}
    assert (text, "supported_parameters differ (live only: temperature)") in found
    assert (text, "completion price 0.9000000 /1M live, 0.50 in the catalog") in found
    assert ("google/gemini-2.5-flash", "listed, but the catalog says shut down") in found
    assert (fallback, "not listed, but the catalog says live") in found
    assert not any(model == text and "prompt price" in problem for model, problem in found)


def test_compare_gemini_reports_missing_retired_and_new_models() -> None:
    image = default_chain("image")[0]
    listing = {
        "models": [
            {"name": f"models/{image}"},
            {"name": "models/gemini-2.5-flash-image"},
            {"name": "models/gemini-99-ultra"},
        ]
    }
    found = {(d.model, d.problem) for d in compare_gemini(listing, DAY)}
    assert ("gemini-2.5-flash-image", "listed, but the catalog says shut down") in found
    assert ("gemini-99-ultra", "listed live, not in the catalog") in found
    assert (default_chain("video_gemini_api")[0], "not listed, but the catalog says live") in found
    assert not any(model == image for model, _ in found)


# -- nothing else names a model id ---------------------------------------------------------------

# A model id: any catalog id, or the shape of Google's and OpenRouter's ids.
_SHAPES = re.compile(
    r"\b(?:imagen-\d|veo-\d|gemini-\d|gemini-omni-|gemini-nano-|gpt-\d|claude-\d|claude-(?:haiku|sonnet|opus)|o\d-mini)"
)


def _ids_in(text: str) -> list[str]:
    ids = {entry.id for entry in load_catalog().models}
    found = [model for model in ids if re.search(rf"(?<![\w./-]){re.escape(model)}(?![\w.-])", text)]
    return found + _SHAPES.findall(text)


def test_no_model_id_outside_the_catalog_and_the_template_parameters() -> None:
    offenders: list[str] = []
    files = [
        TEMPLATE,
        *(p for folder in ("shared", "functions", "local") for p in (ROOT / folder).rglob("*")),
    ]
    for path in files:
        if not path.is_file() or path.suffix not in {".py", ".json", ".yaml", ".yml", ".toml", ".txt", ".md"}:
            continue
        if path == CATALOG_PATH or "__pycache__" in path.parts:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if path == TEMPLATE and re.match(r"^\s+Default: ", line):
                continue  # the template's parameter defaults (checked by the guard)
            if _ids_in(re.sub(r"https?://\S+", "", line)):  # a URL's words are not a model id
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "model ids outside the catalog:\n" + "\n".join(offenders)


def test_the_gemini_3_text_fallback_is_not_sent_temperature() -> None:
    """Google's Gemini 3 guidance: no temperature/top_p/top_k (catalog source `gemini-3-sampling`)."""
    fallbacks = default_chain("text")[1:]
    gemini = next(m for m in fallbacks if m.startswith("google/gemini-3"))
    entry = find_model(gemini)
    assert entry is not None

    sent = accepted_parameters(fallbacks, {"temperature": 0.9, "max_tokens": 800})

    assert "temperature" not in sent, (gemini, entry.parameters, entry.parameters_source)


def test_the_guard_fails_on_a_samconfig_that_deploys_a_retired_model(tmp_path: Path) -> None:
    """`sam deploy --guided` saves parameter_overrides in samconfig.toml; the guard reads them."""
    template = tmp_path / "template.yaml"
    shutil.copy(TEMPLATE, template)
    shutil.copy(ROOT / "env.json", tmp_path / "env.json")
    samconfig = (
        (ROOT / "samconfig.toml")
        .read_text()
        .replace(
            "resolve_s3 = true\n",
            "resolve_s3 = true\n"
            f'parameter_overrides = "ImageModel=\\"{RETIRED}\\" ImageFallbackModels=\\"gemini-2.5-flash-image\\""\n',
            1,
        )
    )
    assert RETIRED in samconfig
    (tmp_path / "samconfig.toml").write_text(samconfig)

    problems = [str(p) for p in guard(DAY, template=template, env_json=tmp_path / "env.json")]

    assert any(RETIRED in p and "samconfig" in p for p in problems), problems
