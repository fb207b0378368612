# The two commands of the quick start: `make run` and `make test`. `make install` is what both share.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
INBOX ?= ./inbox

.PHONY: install run test lint unit clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install-system.sh
	bash scripts/install-system.sh
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The trocr extra (torch, transformers) is optional for users; the tests of the TrOCR engine need it.
	$(BIN)/pip install --quiet -e '.[dev,trocr]'
	touch $(STAMP)

run: install
	$(BIN)/indexer es start
	mkdir -p $(INBOX)
	# The review page and API (the URL is printed), with the watch daemon on the same inbox.
	$(BIN)/indexer -v serve --watch --inbox $(INBOX)

lint: install
	$(BIN)/ruff format --check indexer tests benchmarks
	$(BIN)/ruff check indexer tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# Developers' quick loop: everything but the slow tests.
unit: install
	$(BIN)/pytest -m "not slow"

clean-venv:
	rm -rf $(VENV)
