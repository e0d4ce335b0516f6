PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Running needs no test extras: `make run` installs only the runtime dependencies
# (unless a full install is already up to date). `make run ARGS="--api-port 8001"`.
RUN_STAMP := $(VENV)/.installed-run
ARGS ?=

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(RUN_STAMP): pyproject.toml
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ]; then touch $@; else \
	  $(PYTHON) -m venv $(VENV) && \
	  $(BIN)/pip install --quiet --upgrade pip && \
	  $(BIN)/pip install --quiet -e . && \
	  touch $@; fi

run: $(RUN_STAMP)
	$(BIN)/soporte up $(ARGS)

test: $(STAMP)
	$(BIN)/python -m tests.run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy soporte workflows activities api launcher worker.py
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV)
