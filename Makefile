# contentgen: the two commands are `make demo` and `make test`.
# Each creates .venv and installs the pinned dependencies first when they are missing.
# Ports of the local stack: make api API_PORT=3001 AWS_PORT=5001 EMULATOR_PORT=8091
# (`make demo` takes the same; it uses any free ports unless told).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NEEDED := 3.11

# "3.11" style versions; empty when the interpreter is missing or does not run.
PY_VERSION   := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
VENV_USABLE  := $(shell $(BIN)/python -c 'import sys; print(int(sys.version_info >= (3, 11)))' 2>/dev/null)
# A .venv whose Python is gone or too old (made by another Python) is rebuilt.
VENV_STALE   := $(if $(wildcard $(VENV)),$(if $(filter 1,$(VENV_USABLE)),,rebuild-venv))

# Refuse an unsupported Python in one line, unless a usable .venv makes it irrelevant.
ifeq ($(filter 1,$(VENV_USABLE)),)
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),install)),)
ifneq ($(shell $(PYTHON) -c 'import sys; print(int(sys.version_info >= (3, 11)))' 2>/dev/null),1)
$(error contentgen needs Python $(NEEDED)+, but $(PYTHON) is $(or $(PY_VERSION),not found); run make PYTHON=python3.13 (or any $(NEEDED)+))
endif
endif
endif

.PHONY: install check test test-random lint typecheck pytest demo api bench bench-short bench-baseline bench-assembly bench-spend clean rebuild-venv build build-host openapi docs browser models sam-build sam-api sam-invoke

install: $(STAMP)

rebuild-venv:
	@echo "rebuilding $(VENV): its Python is missing or older than $(NEEDED)"
	@rm -rf $(VENV)

# The first install fetches and unpacks about 120 packages, some 700 MB installed (moto, boto3
# and its stubs, schemathesis, mypy, ruff, google-genai, imageio-ffmpeg's ffmpeg binary). Measured
# on a 2-core machine on 2026-12-06: 4 m 43 s (issue 23), 5 m 40 s and 8 m 32 s with other work
# on the machine (pip's cache warm). pip prints each package as it goes.
$(STAMP): requirements-dev.txt shared/requirements.txt shared/requirements-media.txt shared/requirements-ffmpeg.txt client/pyproject.toml $(VENV_STALE)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing the pinned dependencies into $(VENV): about 120 packages (700 MB), 4 to 9 minutes the first time on 2 cores; pip lists each one"
	$(BIN)/python -m pip install --progress-bar on --disable-pip-version-check -r requirements-dev.txt
	@echo "installed into $(VENV)"
	touch $(STAMP)

test: lint typecheck browser pytest

# The quick loop (docs/testing.md): lint, types and the unit tests not marked slow.
check: lint typecheck
	$(BIN)/python -m pytest tests/unit -m "not slow"

# The property tests (Hypothesis) with a fresh random search instead of the fixed examples every
# other run tries (docs/testing.md).
test-random: $(STAMP)
	HYPOTHESIS_PROFILE=random $(BIN)/python -m pytest -m property tests/unit

# Headless Chromium from Debian's packages, for the storyboard's browser test (CI: root, Debian 12).
# Two runs at once take turns (flock; apt waits for dpkg's lock too). Not root or no apt: a note,
# and the browser tests are skipped naming what is missing (under CI they fail: tests/conftest.py).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		flock /tmp/contentgen-browser.lock sh -c 'command -v chromium >/dev/null 2>&1 || { \
			apt-get -o DPkg::Lock::Timeout=600 update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium; }'; \
	else \
		echo "make browser: no chromium on PATH and no root apt-get to install it: the browser tests will be skipped (CI fails them)"; \
	fi

# The OpenAPI document, generated from the functions' resolvers and models.
openapi: $(STAMP)
	$(BIN)/python -m local.openapi

# docs/configuration.md, generated from the settings model (a test fails when it drifts).
docs: $(STAMP)
	$(BIN)/python -m local.config_doc

# The model catalog's table and lifecycle guard; with OPENROUTER_API_KEY / GOOGLE_API_KEY set, also a
# comparison with the providers' live model lists (network: never run by tests or CI).
# DATE=2027-01-01 judges that day instead of today (make reads --options itself, so a variable).
models: $(STAMP)
	$(BIN)/python -m local.models $(if $(DATE),--date $(DATE))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=shared $(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

# The ports, checked first (one line and exit 1 when one is taken) and then passed on.
demo api: ports = API_PORT=$(or $(API_PORT),$(1)) AWS_PORT=$(or $(AWS_PORT),$(2)) EMULATOR_PORT=$(or $(EMULATOR_PORT),$(3))
demo api: flags = --port $(or $(API_PORT),$(1)) --aws-port $(or $(AWS_PORT),$(2)) --emulator-port $(or $(EMULATOR_PORT),$(3))

demo: $(STAMP)
	@$(BIN)/python -m local.ports $(call ports,0,0,0) --command "make demo"
	$(BIN)/python -m local.demo $(call flags,0,0,0)

api: $(STAMP)
	@$(BIN)/python -m local.ports $(call ports,3000,5000,8090)
	$(BIN)/python -m local.stack $(call flags,3000,5000,8090)

# What `sam deploy` uploads: the layers for python3.13 arm64, with 3.13 bytecode
# (build/arm64/<Layer>/python and build/arm64/<Layer>.zip). Needs Python 3.13 (the durable
# functions' runtime; shared/Makefile finds it: PYTHON313, python3.13, pyenv, uv), not SAM or Docker.
LAYERS := TextLayer MediaLayer FfmpegLayer
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

# sam local without an AWS account (the SAM CLI and Docker; `make api` running in another terminal
# for moto and the emulator): samconfig.toml's environment for this machine's architecture
# (`local`: arm64, `local-x86_64`), so the functions run natively, with the layers' wheels built
# to match. No Parameters and Secrets extension (UseParametersSecretsExtension=false): keys come
# from the local stack's SSM; env.json points every SDK and resource name at the local stack.
SAM_ARCH := $(if $(filter x86_64 amd64,$(shell uname -m)),x86_64,arm64)
SAM_ENV := $(if $(filter x86_64,$(SAM_ARCH)),local-x86_64,local)
SAM_LAYER_PLATFORM := manylinux2014_$(if $(filter x86_64,$(SAM_ARCH)),x86_64,aarch64)
SAM_FFMPEG_PLATFORM := manylinux_2_28_$(if $(filter x86_64,$(SAM_ARCH)),x86_64,aarch64)
SAM_LOCAL_AWS := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
FUNCTION ?= StorySegmentsFunction
EVENT ?= events/story_segments.json

sam-build:
	LAYER_PLATFORM=$(SAM_LAYER_PLATFORM) FFMPEG_PLATFORM=$(SAM_FFMPEG_PLATFORM) sam build --config-env $(SAM_ENV)

sam-api:
	$(SAM_LOCAL_AWS) sam local start-api --config-env $(SAM_ENV)

sam-invoke:
	$(SAM_LOCAL_AWS) sam local invoke $(FUNCTION) -e $(EVENT) --config-env $(SAM_ENV)

bench: $(STAMP) build-host
	$(BIN)/python -m local.bench
	PYTHONPATH=shared $(BIN)/python -m local.bench_short

# A 6-segment 9:16 short end to end on the local stack: assembly vs its length, memory, /tmp, Lambda vs provider cost.
bench-short: $(STAMP)
	PYTHONPATH=shared $(BIN)/python -m local.bench_short

# Another commit's artifact (default main) for `make bench` to measure as "before", interleaved
# with this checkout's: its text layer for this machine's platform and its functions, in build/baseline.
BASELINE_REF ?= main
bench-baseline:
	rm -rf build/baseline && mkdir -p build/baseline/src
	git archive $(BASELINE_REF) | tar -x -C build/baseline/src
	$(MAKE) --no-print-directory -C build/baseline/src/shared build-TextLayer ARTIFACTS_DIR=$(CURDIR)/build/baseline/TextLayer LAYER_PLATFORM=$(HOST_PLATFORM)
	mv build/baseline/src/functions build/baseline/functions && rm -rf build/baseline/src
	echo "$(BASELINE_REF) at $$(git rev-parse --short $(BASELINE_REF))" > build/baseline/COMMIT

# Assembly of a 6-segment 9:16 short on one core: wall/CPU vs its length, peak memory, /tmp.
bench-assembly: $(STAMP)
	PYTHONPATH=shared $(BIN)/python -m local.bench_assembly

bench-spend: $(STAMP)
	$(BIN)/python -m local.bench_budget

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache local-output build
