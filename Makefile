# The two set-up commands are `make run` and `make test`; both need only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test demo serve bench lint clean cluster

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(INSTALLED)  ## build the demo county under var/ and serve it
	$(BIN)/xiaohao demo --reset
	$(BIN)/xiaohao serve

cluster: $(INSTALLED)  ## two web nodes, a scheduler and nginx on the local PostgreSQL (README, Deploying)
	XIAOHAO_STORE=postgres XIAOHAO_POSTGRES_DBNAME=$${XIAOHAO_POSTGRES_DBNAME:-postgres} \
	  XIAOHAO_POSTGRES_SCHEMA=$${XIAOHAO_POSTGRES_SCHEMA:-xiaohao_cluster} $(BIN)/xiaohao cluster

test: $(INSTALLED)  ## every test, PostgreSQL ones included
	$(BIN)/python -m pytest -q

bench: $(INSTALLED)  ## the benchmarks at full size (see README); about 25 minutes; http and api_open need wrk
	for name in commands memory catchup queries lag http api_open bulletin seal asof standard; do $(BIN)/python -m tests.bench $$name; done

lint: $(INSTALLED)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache
