# Everything sets itself up: a fresh clone needs only python3 (3.11+) and the package registries.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The installer: uv, from the package index, into a folder of the project's own (no system install).
UV_VERSION := 0.13.9
UV_HOME := .tools/uv
UV := $(UV_HOME)/bin/uv
# uv never downloads a Python: it uses $(PY), the interpreter this machine has.
UV_ENV := UV_PYTHON=$(PY) UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=$(VENV)
# What the dashboard and the local service need (make run); the test tools come on top (make test).
RUN_EXTRAS := --extra aer --extra service
TEST_EXTRAS := --all-extras --group dev
RUN_STAMP := $(VENV)/.run-stamp
TEST_STAMP := $(VENV)/.test-stamp
STAMP := $(TEST_STAMP)

.PHONY: install run serve test lint format bench soak screenshots lock bounds dist clean

# Every install is from uv.lock (--frozen): each machine runs the versions the suite passed with.
# uv shows its own progress; each step says first what it does.
$(UV):
	@echo "==> make: installing the installer, uv $(UV_VERSION), into $(UV_HOME) (a few seconds)"
	$(PY) -m pip install --disable-pip-version-check --root-user-action=ignore --progress-bar on \
		--target $(UV_HOME) \
		"uv==$(UV_VERSION)"

$(RUN_STAMP): uv.lock pyproject.toml | $(UV)
	@echo "==> make: installing qjob-tui, Qiskit, Aer and qiskit-ibm-runtime into $(VENV) from uv.lock"
	$(UV_ENV) $(UV) sync --frozen --inexact --no-dev $(RUN_EXTRAS)
	@touch $(RUN_STAMP)
	@echo "==> make: installed; $(BIN)/qjob-tui is ready"

$(TEST_STAMP): uv.lock pyproject.toml | $(UV)
	@echo "==> make: installing qjob-tui, every extra and the test tools into $(VENV) from uv.lock"
	$(UV_ENV) $(UV) sync --frozen $(TEST_EXTRAS)
	@touch $(TEST_STAMP) $(RUN_STAMP)
	@echo "==> make: installed; $(BIN)/qjob-tui and the test tools are ready"

## lock: re-resolve every dependency into uv.lock, on purpose (then run make test)
lock: | $(UV)
	$(UV_ENV) $(UV) lock --upgrade

install: $(TEST_STAMP)

## bounds: the suite on the lowest versions pyproject.toml's ranges allow, in .venv-lowest (the
## lock holds the highest): the lower ends of the ranges stay tested bounds, not wishes
BOUNDS_VENV := .venv-lowest
bounds: | $(UV)
	@echo "==> make: installing the lowest versions pyproject.toml allows into $(BOUNDS_VENV)"
	UV_PYTHON=$(PY) UV_PYTHON_DOWNLOADS=never $(UV) venv --allow-existing $(BOUNDS_VENV)
	$(UV) pip install --python $(BOUNDS_VENV) --resolution lowest-direct -e ".[aer,service,ssh,dask]" \
		--group dev
	$(BOUNDS_VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile

## dist: the wheel and the source archive users install, built from pyproject.toml into dist/
dist: | $(UV)
	@echo "==> make: building the qjob-tui wheel and source archive into dist/"
	rm -rf dist
	$(UV_ENV) $(UV) build --out-dir dist

## run: the dashboard on a fresh local service with the demo workload
run: $(RUN_STAMP)
	@echo "==> make: starting a local job service with the demo workload, then the dashboard"
	@echo "==> make: (the service's first start imports Qiskit: a few seconds; q quits)"
	@echo "==> make: the commands are $(BIN)/qjob-tui, or qjob-tui after 'source $(BIN)/activate';"
	@echo "==> make: the demo's own service takes jobs at the address in its title: --source URL"
	$(BIN)/qjob-tui demo

serve: $(RUN_STAMP)
	$(BIN)/qjob-tui serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Three test processes (pytest-xdist), each module's tests in one of them (--dist loadfile, so a
# module's service or cluster starts once): most tests wait on a service, a terminal or a
# subprocess (two used about 1.15 of two cores), so a third keeps both cores busy. The slowest
# tests are listed at the end. TEST_WORKERS=0 runs the suite in this process.
TEST_WORKERS ?= 3

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

## bench: every benchmark into the README; ONLY="service startup" runs (and rewrites) just those
bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(ONLY)

# "make bench service" would run every benchmark (40 minutes) before make complained.
ifneq ($(filter bench,$(MAKECMDGOALS)),)
ifneq ($(filter-out bench,$(MAKECMDGOALS)),)
$(error make bench takes the benchmarks to run as ONLY="$(filter-out bench,$(MAKECMDGOALS))", not as targets)
endif
endif

## soak: 5 minutes of faults between the dashboard and a demo service, then every job compared
soak: $(STAMP)
	$(BIN)/python bench/soak.py --minutes 5

## screenshots: screenshots/*.svg of every screen, from the snapshot tests' fixed dashboard
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) $(BOUNDS_VENV) .tools .pytest_cache .ruff_cache dist
