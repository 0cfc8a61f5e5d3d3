# cellprov: `make run` serves the API on SQLite, `make test` runs the whole suite. Both set everything up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
CODE   := service schemas clients migrations tests bench

.PHONY: run test lint install install-dev clean bench bench-quick

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("cellprov needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/cellprov serve --host $(HOST) --port $(PORT)

lint: install-dev
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

# Benchmarks at lab scale (bench/README.md): not tests, never part of `make test`. Needs PostgreSQL for the
# postgresql leg (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres); ARGS e.g.
# "--scale 100k --db postgresql". Writes bench/results/<date>-<scale>.json and .md.
bench: install-dev
	PYTHONPATH=$(CURDIR) $(BIN)/python -m bench $(ARGS)

bench-quick: install-dev
	PYTHONPATH=$(CURDIR) $(BIN)/python -m bench --quick $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
