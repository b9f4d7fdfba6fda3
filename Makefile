# Everything sets itself up: a fresh clone needs only python3 (3.11+) and the package registries.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run serve test lint format bench soak screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[aer,ssh,dask,service]" --group dev
	touch $(STAMP)

install: $(STAMP)

## run: the dashboard on a fresh local service with the demo workload
run: $(STAMP)
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

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

## soak: 5 minutes of faults between the dashboard and a demo service, then every job compared
soak: $(STAMP)
	$(BIN)/python bench/soak.py --minutes 5

## screenshots: screenshots/*.svg of every screen, from the snapshot tests' fixed dashboard
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
