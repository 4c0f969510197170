# contentgen: the two commands are `make demo` and `make test`.
# Each creates .venv and installs the pinned dependencies first when they are missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint typecheck pytest demo api bench clean openapi browser

install: $(STAMP)

$(STAMP): requirements-dev.txt shared/requirements.txt client/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

test: lint typecheck browser pytest

# Headless Chromium from Debian's packages, for the storyboard's browser test (CI: root, Debian 12).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }

# The OpenAPI document, generated from the functions' resolvers and models.
openapi: $(STAMP)
	$(BIN)/python -m local.openapi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/python -m local.demo

api: $(STAMP)
	$(BIN)/python -m local.stack

bench: $(STAMP)
	$(BIN)/python -m local.bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache local-output
