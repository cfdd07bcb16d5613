# fdtrack tasks; `make help` lists them. The README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FUZZ_RUNS ?= 200000

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the tasks
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

.PHONY: install
install: $(STAMP) ## Create .venv and install fdtrack with its development tools (pinned by requirements.lock)

# axe-core for the accessibility checks of the browser tests; where npm is missing those tests say so and skip.
NODE_STAMP := node_modules/.package-lock.json
$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund --silent

PORT ?= 8000

.PHONY: demo
demo: install ## Build a demo database from the simulator and show it (SQLite, ./demo.db; PORT=8000)
	$(BIN)/fdtrack --database-url sqlite:///demo.db demo --port $(PORT)

.PHONY: test
test: install $(if $(shell command -v npm 2>/dev/null),$(NODE_STAMP)) ## Run the whole test suite (SQLite and PostgreSQL; browser tests need Chromium)
	$(BIN)/pytest

.PHONY: lint
lint: install ## ruff lint, ruff format check and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: format
format: install ## Reformat the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: bench
bench: install ## Ingest and look-up benchmarks (see bench/README.md); writes bench/out/
	$(BIN)/python bench/ingest_bench.py

.PHONY: fuzz
fuzz: install ## Coverage-guided fuzzing of the DUIS decoder and event readers (FUZZ_RUNS inputs each)
	$(BIN)/python fuzz/run.py --runs $(FUZZ_RUNS)

.PHONY: lock
lock: ## Re-pin every dependency in requirements.lock
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

.PHONY: clean
clean: ## Remove the virtual environment, caches and demo database
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo.db demo.db-*
