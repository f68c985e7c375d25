# Two commands matter: `make up` runs the system, `make test` tests it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test venv codegen lint typecheck bench bench-full clean backup ops-test compose-check client

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

up: $(STAMP)
	$(BIN)/erp up

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

codegen: $(STAMP)
	$(BIN)/python tools/codegen.py

# The typed Python client (clients/python/erp_client/api.py, turms) from gateway/schema.graphql and
# clients/python/operations/*.graphql, and the trusted-documents manifest of all clients' operations.
client: $(STAMP)
	cd clients/python && PYTHONPATH=. ../../$(BIN)/turms gen
	$(BIN)/ruff format --quiet clients/python/erp_client/api.py
	$(BIN)/python tools/trusted_documents.py

lint: $(STAMP)
	$(BIN)/buf lint
	$(BIN)/ruff check services gateway tests tools bench monolith

typecheck: $(STAMP)
	$(BIN)/mypy services gateway

bench: $(STAMP)
	$(BIN)/python -m bench --size small

bench-full: $(STAMP)
	$(BIN)/python -m bench --size full

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

backup: $(STAMP)
	$(BIN)/erp backup $(BACKUP_ARGS)

ops-test: $(STAMP)
	$(BIN)/python -m pytest tests/ops $(PYTEST_ARGS)

compose-check:
	docker-compose config -q && docker-compose --profile cluster config -q
