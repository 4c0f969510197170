# contentgen: the two commands are `make demo` and `make test`.
# Each creates .venv and installs the pinned dependencies first when they are missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint typecheck pytest demo api bench clean build build-host

install: $(STAMP)

$(STAMP): requirements-dev.txt shared/requirements.txt shared/requirements-media.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

test: lint typecheck pytest

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

# What `sam deploy` uploads: both layers for python3.12 arm64, with 3.12 bytecode
# (build/arm64/<Layer>/python and build/arm64/<Layer>.zip). Needs Python 3.12, not SAM or Docker.
LAYERS := TextLayer MediaLayer
HOST_PLATFORM := manylinux2014_$(shell uname -m)

build:
	@for layer in $(LAYERS); do \
		$(MAKE) --no-print-directory -C shared build-$$layer ARTIFACTS_DIR=$(CURDIR)/build/arm64/$$layer || exit 1; \
		$(PYTHON) shared/build_layer.py zip build/arm64/$$layer --output build/arm64/$$layer.zip || exit 1; \
	done
	@ls -l build/arm64/*.zip

# The same recipe for this machine's platform: arm64 binaries cannot load here (make bench).
build-host:
	$(MAKE) --no-print-directory -C shared build-TextLayer ARTIFACTS_DIR=$(CURDIR)/build/host/TextLayer LAYER_PLATFORM=$(HOST_PLATFORM)
	$(PYTHON) shared/build_layer.py zip build/host/TextLayer --output build/host/TextLayer.zip

bench: $(STAMP) build-host
	$(BIN)/python -m local.bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache local-output build
