# Everything sets itself up: a fresh clone needs only python3 (3.11+) and the package registries.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run serve test lint format bench soak screenshots clean

# Each step says what it does, and pip shows its own progress (every package it fetches, with
# a progress bar): a first install takes minutes and must not look like a hang.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "==> make: creating the virtual environment in $(VENV)"; \
		$(PY) -m venv $(VENV); }
	@echo "==> make: updating pip in $(VENV)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	@echo "==> make: installing qjob-tui, Qiskit, Aer, qiskit-ibm-runtime, asyncssh and dask into $(VENV)"
	@echo "==> make: (a few minutes on a fresh clone; pip lists each package as it goes)"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on \
		-e ".[aer,ssh,dask,service]" --group dev
	@touch $(STAMP)
	@echo "==> make: installed; $(BIN)/qjob-tui is ready"

install: $(STAMP)

## run: the dashboard on a fresh local service with the demo workload
run: $(STAMP)
	@echo "==> make: starting a local job service with the demo workload, then the dashboard"
	@echo "==> make: (the service's first start imports Qiskit: a few seconds; q quits)"
	$(BIN)/qjob-tui demo

serve: $(STAMP)
	$(BIN)/qjob-tui serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Two test processes (pytest-xdist), each module's tests in one of them (--dist loadfile, so a
# module's service or cluster starts once): most tests wait on a service, a terminal or a
# subprocess, so two keep both cores busy. TEST_WORKERS=0 runs the suite in this process.
TEST_WORKERS ?= 2

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

## bench: every benchmark into the README; ONLY="service dashboard" runs (and rewrites) just those
bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(ONLY)

## soak: 5 minutes of faults between the dashboard and a demo service, then every job compared
soak: $(STAMP)
	$(BIN)/python bench/soak.py --minutes 5

## screenshots: screenshots/*.svg of every screen, from the snapshot tests' fixed dashboard
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
