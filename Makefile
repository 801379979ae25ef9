# Tandem: `make demo` and `make test` work on a fresh machine (venv, packages, servers).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install servers lint typecheck test test-unit test-acceptance test-integration chaos fuzz demo bench stack-down clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# flat layout: setuptools' note on editable installs of top-level packages is expected
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[dev,debezium]'
	touch $(STAMP)

install: $(STAMP) servers

servers:
	bash infra/install-servers.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy domain application

test: install lint typecheck
	bash infra/run-tests.sh $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit tests/contract -m "not integration" $(PYTEST_ARGS)

test-acceptance: $(STAMP)
	TANDEM_WORLD=memory $(BIN)/pytest tests/acceptance $(PYTEST_ARGS)

test-integration: install
	$(BIN)/pytest -m "integration or e2e or chaos" $(PYTEST_ARGS)

# Randomized, seeded faults under load; CHAOS_SEED=<seed> replays a run (the seed is printed).
CHAOS_OPERATIONS ?= 5000
CHAOS_FAULTS ?= 8
chaos: install
	CHAOS_OPERATIONS=$(CHAOS_OPERATIONS) CHAOS_FAULTS=$(CHAOS_FAULTS) \
		$(BIN)/pytest tests/chaos -m chaos -s $(PYTEST_ARGS)

# the longer hostile-input runs: the fuzz test on three more seeds than the one `make test`
# runs, and PostgreSQL read-only for 45 s (20 s in `make test`)
FUZZ_SEEDS ?= 1,2,3
fuzz: install
	TANDEM_FUZZ_SEEDS=$(FUZZ_SEEDS) TANDEM_READ_ONLY_SECONDS=45 $(BIN)/pytest \
		tests/e2e/test_fuzz.py tests/e2e/test_target_refusals.py -k "fuzz or hostile or read_only" \
		$(PYTEST_ARGS)

demo: install
	$(BIN)/tandem stack up
	$(BIN)/tandem migrate --env-file .tandem/stack.env
	-$(BIN)/tandem run --env-file .tandem/stack.env --traffic --live
	@$(BIN)/tandem stack status || true
	@echo "The private servers above still run (data kept); stop them with: $(BIN)/tandem stack down"

bench: install
	$(BIN)/python -m benchmarks.run

stack-down:
	$(BIN)/tandem stack down

clean:
	rm -rf $(VENV) .tandem .pytest_cache .mypy_cache .ruff_cache
