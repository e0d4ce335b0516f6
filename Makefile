PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Running needs no test extras: `make run` installs only the runtime dependencies
# (unless a full install is already up to date). `make run ARGS="--api-port 8001"`.
RUN_STAMP := $(VENV)/.installed-run
ARGS ?=

.PHONY: install run test lint bench clean

# The build tools are upgraded too: the venv module's setuptools (65.5.0 on 3.11) has CVEs.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(RUN_STAMP): pyproject.toml
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ]; then touch $@; else \
	  $(PYTHON) -m venv $(VENV) && \
	  $(BIN)/pip install --quiet --upgrade pip setuptools wheel && \
	  $(BIN)/pip install --quiet -e . && \
	  touch $@; fi

run: $(RUN_STAMP)
	$(BIN)/soporte up $(ARGS)

test: $(STAMP)
	$(BIN)/python -m tests.run

# bandit must be clean (each exception a narrow `# nosec` with its reason); the dependency
# audit fails on a known vulnerability, and says so without failing when offline.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy soporte workflows activities api launcher worker.py tools
	$(BIN)/lint-imports
	$(BIN)/bandit -q -c pyproject.toml -r soporte workflows activities api launcher worker.py tools
	$(BIN)/python tools/dependency_audit.py

clean:
	rm -rf $(VENV)
