"""Property tests try the same examples on every run of `make test` / `make check` / CI, so a
rare counterexample cannot fail one run and pass the next; `make test-random` searches afresh
(tests/conftest.py registers the Hypothesis profiles; docs/testing.md)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings


def test_the_default_profile_tries_the_same_examples_every_run() -> None:
    ci = settings.get_profile("ci")
    assert ci.derandomize
    assert ci.database is None  # nothing a previous run left behind changes what is tried
    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
        assert settings.default is not None
        assert settings.default.derandomize


def test_the_random_profile_searches_afresh() -> None:
    assert not settings.get_profile("random").derandomize


def test_every_property_test_is_marked_slow(request: pytest.FixtureRequest) -> None:
    """A property search takes seconds (the `slow` marker's definition): none is left in `make
    check`, whether or not its author remembered the mark."""
    session = request.session
    properties = [
        item for item in session.items if getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
    ]
    assert all(item.get_closest_marker("slow") for item in properties), [
        item.nodeid for item in properties if not item.get_closest_marker("slow")
    ]
