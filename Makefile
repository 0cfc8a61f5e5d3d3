# cellprov: `make run` serves the API on SQLite, `make test` runs the whole suite. Both set everything up.
# The venv gets the server and the client (`.[server]`); a lab PC needs only the client: `pip install .`
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
FUZZ_EXAMPLES ?= 300
CODE   := service schemas clients labrules migrations tests bench tools

.PHONY: run test lint fuzz install install-dev chromium clean bench bench-quick

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("cellprov needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[server,dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/cellprov-server serve --host $(HOST) --port $(PORT)

lint: install-dev
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy
	$(BIN)/python tools/check_imports.py

# The browser test drives Debian's chromium through Playwright (never `playwright install`). Installed here
# where it is missing and we can (root with apt-get); elsewhere the test says why it skipped (fails under CI).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium not found and cannot be installed here: the browser test will be skipped"; fi; }

test: lint chromium
	$(BIN)/pytest -q -n auto

# The long schemathesis run: many examples per operation, positive and negative, shrinking failures to
# their smallest form, on SQLite and PostgreSQL. `make test` runs the same with a few examples each.
fuzz: install-dev
	CELLPROV_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) CELLPROV_FUZZ_SHRINK=1 $(BIN)/pytest -q -s tests/test_fuzz.py

# Benchmarks at lab scale (bench/README.md): not tests, never part of `make test`. Needs PostgreSQL for the
# postgresql leg (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres); ARGS e.g.
# "--scale 100k --db postgresql". Writes bench/results/<date>-<scale>.json and .md.
bench: install-dev
	PYTHONPATH=$(CURDIR) $(BIN)/python -m bench $(ARGS)

bench-quick: install-dev
	PYTHONPATH=$(CURDIR) $(BIN)/python -m bench --quick $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
