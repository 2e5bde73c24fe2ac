# Two commands are the contract (see README): `make run` and `make test`.
# Both create .venv with a Python >= 3.12 found by scripts/find-python.sh.
# `make test` checks lint, format and the import layers (import-linter), then
# runs pytest.

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?=
ARGS ?=

.PHONY: run test lint format bench app mutants clean

$(STAMP): pyproject.toml
	@py=$$(scripts/find-python.sh) || exit 1; \
	  [ -x $(BIN)/python ] || $$py -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/townsim run $(SCENARIO) $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(ARGS)

lint format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_model.py $(ARGS)

app: $(STAMP)
	$(BIN)/townsim app

# Mutation testing of the firm, tie, economy, demography and government rules
# against the agents' tests ([tool.mutmut] in pyproject.toml): about three
# minutes on two cores. Not part of `make test`. `mutmut results` lists the
# survivors, `mutmut show NAME` shows one.
mutants: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run
	$(BIN)/mutmut export-cicd-stats
	@$(BIN)/python -c 'import json; s = json.load(open("mutants/mutmut-cicd-stats.json")); \
	  c = s["killed"] + s["timeout"]; \
	  print("mutation score: %d of %d mutants caught (%.1f%%); %d survived, %d in code" \
	        " no selected test runs" % (c, s["total"], 100 * c / s["total"], \
	        s["survived"], s["no_tests"]))'

clean:
	rm -rf $(VENV) results mutants .pytest_cache .ruff_cache .hypothesis
