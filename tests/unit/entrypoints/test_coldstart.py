"""The init phase: the collector is back on after init; SnapStart hooks prime and restore safely."""

from __future__ import annotations

import gc
import importlib.util
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import snapshot_restore_py

from contentgen.clients import aws, secrets
from contentgen.connectors import openai_connector
from contentgen.entrypoints import coldstart
from local.runtime import load_handler
from local.template import functions

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def hooks() -> Iterator[tuple[list[Any], list[Any]]]:
    """The runtime's registries (snapshot_restore_py), emptied around the test."""
    before, after = snapshot_restore_py.get_before_snapshot(), snapshot_restore_py.get_after_restore()
    saved = (list(before), list(after))
    before.clear()
    after.clear()
    yield before, after
    before[:] = saved[0]
    after[:] = saved[1]


def run(registry: list[Any]) -> list[Any]:
    """Call the registered hooks as the Lambda runtime does: func(*args, **kwargs)."""
    return [func(*args, **kwargs) for func, args, kwargs in registry]


def test_every_function_imports_coldstart_first() -> None:
    for spec in functions().values():
        source = (spec.code_dir / "app.py").read_text()
        first_import = next(line for line in source.splitlines() if line.startswith(("import ", "from ")))
        assert first_import.startswith("import contentgen.entrypoints.coldstart"), spec.logical_id
        if "/stories/" in source or "openai" in source:  # text functions: openai before Powertools
            assert source.index("import openai") < source.index("aws_lambda_powertools"), spec.logical_id


def test_loading_a_handler_leaves_the_collector_on_and_registers_no_hook(hooks: Any) -> None:
    load_handler(functions()["StorySegmentsFunction"])

    assert gc.isenabled()
    assert hooks == ([], [])


def test_under_snapstart_the_hooks_prime_the_resolver_without_a_key_or_a_client(
    hooks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    monkeypatch.setenv("OPENROUTER_API_KEY_PARAM", "/contentgen/openrouter-api-key")  # never read
    load_handler(functions()["StorySegmentsFunction"])
    before, after = hooks

    (answer,) = run(before)

    assert gc.isenabled()
    assert answer["statusCode"] == 422  # the synthetic request fails validation: no provider call
    assert "prompt" in answer["body"]
    assert openai_connector._client._instance is None  # no client, no connection in the snapshot
    assert secrets._provider is None  # no key read
    assert aws._dynamodb._instance is None  # no AWS client, no session holding credentials
    assert aws._session._instance is None
    assert aws._loader is not None  # ... but the models its first request needs were read
    assert [func for func, _, _ in after] == [coldstart.after_restore]


def test_the_durable_job_ends_its_init_and_its_hooks_prime_nothing(
    hooks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    load_handler(functions()["VideoJobFunction"])

    assert gc.isenabled(), "the collector coldstart turned off is back on"

    assert run(hooks[0]) == [None]


def test_after_restore_reseeds_random_and_drops_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "unit-test-key-before-snapshot")
    openai_connector.get_openai_client()
    random.seed(1234)
    snapshot_draw = random.random()
    random.seed(1234)  # every restored copy starts from the snapshot's state

    aws.get_dynamodb_client()

    coldstart.after_restore()

    assert random.random() != snapshot_draw
    assert openai_connector._client._instance is None
    assert aws._dynamodb._instance is None
    assert aws._session._instance is None  # a restored copy resolves its own credentials


def test_coldstart_turns_the_collector_off_when_imported() -> None:
    spec = importlib.util.spec_from_file_location("coldstart_copy", coldstart.__file__)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        assert not gc.isenabled()
        module.init_done()
        assert gc.isenabled()
    finally:
        gc.enable()
