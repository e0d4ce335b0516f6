PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Running needs no test extras: `make run` installs only the runtime dependencies
# (unless a full install is already up to date). `make run ARGS="--api-port 8001"`.
RUN_STAMP := $(VENV)/.installed-run
ARGS ?=

.PHONY: install run test lint bench clean chromium

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

# The browser tests drive Debian's Chromium (never a downloaded browser): installed with
# apt-get when missing and we are root; otherwise those tests fail saying what to install.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "browser tests need Debian's chromium: run 'sudo apt-get install chromium'"; \
	  fi; \
	fi

test: $(STAMP) chromium
	$(BIN)/python -m tests.run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy soporte workflows activities api launcher worker.py
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV)
